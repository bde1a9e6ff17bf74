from meshdev.launch.argv import main

main()
