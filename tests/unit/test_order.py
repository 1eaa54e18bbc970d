"""The Order aggregate on its own: both flows and every refusal. No database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orderledger.domain.errors import IllegalTransition, InvalidInput, RuleViolation
from orderledger.domain.order import Order, new_order, order_id
from orderledger.domain.status import Lifecycle, Payment, Shipping, WebsiteStatus
from orderledger.domain.values import Delivery, Source
from tests.factories import ORDER_TOTAL, draft

WHO = {"actor": "amy", "source": Source.BACK_OFFICE}
PARCEL = Delivery(carrier="SF", tracking_no="SF123")
DUE = Decimal(ORDER_TOTAL)


def an_order(payment: str = "online", order_no: str = "SO-1") -> Order:
    d = draft(payment)
    return new_order(
        order_no=order_no,
        ordered_at=datetime(2026, 11, 28, 10, tzinfo=UTC),
        customer=d.customer,
        lines=d.lines,
        payment_method=d.payment_method,
        address=d.address,
        shipping_fee=d.shipping_fee,
        actor="web",
        source=Source.WEBSITE,
    )


def confirmed(payment: str) -> Order:
    order = an_order(payment)
    order.confirm(**WHO)
    return order


def shipped(payment: str) -> Order:
    order = confirmed(payment)
    if payment != "cod":
        order.confirm_payment(DUE, **WHO)
    order.ship(PARCEL, **WHO)
    return order


def types_of(order: Order) -> list[str]:
    return [type(e).__name__ for e in order.collect_events()]


def test_a_new_order_is_unconfirmed_and_totals_its_lines() -> None:
    order = an_order()

    assert order.status is WebsiteStatus.UNCONFIRMED
    assert order.total == DUE
    assert order.id == order_id("SO-1")
    assert order.allowed_actions() == ["modify", "confirm", "cancel"]


@pytest.mark.parametrize("payment", ["online", "postal"])
def test_the_prepaid_flow_runs_to_completed(payment: str) -> None:
    order = an_order(payment)
    seen = []

    order.confirm(**WHO)
    seen.append(order.status)
    order.confirm_payment(DUE, reference="TX1", **WHO)
    seen.append(order.status)
    order.ship(PARCEL, **WHO)
    seen.append(order.status)
    order.confirm_receipt(actor="张三", source=Source.WEBSITE)
    seen.append(order.status)

    assert [s.value for s in seen] == ["已确认", "已支付", "已发货", "已完成"]
    assert (order.lifecycle, order.payment, order.shipping) == (
        Lifecycle.COMPLETED,
        Payment.PAID,
        Shipping.RECEIVED,
    )
    assert order.paid_amount == DUE
    assert order.delivery == PARCEL


def test_the_cash_on_delivery_flow_runs_to_completed() -> None:
    order = an_order("cod")
    seen = []

    order.confirm(**WHO)
    seen.append(order.status)
    order.ship(PARCEL, **WHO)
    seen.append(order.status)
    order.confirm_receipt(**WHO)
    seen.append(order.status)
    order.confirm_payment(DUE, **WHO)
    seen.append(order.status)

    assert [s.value for s in seen] == ["已确认", "已发货", "已收货", "已完成"]
    assert order.payment is Payment.PAID


def test_every_event_records_actor_source_reason_and_an_explicit_topic() -> None:
    order = confirmed("online")
    order.cancel(reason="customer asked", **WHO)

    events = order.collect_events()

    assert [e.actor for e in events] == ["web", "amy", "amy"]  # type: ignore[attr-defined]
    assert [e.source for e in events] == ["website", "back_office", "back_office"]  # type: ignore[attr-defined]
    assert events[-1].reason == "customer asked"  # type: ignore[attr-defined]
    assert all(type(e).TOPIC.endswith(".v1") for e in events)  # type: ignore[attr-defined]


def test_modify_records_what_changed_before_and_after() -> None:
    order = an_order()
    order.collect_events()

    changed = order.modify(
        address={"detail": "新地址 1 号"}, phone="13900000000", **WHO
    )

    event = order.collect_events()[0]
    assert changed is True
    assert event.changes == {  # type: ignore[attr-defined]
        "address": {
            "before": {**draft().address.to_data()},
            "after": {**draft().address.to_data(), "detail": "新地址 1 号"},
        },
        "contact": {
            "before": {"contact": "张三", "phone": "13800138000"},
            "after": {"contact": "张三", "phone": "13900000000"},
        },
    }
    assert order.address.detail == "新地址 1 号"
    assert order.customer.phone == "13900000000"


def test_modify_lines_changes_the_total() -> None:
    order = an_order()
    new_lines = draft(
        lines=[{"sku": "X", "name": "x", "quantity": 3, "unit_price": "1.50"}]
    ).lines

    order.modify(lines=new_lines, **WHO)

    assert order.total == Decimal("14.50")


def test_modify_with_the_same_values_records_nothing() -> None:
    order = an_order()
    order.collect_events()

    changed = order.modify(address={"detail": order.address.detail}, **WHO)

    assert changed is False
    assert order.collect_events() == []


def test_cancelling_a_paid_order_records_the_refund_due() -> None:
    order = confirmed("postal")
    order.confirm_payment(DUE, **WHO)

    order.cancel(reason="out of stock", **WHO)

    assert order.status is WebsiteStatus.VOIDED
    assert order.payment is Payment.REFUND_DUE
    assert order.refund_due == DUE
    assert order.collect_events()[-1].refund_due == ORDER_TOTAL  # type: ignore[attr-defined]


def test_cancelling_an_unpaid_order_owes_nothing() -> None:
    order = an_order("cod")

    order.cancel(reason="duplicate", **WHO)

    assert order.refund_due == Decimal("0.00")
    assert order.payment is Payment.UNPAID


# ---- refusals: each names the order, its status and what is allowed ----------


def refused(order: Order, action: str) -> IllegalTransition:
    before = order.version
    calls = {
        "modify": lambda: order.modify(address={"detail": "elsewhere"}, **WHO),
        "confirm": lambda: order.confirm(**WHO),
        "pay": lambda: order.confirm_payment(DUE, **WHO),
        "ship": lambda: order.ship(PARCEL, **WHO),
        "receive": lambda: order.confirm_receipt(**WHO),
        "cancel": lambda: order.cancel(reason="r", **WHO),
    }
    with pytest.raises(IllegalTransition) as info:
        calls[action]()
    assert order.version == before
    return info.value


def voided(payment: str) -> Order:
    order = an_order(payment)
    order.cancel(reason="r", **WHO)
    return order


def completed(payment: str) -> Order:
    order = shipped(payment)
    order.confirm_receipt(**WHO)
    if payment == "cod":
        order.confirm_payment(DUE, **WHO)
    return order


@pytest.mark.parametrize(
    ("make", "payment", "action", "status"),
    [
        (an_order, "online", "ship", "未确认"),
        (an_order, "cod", "ship", "未确认"),
        (an_order, "online", "receive", "未确认"),
        (confirmed, "online", "confirm", "已确认"),
        (confirmed, "online", "modify", "已确认"),
        (confirmed, "online", "ship", "已确认"),
        (confirmed, "online", "receive", "已确认"),
        (shipped, "online", "cancel", "已发货"),
        (shipped, "cod", "cancel", "已发货"),
        (shipped, "online", "ship", "已发货"),
        (voided, "online", "confirm", "已作废"),
        (voided, "cod", "cancel", "已作废"),
        (voided, "online", "modify", "已作废"),
        (completed, "online", "cancel", "已完成"),
        (completed, "online", "receive", "已完成"),
    ],
)
def test_an_illegal_step_is_refused_and_records_nothing(
    make: object, payment: str, action: str, status: str
) -> None:
    order = make(payment)  # type: ignore[operator]

    error = refused(order, action)

    assert error.status == status
    assert error.action == action
    assert "SO-1" in str(error) and status in str(error)
    assert error.allowed == tuple(order.allowed_actions())


def test_money_is_a_fact_recorded_whatever_the_state() -> None:
    """VOCABULARY.md §1: money is recorded whenever it arrives."""
    early = an_order("online")  # paid at checkout, before the back office confirms
    early.confirm_payment(DUE, **WHO)
    assert (early.status.value, early.payment) == ("未确认", Payment.PAID)
    early.confirm(**WHO)
    assert early.status.value == "已支付"

    short = confirmed("postal")  # a remittance less the bank's fee
    short.confirm_payment(DUE - Decimal("5.00"), **WHO)
    assert (short.status.value, short.payment) == ("已确认", Payment.PART_PAID)
    assert short.why_not("ship") == "a prepaid order ships only once paid in full"
    short.confirm_payment(Decimal("5.00"), **WHO)
    assert (short.status.value, short.paid_amount) == ("已支付", DUE)

    over = confirmed("online")
    over.confirm_payment(DUE + Decimal("10.00"), **WHO)
    assert (over.payment, over.refund_due) == (Payment.PAID, Decimal("10.00"))
    over.refund(Decimal("10.00"), **WHO)  # the excess goes back
    with pytest.raises(RuleViolation, match="owes back"):
        over.refund(Decimal("0.01"), **WHO)

    late = voided("online")  # money for an order already voided
    late.confirm_payment(DUE, **WHO)
    assert (late.payment, late.refund_due) == (Payment.REFUND_DUE, DUE)
    late.refund(DUE, **WHO)
    assert late.payment is Payment.REFUNDED


def test_cash_on_delivery_completes_once_paid_in_full_after_receipt() -> None:
    order = shipped("cod")
    order.confirm_receipt(**WHO)
    order.confirm_payment(Decimal("100.00"), **WHO)
    assert (order.status.value, order.payment) == ("已收货", Payment.PART_PAID)
    order.confirm_payment(DUE - Decimal("100.00"), **WHO)
    assert order.status.value == "已完成"


def test_a_payment_must_be_a_positive_amount() -> None:
    order = confirmed("online")

    for bad in (Decimal("0"), "-1", "1E+2", "12.345"):
        with pytest.raises(InvalidInput):
            order.confirm_payment(bad, **WHO)  # type: ignore[arg-type]
    assert order.payment is Payment.UNPAID and order.version == 2


def test_cancel_needs_a_reason() -> None:
    order = an_order()

    with pytest.raises(InvalidInput, match="reason is required"):
        order.cancel(reason="  ", **WHO)

    assert order.status is WebsiteStatus.UNCONFIRMED


def test_an_actor_is_required() -> None:
    order = an_order()

    with pytest.raises(InvalidInput, match="actor is required"):
        order.confirm(actor="", source=Source.CLI)

    assert order.status is WebsiteStatus.UNCONFIRMED


def test_an_erp_observation_is_recorded_once_per_distinct_state() -> None:
    order = confirmed("cod")
    order.collect_events()

    first = order.observe_erp(
        wdt_code=30, reported_at="2026-11-28 10:00:00", actor="poll"
    )
    again = order.observe_erp(
        wdt_code=30, reported_at="2026-11-28 10:05:00", actor="poll"
    )
    reviewed = order.observe_erp(
        wdt_code=55, steps=("print",), reported_at="2026-11-28 11:00:00", actor="poll"
    )

    events = order.collect_events()
    assert (first, again, reviewed) == (True, False, True)
    assert [e.erp_label for e in events] == ["待审核", "待拣货"]  # type: ignore[attr-defined]
    assert events[0].source == "erp"  # type: ignore[attr-defined]
    assert order.status.value == "已确认"  # observing never moves the website's status


def test_the_erp_vocabulary_follows_the_source_document() -> None:
    from orderledger.domain.erp_mapping import erp_label_for

    labels = [
        erp_label_for(10),
        erp_label_for(30),
        erp_label_for(55),
        erp_label_for(55, ("print",)),
        erp_label_for(55, ("print", "pick")),
        erp_label_for(55, ("print", "pick", "scan")),
        erp_label_for(95),
        erp_label_for(110),
        erp_label_for(5),
        erp_label_for(55, frozen=True),
        erp_label_for(5, frozen=True),  # frozen, then cancelled in WDT
    ]

    assert labels == [
        "待审核", "待审核", "待打单", "待拣货", "待扫描", "待称重",
        "已完成", "已完成", "已取消", "已冻结", "已取消",
    ]  # fmt: skip
