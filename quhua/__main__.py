from quhua.cli import main

main()
