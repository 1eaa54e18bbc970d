"""Strict parsing of values: bad input is refused with a clear message."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest

from orderledger.domain.draft import OrderDraft
from orderledger.domain.errors import InvalidInput
from orderledger.domain.status import Lifecycle, Payment, Shipping, website_status
from orderledger.domain.values import (
    PaymentMethod,
    mask_phone,
    parse_money,
    parse_quantity,
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
