"""The command line: parse, call, format. No business rules live here."""

from orderledger.cli.main import cli, main

__all__ = ["cli", "main"]
