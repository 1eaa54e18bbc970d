"""An order's whole story for the auditor's console: every event with what it
changed, the website label and the ERP state expected right after it, what
was sent to WDT and U8 because of it and what they answered, and what WDT
reported back — as the ledger knew it at a moment (`as_of`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from orderledger.application import OrderLedger
from orderledger.application.order_json import event_to_data, order_to_data
from orderledger.audit.describe import describe_event
from orderledger.audit.history import erp_belief
from orderledger.domain.errors import OrderNotFound
from orderledger.domain.order import Order, order_id
from orderledger.outbox.messages import DESTINATIONS
from orderledger.outbox.store import DeliveryStore


def order_timeline(
    ledger: OrderLedger,
    deliveries: DeliveryStore,
    order_no: str,
    *,
    as_of: datetime | None = None,
    reveal: bool = False,
) -> dict[str, Any]:
    events: list[Any] = list(ledger.events.get(order_id(order_no)))
    if not events:
        raise OrderNotFound(f"order {order_no} not found")
    known = [e for e in events if as_of is None or e.timestamp <= as_of]
    sent = _deliveries_by_version(deliveries, order_no)
    order: Order | None = None
    entries = []
    for event in known:
        order = event.mutate(order)
        assert order is not None
        entry = event_to_data(event, ledger.tz, reveal=reveal)
        expected = order.expected_erp()
        entries.append(
            {
                **entry,
                "description": describe_event(entry),
                "website_label": order.status.value,
                "expected_erp": expected.erp_label,
                "expected_codes": list(expected.wdt_codes),
                "deliveries": sent.get(event.originator_version, []),
            }
        )
    moment = as_of or (known[-1].timestamp if known else None)
    return {
        "order_no": order_no,
        "as_of": None if as_of is None else as_of.astimezone(ledger.tz).isoformat(),
        "events_total": len(events),
        "events_shown": len(known),
        "state": None
        if order is None
        else order_to_data(order, ledger.tz, reveal=reveal),
        "erp": None
        if moment is None
        else erp_belief(order_no, order, known, moment, ledger.tz),
        "entries": entries,
    }


def _deliveries_by_version(
    deliveries: DeliveryStore, order_no: str
) -> dict[int, list[dict[str, Any]]]:
    """The messages each event caused, per destination, with the delivery
    ledger's word on them (state, attempts, last error): as they stand now."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for destination in DESTINATIONS:
        for row in deliveries.messages(destination, order_id(order_no).hex):
            out[int(row["version"])].append(
                {
                    "destination": destination,
                    "kind": row["kind"],
                    "key": row["remote_key"],
                    "state": row["state"],
                    "attempts": row["attempts"],
                    "last_error": row["last_error"],
                }
            )
    return out
