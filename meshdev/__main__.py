from meshdev.cli import main

main()
