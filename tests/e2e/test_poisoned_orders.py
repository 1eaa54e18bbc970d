"""An event no reader can take (stored before today's bounds, or around the
application) poisons its own order only: the views and the relay skip it,
say so, and go on with every other order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_delivery_store
from orderledger.config import WdtSettings
from orderledger.domain.order import Order
from orderledger.projections.search import OrderFilter, list_orders
from orderledger.projections.store import ProjectionStore
from orderledger.projections.view_status import projection_status
from orderledger.sim.server import SimServer
from tests.e2e.helpers import WHO, drain, relays
from tests.factories import draft
from tests.simfixtures import trades

LINE = {"sku": "A", "name": "n", "spec": "", "brand": "", "category": "",
        "quantity": 1, "unit_price": "1.00", "discount": "0.00"}  # fmt: skip
PERSON = {"name": "x", "contact": "x", "phone": "13800138000"}
PLACE = {"receiver": "x", "phone": "13800138000", "province": "", "city": "",
         "district": "", "detail": "x"}  # fmt: skip


def legacy_order(ledger: OrderLedger, order_no: str, **values: object) -> None:
    """Written straight through the aggregate's event, as an older version
    (without today's bounds) could have: no validation on the way."""
    fields: dict[str, object] = {
        "order_no": order_no, "ordered_at": datetime(2026, 1, 1, tzinfo=UTC),
        "customer": PERSON, "lines": [LINE], "payment_method": "online",
        "address": PLACE, "shipping_fee": "0.00", "actor": "old", "source": "cli",
        "reason": "", **values,
    }  # fmt: skip
    ledger.save(Order(**fields))


def test_a_poisoned_order_stops_neither_the_views_nor_the_relay(
    ledger: OrderLedger, store: ProjectionStore, wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:  # fmt: skip
    # The far end of the calendar with a negative offset: no conversion to
    # UTC or to China time survives it.
    far = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    legacy_order(ledger, "FAR", ordered_at=far)
    huge = {**LINE, "quantity": 1_000_000, "unit_price": "9999999999.99"}
    legacy_order(ledger, "HUGE", lines=[{**huge, "sku": f"S{i}"} for i in range(200)])
    ledger.create(draft("online", order_no="FINE-1"), **WHO)
    ledger.confirm("FAR", **WHO)  # later events of a poisoned order: skipped too
    ledger.create(draft("cod", order_no="FINE-2"), **WHO)

    store.catch_up_all()
    (relay,) = relays(ledger, wdt_settings, None)
    drain([relay])

    listed = {o["order_no"] for o in list_orders(store, OrderFilter(), UTC)}
    assert {"FINE-1", "FINE-2"} <= listed and "FAR" not in listed
    for view in projection_status(store):
        assert view["lag_events"] == 0
        poisoned = {p["order_no"]: p for p in view["poisoned"]}
        assert "FAR" in poisoned, view["name"]
        assert poisoned["FAR"]["event_type"] == "Created"
        assert "OverflowError" in poisoned["FAR"]["error"]
    # its total in cents: SQLite cannot bind it, PostgreSQL's BIGINT refuses it
    assert all(
        "HUGE" in {p["order_no"] for p in v["poisoned"]}
        for v in projection_status(store)
    )

    assert set(trades(wdt_server)) >= {"FINE-1", "FINE-2"}
    assert "FAR" not in trades(wdt_server)
    parked = build_delivery_store(ledger).blocked("wdt")
    far = [p for p in parked if p["order_no"] == "FAR"]
    assert [p["kind"] for p in far] == ["unbuildable"]
    assert "cannot be built" in far[0]["last_error"]
    assert Decimal(ledger.get("FINE-1")["total"]) > 0
