"""The application: `OrderLedger` (one method per command, load → act →
save) with its after-sales and ERP commands, the order's JSON, and bulk
import. Above the domain and the store; below the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orderledger.application.ledger import OrderLedger

__all__ = ["OrderLedger"]


def __getattr__(name: str) -> Any:
    # Imported on first use: a read that only needs order_json (`order
    # show` from a view) must not pay for eventsourcing and the recorder.
    if name == "OrderLedger":
        from orderledger.application.ledger import OrderLedger

        return OrderLedger
    raise AttributeError(name)
