from podium_cli.main import main

main()
