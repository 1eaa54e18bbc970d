"""Strict parsing of values: bad input is refused with a clear message."""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderledger.domain.draft import OrderDraft
from orderledger.domain.errors import InvalidInput
from orderledger.domain.status import Lifecycle, Payment, Shipping, website_status
from orderledger.domain.values import (
    OrderLine,
    PaymentMethod,
    mask_phone,
    parse_money,
    parse_quantity,
    plain_line,
)
from tests.factories import ORDER_TOTAL, draft, order_data


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", "12.00"), ("12.5", "12.50"), ("0.01", "0.01"), ("0", "0.00")],
)
def test_money_parses_to_an_exact_two_place_decimal(text: str, expected: str) -> None:
    assert parse_money(text, "price") == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    ["1E+2", "NaN", "Infinity", "-1", "1.234", "abc", "", " ", "1,000", "12345678901"],
)
def test_money_refuses_anything_but_a_plain_amount(text: str) -> None:
    with pytest.raises(InvalidInput, match="price"):
        parse_money(text, "price")


def test_money_refuses_floats_and_booleans() -> None:
    with pytest.raises(InvalidInput):
        parse_money(1.5, "price")
    with pytest.raises(InvalidInput):
        parse_money(True, "price")


@pytest.mark.parametrize("value", [0, -1, "0", "-3", "1.5", True, 10**7, None])
def test_quantity_must_be_a_positive_whole_number(value: Any) -> None:
    with pytest.raises(InvalidInput, match="quantity"):
        parse_quantity(value)


def test_the_total_is_exact_and_never_a_float() -> None:
    total = draft().lines

    amounts = [line.amount for line in total]

    assert amounts == [Decimal("100.00"), Decimal("18.00")]
    assert all(isinstance(a, Decimal) for a in amounts)
    assert ORDER_TOTAL == "128.00"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"payment": "bitcoin"}, "unknown payment method"),
        ({"lines": []}, "lines is required"),
        ({"customer": {"name": "x" * 201, "phone": "13800138000"}}, "too long"),
        ({"customer": {"name": "张三", "phone": "call me"}}, "phone"),
        ({"customer": {"name": "", "phone": "13800138000"}}, "customer name"),
        ({"shipping_fee": "-5"}, "shipping fee"),
        ({"extra": 1}, "unknown field"),
        ({"order_no": "SO 1; DROP"}, "order number"),
        ({"ordered_at": "yesterday"}, "ordered_at"),
        (
            {
                "lines": [{"sku": "A", "name": "a", "quantity": 1, "unit_price": "1"}]
                * 2
            },
            "same SKU",
        ),
        (
            {
                "lines": [
                    {
                        "sku": "A",
                        "name": "a",
                        "quantity": 1,
                        "unit_price": "1.00",
                        "discount": "2.00",
                    }
                ]
            },
            "discount",
        ),
    ],
)
def test_a_bad_draft_is_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        OrderDraft.from_data(order_data(**overrides), UTC)


def test_phones_are_masked_keeping_prefix_and_last_four() -> None:
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("12345") == "*****"


def test_payment_methods_know_whether_they_are_prepaid() -> None:
    assert PaymentMethod.parse("ONLINE").is_prepaid
    assert PaymentMethod.parse("postal").label == "邮局汇款"
    assert not PaymentMethod.parse("cod").is_prepaid


def test_the_website_label_is_derived_from_the_axes() -> None:
    paid_confirmed = website_status(
        Lifecycle.CONFIRMED, Payment.PAID, Shipping.NOT_SHIPPED
    )
    cod_received = website_status(
        Lifecycle.CONFIRMED, Payment.UNPAID, Shipping.RECEIVED
    )
    voided_paid = website_status(
        Lifecycle.VOIDED, Payment.REFUND_DUE, Shipping.NOT_SHIPPED
    )

    assert (paid_confirmed.value, cod_received.value, voided_paid.value) == (
        "已支付",
        "已收货",
        "已作废",
    )


PLAIN_LINE = {
    "sku": "S-1", "name": "商品", "quantity": 2, "unit_price": "12.50",
    "spec": "红", "brand": "B", "category": "C", "discount": "1.00",
}  # fmt: skip
_TEXT_EDGES = [
    None, "", " ", " a ", "x" * 64, "x" * 65, "y" * 200, "y" * 201, "\x1f",
    "a\tb", "\x00c", "\u3000d", 0, 1, True, 1.5,
]  # fmt: skip
_MONEY_EDGES = [
    "0", "12.5", "1.234", "-1", "1e2", " 3 ", "NaN", "", 3, None, 1.5, "25.00",
    "25.01", "9999999999.99",
]  # fmt: skip
EDGES: dict[str, list[Any]] = {
    **dict.fromkeys(("sku", "name", "spec", "brand", "category"), _TEXT_EDGES),
    "quantity": [0, 1, 1_000_000, 1_000_001, -1, True, "2", 2.0, None],
    "unit_price": _MONEY_EDGES,
    "discount": _MONEY_EDGES,
}
ABSENT = object()
EDIT = st.sampled_from(sorted(EDGES)).flatmap(
    lambda field: st.tuples(st.just(field), st.sampled_from([*EDGES[field], ABSENT]))
)


@settings(max_examples=600, deadline=None)
@given(st.lists(EDIT, min_size=1, max_size=2))
def test_the_fast_line_reader_agrees_with_reading_field_by_field(
    edits: list[tuple[str, Any]],
) -> None:
    """A plain line with one or two fields set to an edge case (or left out):
    the fast path accepts exactly the plain lines the field-by-field path
    accepts, with the same result, and leaves every other line to it."""
    data = dict(PLAIN_LINE)
    for field, value in edits:
        if value is ABSENT:
            data.pop(field, None)
        else:
            data[field] = value
    fast = plain_line(data)
    try:
        slow: OrderLine | None = OrderLine.field_by_field(data, 1)
    except InvalidInput:
        slow = None
    if fast is not None:
        assert fast == slow
    elif slow is not None:
        assert not _plain(data), "a plain line was left to the slow path"


def _plain(data: dict[str, Any]) -> bool:
    """A line the fast path is meant for: text as text, a whole quantity,
    amounts as plain strings."""
    texts = [data.get(k) for k in ("sku", "name", "spec", "brand", "category")]
    amounts = [data.get("unit_price"), data.get("discount", "0")]
    return (
        all(t is None or type(t) is str for t in texts)
        and type(data.get("quantity")) is int
        and all(type(a) is str and re.fullmatch(r"\d+(\.\d\d?)?", a) for a in amounts)
    )
