"""The application: `OrderLedger` (one method per command, load → act →
save) with its after-sales and ERP commands, the order's JSON, and bulk
import. Above the domain and the store; below the CLI."""

from orderledger.application.ledger import OrderLedger

__all__ = ["OrderLedger"]
