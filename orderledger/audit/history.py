"""What the ledger knew about an order at a moment: its timeline and state,
and what it expected the ERP to show then."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orderledger.application import OrderLedger
from orderledger.application.order_json import event_to_data, order_to_data
from orderledger.domain.errors import OrderNotFound
from orderledger.domain.order import Order, order_id


def _replay(
    ledger: OrderLedger, order_no: str, as_of: datetime | None
) -> tuple[Order | None, list[Any]]:
    stored: list[Any] = list(ledger.events.get(order_id(order_no)))
    events = [e for e in stored if as_of is None or e.timestamp <= as_of]
    order: Order | None = None
    for event in events:
        order = event.mutate(order)
    return order, events


def history(
    ledger: OrderLedger,
    order_no: str,
    as_of: datetime | None = None,
    *,
    reveal: bool = False,
) -> dict[str, Any]:
    """Every event up to `as_of` (who, when, from where, why, what) and the
    order's full state at that moment."""
    order, events = _replay(ledger, order_no, as_of)
    if not events and not list(ledger.events.get(order_id(order_no), limit=1)):
        raise OrderNotFound(f"order {order_no} not found")
    return {
        "order_no": order_no,
        "as_of": None if as_of is None else as_of.astimezone(ledger.tz).isoformat(),
        "existed": order is not None,
        "state": None
        if order is None
        else order_to_data(order, ledger.tz, reveal=reveal),
        "timeline": [event_to_data(e, ledger.tz, reveal=reveal) for e in events],
    }


def erp_as_of(ledger: OrderLedger, order_no: str, as_of: datetime) -> dict[str, Any]:
    """The ERP state the ledger expected at `as_of`, beside what it had observed."""
    order, events = _replay(ledger, order_no, as_of)
    if order is None and not list(ledger.events.get(order_id(order_no), limit=1)):
        raise OrderNotFound(f"order {order_no} not found")
    return erp_belief(order_no, order, events, as_of, ledger.tz)


def erp_belief(
    order_no: str, order: Order | None, events: list[Any], as_of: datetime, tz: Any
) -> dict[str, Any]:
    """What the ledger expected of the ERP and had observed, from the order
    replayed to `as_of` and the events up to it."""
    if order is None:
        expected = None
    else:
        e = order.expected_erp()
        expected = {
            "website_status": order.status.value,
            "erp_label": e.erp_label,
            "wdt_codes": list(e.wdt_codes),
            "platform_status": e.platform_status,
            "note": e.note,
        }
    observed = [e for e in events if type(e).__name__ == "ErpStatusObserved"]
    return {
        "order_no": order_no,
        "as_of": as_of.astimezone(tz).isoformat(),
        "expected": expected,
        "observed": [event_to_data(e, tz) for e in observed] or None,
        "observed_note": "" if observed else "no ERP observation recorded by then",
        "open_task": None if order is None else order.task,
    }
