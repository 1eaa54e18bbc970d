"""`python -m orderledger.cli`: the same as the `orderledger` command."""

from orderledger.cli.main import main

main()
