"""After-sales end to end: the ledger, the relay, WDT's refund list and U8's
credit documents, over real HTTP on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_delivery_store
from orderledger.config import U8Settings, WdtSettings
from orderledger.domain.aftersales import CaseKind
from orderledger.domain.values import Delivery
from orderledger.outbox.clients import WdtClient
from orderledger.projections.one_order import order_from_view
from orderledger.projections.statistics import statistics
from orderledger.projections.store import ProjectionStore
from orderledger.sim.server import SimServer
from tests.e2e.helpers import WHO, drain, relays
from tests.e2e.test_reconcile import advance, poll
from tests.factories import draft
from tests.simfixtures import control, trades

TEA = "TEA-001"


def shipped_by_the_erp(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt: WdtSettings,
    wdt_server: SimServer,
    order_no: str,
    payment: str,
) -> None:
    """Created, confirmed, paid if prepaid; WDT reviews and ships; the
    website follows the shipment (erp poll)."""
    ledger.create(draft(payment, order_no=order_no), **WHO)
    ledger.confirm(order_no, **WHO)
    if payment != "cod":
        ledger.confirm_payment(order_no, Decimal(ledger.get(order_no)["total"]), **WHO)
    drain(relays(ledger, wdt, None))
    advance(wdt_server, order_no, "review")
    advance(wdt_server, order_no, "ship", tracking=f"SF-{order_no}")
    poll(ledger, store, wdt, follow=("ship",))
    assert ledger.get(order_no)["status"] == "已发货"


def items(sku: str, n: int) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": n}]


def return_case(
    ledger: OrderLedger,
    order_no: str,
    accept: int,
    reject: int = 0,
    kind: CaseKind = CaseKind.RETURN,
    sku: str = TEA,
) -> str:
    view = ledger.apply_after_sales(
        order_no, kind=kind, items=items(sku, accept + reject), reason="broken", **WHO
    )
    case = str(view["case_id"])
    ledger.review_after_sales(order_no, case, approve=True, **WHO)
    ledger.receive_after_sales(
        order_no,
        case,
        accepted=items(sku, accept) if accept else [],
        rejected=items(sku, reject) if reject else [],
        **WHO,
    )
    return case


def money_back(trade: dict[str, Any]) -> list[dict[str, Any]]:
    """WDT's records of money going back (not of goods coming back)."""
    return [r for r in trade["refunds"] if "-RF" in r["refund_no"]]


def credits(u8_server: SimServer) -> dict[str, dict[str, Any]]:
    return {
        d["biz_id"]: d
        for d in control(u8_server, "/_sim/state")
        if d["resource"] == "saleinvoice"
    }


@pytest.mark.parametrize("payment", ["online", "cod"])
def test_a_full_return_reaches_wdt_and_u8_once(
    payment: str,
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    u8_settings: U8Settings,
    wdt_server: SimServer,
    u8_server: SimServer,
) -> None:
    no = f"RET-{payment}"
    shipped_by_the_erp(ledger, store, wdt_settings, wdt_server, no, payment)
    ledger.confirm_receipt(no, **WHO)
    if payment == "cod":
        ledger.confirm_payment(no, Decimal(ledger.get(no)["total"]), **WHO)
    case = return_case(ledger, no, accept=2)
    ledger.refund(no, Decimal("100.00"), case_id=case, reference="R-1", **WHO)
    both = relays(ledger, wdt_settings, u8_settings)
    drain(both)
    deliveries = build_delivery_store(ledger)
    for destination in ("wdt", "u8"):
        deliveries.replay(destination, order_no=no)  # everything once more
    drain(both)

    notice, refund = trades(wdt_server)[no]["refunds"]
    assert (notice["refund_no"], notice["status"]) == (f"{no}-AS1", 3)  # goods
    assert (refund["refund_no"], refund["status"]) == (f"{no}-RF1", 5)  # money
    assert refund["refund_amount"] == "100.00"
    assert refund["order_list"] == [{"oid": f"{no}-1", "num": 2}]
    credit = credits(u8_server)
    assert list(credit) == [f"{no}-RF1-saleinvoice"]
    document = credit[f"{no}-RF1-saleinvoice"]
    assert document["posts"] == 2  # sent twice, one document
    assert document["body"]["money"] == "-100.00"
    assert document["body"]["entry"][0]["quantity"] == -2
    assert ledger.get(no)["after_sales"][0]["state"] == "closed"


