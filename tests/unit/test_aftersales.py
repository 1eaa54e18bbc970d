"""After-sales on the Order aggregate: cases, inspection, refunds, limits.

The factory order: TEA-001 x2 at 50.00, CUP-010 x1 at 19.90 less 1.90, and
10.00 shipping: 128.00.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderledger.domain.aftersales import CaseKind, claimed, fold_case
from orderledger.domain.errors import InvalidInput, RuleViolation
from orderledger.domain.order import Order
from orderledger.domain.status import Payment
from orderledger.domain.values import Delivery
from tests.unit.test_order import DUE, WHO, an_order, confirmed, shipped

RETURN, EXCHANGE = CaseKind.RETURN, CaseKind.EXCHANGE


def tea(n: int) -> list[dict[str, object]]:
    return [{"sku": "TEA-001", "quantity": n}]


def applied(order: Order, n: int = 1, kind: CaseKind = RETURN) -> str:
    return order.apply_after_sales(kind=kind, items=tea(n), reason="broken", **WHO)


def received(order: Order, n: int = 1, kind: CaseKind = RETURN) -> str:
    case = applied(order, n, kind)
    order.review_after_sales(case, approve=True, **WHO, reason="")
    order.receive_after_sales(case, accepted=tea(n), rejected=[], **WHO)
    return case


@pytest.mark.parametrize("payment", ["online", "postal", "cod"])
def test_a_full_return_is_refunded_and_closed(payment: str) -> None:
    order = shipped(payment)
    order.confirm_receipt(**WHO)
    if payment == "cod":
        order.confirm_payment(DUE, **WHO)
    case = received(order, 2)

    refund_id = order.refund(Decimal("100.00"), case_id=case, **WHO)

    assert refund_id == "RF1"
    assert order.cases[case]["state"] == "closed"
    assert order.cases[case]["refund_owed"] == "100.00"
    assert order.refunded_amount == Decimal("100.00")
    assert order.payment is Payment.PAID  # a return does not unpay the order


def test_partial_refunds_add_up_and_never_pass_what_was_paid() -> None:
    order = shipped("online")
    case = received(order, 2)

    order.refund(Decimal("40.00"), case_id=case, **WHO)
    still_open = order.cases[case]["state"]
    order.refund(Decimal("60.00"), case_id=case, **WHO)
    cup = [{"sku": "CUP-010", "quantity": 1}]
    second = order.apply_after_sales(kind=RETURN, items=cup, reason="chipped", **WHO)
    order.review_after_sales(second, approve=True, reason="", **WHO)
    order.receive_after_sales(second, accepted=cup, rejected=[], **WHO)
    # the cup's case owes 18.00: more only on purpose, and never more than
    # the 28.00 of the payment left
    with pytest.raises(RuleViolation, match=r"still owes \(18\.00"):
        order.refund(Decimal("18.01"), case_id=second, **WHO)
    goodwill = {"override": True, **WHO, "reason": "goodwill"}
    with pytest.raises(RuleViolation, match=r"not yet refunded \(28\.00\)"):
        order.refund(Decimal("28.01"), case_id=second, **goodwill)
    order.refund(Decimal("28.00"), case_id=second, **goodwill)

    assert still_open == "received"
    assert order.refunded_amount == DUE
    assert [r["refund_id"] for r in order.refunds] == ["RF1", "RF2", "RF3"]


def test_quantities_are_limited_to_delivered_and_not_yet_claimed() -> None:
    order = shipped("online")
    first = applied(order, 1)

    with pytest.raises(RuleViolation, match=r"2 asked, but only 1 of 2"):
        applied(order, 2)
    order.review_after_sales(first, approve=False, reason="outside 7 days", **WHO)
    again = applied(order, 2)  # the rejected application freed the quantity
    order.review_after_sales(again, approve=True, **WHO, reason="")
    order.receive_after_sales(again, accepted=tea(1), rejected=tea(1), **WHO)
    third = applied(order, 1)  # the rejected item went back to the customer

    assert claimed(order.cases) == {1: 2}
    assert (first, again, third) == ("AS1", "AS2", "AS3")
    with pytest.raises(RuleViolation, match="only 0 of 2"):
        applied(order, 1)


def test_only_delivered_goods_can_come_back() -> None:
    for order in (an_order(), confirmed("cod")):
        with pytest.raises(RuleViolation, match="only delivered goods"):
            applied(order)
    voided = confirmed("online")
    voided.cancel(reason="changed mind", **WHO)
    with pytest.raises(RuleViolation, match="已作废"):
        applied(voided)


@pytest.mark.parametrize(
    ("items", "match"),
    [
        ([], "at least one line"),
        ([{"sku": "NOPE", "quantity": 1}], "no line with SKU 'NOPE'"),
        ([{"sku": "TEA-001", "quantity": 0}], "whole number from 1"),
        ([{"sku": "#3", "quantity": 1}], "there is no line #3"),
        (tea(1) + tea(1), "named twice"),
    ],
)
def test_bad_lines_are_refused(items: list[dict[str, object]], match: str) -> None:
    order = shipped("online")
    with pytest.raises(InvalidInput, match=match):
        order.apply_after_sales(kind=RETURN, items=items, reason="x", **WHO)


def test_review_inspection_and_refund_follow_the_case_states() -> None:
    order = shipped("online")
    case = applied(order, 2)

    with pytest.raises(InvalidInput, match="rejection needs a reason"):
        order.review_after_sales(case, approve=False, reason=" ", **WHO)
    with pytest.raises(RuleViolation, match="receive needs a case that is 待退回"):
        order.receive_after_sales(case, accepted=tea(2), rejected=[], **WHO)
    order.review_after_sales(case, approve=True, reason="", **WHO)
    with pytest.raises(RuleViolation, match="every returned item is inspected once"):
        order.receive_after_sales(case, accepted=tea(1), rejected=[], **WHO)
    with pytest.raises(RuleViolation, match="refund needs a case that is 已验收"):
        order.refund(Decimal("1.00"), case_id=case, **WHO)
    with pytest.raises(InvalidInput, match="no after-sales case 'AS9'"):
        order.review_after_sales("AS9", approve=True, reason="", **WHO)


def test_everything_rejected_at_inspection_closes_the_case_without_refund() -> None:
    order = shipped("online")
    case = applied(order, 1)
    order.review_after_sales(case, approve=True, reason="", **WHO)
    order.receive_after_sales(case, accepted=[], rejected=tea(1), reason="used", **WHO)

    assert order.cases[case]["state"] == "closed"
    with pytest.raises(RuleViolation, match="refund needs a case"):
        order.refund(Decimal("50.00"), case_id=case, **WHO)


def test_an_exchange_ships_the_replacement_and_refunds_nothing() -> None:
    order = shipped("cod")
    case = received(order, 1, EXCHANGE)

    with pytest.raises(RuleViolation, match="is an exchange"):
        order.refund(Decimal("1.00"), case_id=case, **WHO)
    order.ship_exchange(case, Delivery("SF", "SF-X1"), **WHO)

    assert order.cases[case]["state"] == "closed"
    assert order.cases[case]["delivery"]["tracking_no"] == "SF-X1"
    assert order.cases[case]["refund_owed"] == "0.00"


def test_a_return_case_cannot_be_shipped_as_an_exchange() -> None:
    order = shipped("online")
    case = received(order, 1)
    with pytest.raises(RuleViolation, match="is a return"):
        order.ship_exchange(case, Delivery("SF", "1"), **WHO)


def test_cash_on_delivery_not_yet_paid_has_nothing_to_refund() -> None:
    order = shipped("cod")
    order.confirm_receipt(**WHO)
    case = received(order, 1)

    with pytest.raises(RuleViolation, match=r"not yet refunded \(0\.00\)"):
        order.refund(Decimal("50.00"), case_id=case, **WHO)


def test_a_cancellation_after_payment_settles_through_the_refund_step() -> None:
    order = confirmed("postal")
    order.confirm_payment(DUE, **WHO)
    order.cancel(reason="changed mind", **WHO)

    order.refund(Decimal("28.00"), reference="POST-R1", **WHO)
    partly = order.payment
    with pytest.raises(RuleViolation, match=r"\(100\.00\)"):
        order.refund(Decimal("100.01"), **WHO)
    order.refund(Decimal("100.00"), **WHO)

    assert partly is Payment.REFUND_DUE
    assert order.payment is Payment.REFUNDED
    assert order.refunded_amount == DUE


def test_a_refund_needs_a_case_unless_the_order_was_cancelled_after_payment() -> None:
    order = shipped("online")
    with pytest.raises(RuleViolation, match="needs a received return case"):
        order.refund(Decimal("1.00"), **WHO)
    with pytest.raises(InvalidInput, match=r"more than 0\.00"):
        order.refund(Decimal("0"), case_id="AS1", **WHO)


def test_a_repeated_sku_is_named_by_line_number() -> None:
    order = shipped("online")
    lines = [{"sku": "#2", "quantity": 1}]
    case = order.apply_after_sales(kind=RETURN, items=lines, reason="x", **WHO)
    assert order.cases[case]["lines"] == [{"line": 2, "quantity": 1, "sku": "CUP-010"}]


def test_fold_case_replays_the_recorded_events_like_the_aggregate() -> None:
    order = shipped("online")
    received(order, 2)
    order.refund(Decimal("30.00"), case_id="AS1", **WHO)
    cases: dict[str, dict[str, object]] = {}
    for event in order.collect_events():
        data = {k: v for k, v in vars(event).items() if not k.startswith("originator")}
        cases = fold_case(cases, type(event).__name__, data)  # type: ignore[assignment]

    assert cases == order.cases
