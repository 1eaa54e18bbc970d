"""`orderledger order …`: the group with every subcommand registered (the
writes in orders.py, the reads in order_reads.py; the import, from
order_import.py, when it runs: cli/lazy.py)."""

from orderledger.cli import order_reads  # noqa: F401  (they register)
from orderledger.cli.orders import order_group

__all__ = ["order_group"]
