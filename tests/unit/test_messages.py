"""The pure mapping from order events to WDT and U8 messages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from orderledger.domain.order import Order
from orderledger.domain.values import Delivery, Source
from orderledger.outbox.messages import CHINA, messages_for
from tests.unit.test_order import an_order

WHO = {"actor": "t", "source": Source.BACK_OFFICE}


def wdt_statuses(order: Order, steps: list[str]) -> list[int | None]:
    """The platform status pushed after each step (None: nothing pushed)."""
    pushed: list[int | None] = []
    for step in steps:
        if step == "confirm":
            order.confirm(**WHO)
        elif step == "pay":
            order.confirm_payment(order.total, **WHO)
        elif step == "ship":
            order.ship(Delivery("SF", "1"), **WHO)
        elif step == "receive":
            order.confirm_receipt(**WHO)
        elif step == "cancel":
            order.cancel(reason="r", **WHO)
        event = order.collect_events()[-1]
        (message,) = messages_for(
            "wdt", order, type(event).__name__, order.version
        ) or [None]
        pushed.append(None if message is None else message.payload["trade_status"])
    return pushed


def test_a_prepaid_order_pushes_10_then_30_then_50_then_70() -> None:
    order = an_order("online")
    (created,) = messages_for("wdt", order, "Created", 1)

    pushed = wdt_statuses(order, ["confirm", "pay", "ship", "receive"])

    assert created.payload["trade_status"] == 10 and created.key == "SO-1"
    # shipping pushes 50 (the seed, 4. 发货), with the carrier and tracking no.
    assert pushed == [10, 30, 50, 70]


def test_a_cod_order_pushes_30_then_50_then_60_then_70() -> None:
    order = an_order("cod")

    pushed = wdt_statuses(order, ["confirm", "ship", "receive", "pay"])

    assert pushed == [30, 50, 60, 70]


def test_a_shipment_followed_from_the_erp_is_not_pushed_back() -> None:
    order = an_order("cod")
    order.confirm(**WHO)
    order.ship(Delivery("ZTO", "Z1"), actor="erp-poll", source=Source.ERP)

    website = messages_for("wdt", order, "Shipped", order.version, "back_office")
    followed = messages_for("wdt", order, "Shipped", order.version, "erp")

    assert website[0].payload["logistics_no"] == "Z1" and followed == []


def test_a_void_pushes_90_unpaid_and_80_paid() -> None:
    unpaid, paid = an_order("online"), an_order("postal")

    assert wdt_statuses(unpaid, ["cancel"]) == [90]
    assert wdt_statuses(paid, ["confirm", "pay", "cancel"]) == [10, 30, 80]


def test_the_trade_carries_what_wdt_needs() -> None:
    order = an_order("online")
    order.confirm(**WHO)
    order.confirm_payment(Decimal("128.00"), **WHO)

    (message,) = messages_for("wdt", order, "PaymentConfirmed", 3)

    trade = message.payload
    assert (trade["pay_status"], trade["delivery_term"], trade["paid"]) == (
        2,
        1,
        "128.00",
    )
    assert trade["pay_time"] and trade["trade_time"] == "2026-11-28 18:00:00"
    assert [line["goods_no"] for line in trade["order_list"]] == ["TEA-001", "CUP-010"]
    assert trade["order_list"][0]["oid"] == "SO-1-1"
    assert trade["receiver_mobile"] == "13800138000"


def test_u8_hears_of_an_order_once_on_completion_with_stable_biz_ids() -> None:
    order = an_order("cod")
    before = [
        messages_for("u8", order, step, v) for v, step in enumerate(["Created"], 1)
    ]
    wdt_statuses(order, ["confirm", "ship", "receive", "pay"])

    documents = messages_for("u8", order, "PaymentConfirmed", 5)
    again = messages_for("u8", order, "PaymentConfirmed", 5)

    assert before == [[]]
    assert [(m.kind, m.key) for m in documents] == [
        ("saleorder", "SO-1-v5-saleorder"),
        ("consignment", "SO-1-v5-consignment"),
        ("accept", "SO-1-v5-accept"),
    ]
    assert documents == again
    assert documents[0].payload["saleorder"]["money"] == "128.00"


def test_events_about_the_erp_itself_push_nothing() -> None:
    order = an_order("online")

    assert messages_for("wdt", order, "ErpStatusObserved", 2) == []


def test_each_u8_document_carries_the_date_of_its_own_event() -> None:
    order = an_order("online")  # ordered 2026-11-28 10:00 UTC
    order.confirm(**WHO)
    paid_on = datetime(2026, 11, 30, 17, tzinfo=UTC)  # 12-01 in China (UTC+8)
    order.confirm_payment(order.total, paid_at=paid_on, **WHO)
    order.ship(Delivery("SF", "1"), **WHO)
    order.confirm_receipt(**WHO)

    docs = {
        m.kind: next(iter(m.payload.values()))["date"]
        for m in messages_for("u8", order, "ReceiptConfirmed", order.version)
    }

    shipped_on = datetime.now(CHINA).date().isoformat()
    assert docs == {
        "saleorder": "2026-11-28",
        "consignment": shipped_on,
        "accept": "2026-12-01",
    }