def test_partial_return_exchange_and_rejections_on_one_order(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    u8_settings: U8Settings,
    wdt_server: SimServer,
    u8_server: SimServer,
) -> None:
    no = "MIX-1"
    shipped_by_the_erp(ledger, store, wdt_settings, wdt_server, no, "postal")
    exchange = return_case(ledger, no, accept=1, kind=CaseKind.EXCHANGE, sku="CUP-010")
    ledger.ship_exchange(no, exchange, Delivery("SF", "SF-EX"), **WHO)
    refused = ledger.apply_after_sales(
        no, kind=CaseKind.RETURN, items=items(TEA, 1), reason="too late", **WHO
    )["case_id"]
    ledger.review_after_sales(
        no, refused, approve=False, reason="outside 7 days", **WHO
    )
    partial = return_case(ledger, no, accept=1, reject=1)  # one came back used
    ledger.refund(no, Decimal("20.00"), case_id=partial, **WHO)
    ledger.refund(no, Decimal("30.00"), case_id=partial, **WHO)
    drain(relays(ledger, wdt_settings, u8_settings))
    assert credits(u8_server) == {}  # the sale is not in U8 before it completes
    ledger.confirm_receipt(no, **WHO)
    drain(relays(ledger, wdt_settings, u8_settings))
    store.catch_up_all()

    refunds = money_back(trades(wdt_server)[no])
    assert [(r["refund_no"], r["refund_amount"]) for r in refunds] == [
        (f"{no}-RF1", "20.00"),
        (f"{no}-RF2", "30.00"),
    ]
    assert sorted(credits(u8_server)) == [
        f"{no}-RF1-saleinvoice",
        f"{no}-RF2-saleinvoice",
    ]
    order = ledger.get(no)
    assert [(c["case_id"], c["kind"], c["state"]) for c in order["after_sales"]] == [
        ("AS1", "exchange", "closed"),
        ("AS2", "return", "rejected"),
        ("AS3", "return", "closed"),
    ]
    assert order["refunded_amount"] == "50.00"
    view = order_from_view(store, no, store.tz)
    assert view is not None
    assert view["after_sales"] == order["after_sales"]
    assert view["refunded_amount"] == "50.00"
    (row,) = statistics(store, "status")
    assert (row["amount"], row["refunded"], row["net"]) == ("128.00", "50.00", "78.00")


def test_a_cancellation_after_payment_is_refunded_without_a_refund_push(
    ledger: OrderLedger,
    wdt_settings: WdtSettings,
    u8_settings: U8Settings,
    wdt_server: SimServer,
    u8_server: SimServer,
) -> None:
    no = "CAN-1"
    ledger.create(draft("postal", order_no=no), **WHO)
    ledger.confirm(no, **WHO)
    ledger.confirm_payment(no, Decimal("128.00"), **WHO)
    ledger.cancel(no, reason="customer changed mind", **WHO)
    ledger.refund(no, Decimal("128.00"), reference="POST-BACK", **WHO)
    drain(relays(ledger, wdt_settings, u8_settings))

    trade = trades(wdt_server)[no]
    assert trade["platform_history"][-1] == 80  # closed, refunded
    assert trade["refunds"] == []
    assert credits(u8_server) == {}
    assert ledger.get(no)["payment_status"] == "refunded"


def test_a_refund_after_a_website_shipment_is_taken_by_wdt(
    ledger: OrderLedger,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    """The back office shipped: the shipment reached WDT first (platform 50,
    shipped outside the warehouse), so WDT takes the refund after it, which
    it refuses for a trade it has not shipped (the simulator's rule, below)."""
    no = "EARLY-1"
    ledger.create(draft("online", order_no=no), **WHO)
    ledger.confirm(no, **WHO)
    ledger.confirm_payment(no, Decimal("128.00"), **WHO)
    ledger.ship(no, Delivery("SF", "SF-BO"), **WHO)  # the back office shipped
    case = return_case(ledger, no, accept=1)
    ledger.refund(no, Decimal("50.00"), case_id=case, **WHO)
    drain(relays(ledger, wdt_settings, None))

    assert build_delivery_store(ledger).blocked("wdt") == []
    trade = trades(wdt_server)[no]
    assert trade["system_status"] == 95 and trade["shipped_outside"] is True
    assert [r["refund_no"] for r in money_back(trade)] == [f"{no}-RF1"]


def test_the_wdt_simulator_keeps_refunds_within_what_was_paid(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    shipped_by_the_erp(ledger, store, wdt_settings, wdt_server, "SIM-1", "online")
    client = WdtClient(wdt_settings)
    line = [{"oid": "SIM-1-1", "num": 1}]

    def refund(no: str, amount: str, lines: Any = line) -> bool:
        (outcome,) = client.push_refunds(
            [{"refund_no": no, "tid": "SIM-1", "refund_amount": amount,
              "order_list": lines}]
        )  # fmt: skip
        return outcome.ok

    assert refund("X-1", "100.00")
    assert refund("X-1", "100.00")  # the same refund again: an update
    assert not refund("X-2", "28.01")  # 128.00 paid
    assert refund("X-2", "28.00")
    assert not refund("X-3", "0.00", [{"oid": "SIM-1-1", "num": 3}])  # sold 2
    assert len(trades(wdt_server)["SIM-1"]["refunds"]) == 2
    # Not shipped yet: WDT closes such a trade, it does not refund it.
    ledger.create(draft("online", order_no="SIM-2"), **WHO)
    drain(relays(ledger, wdt_settings, None))
    (early,) = client.push_refunds(
        [{"refund_no": "X-4", "tid": "SIM-2", "refund_amount": "1.00",
          "order_list": [{"oid": "SIM-2-1", "num": 1}]}]
    )  # fmt: skip
    assert not early.ok and "not shipped" in early.error
