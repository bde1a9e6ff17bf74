from meshdev.runtime.boot import main

raise SystemExit(main())
