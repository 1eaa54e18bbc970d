"""A new order as the website (or a JSON file) describes it, validated strictly."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from orderledger.domain.bounds import check_order_time, clip
from orderledger.domain.catalog import ProductLookup, order_lines
from orderledger.domain.errors import InvalidInput
from orderledger.domain.values import (
    Address,
    Customer,
    OrderLine,
    PaymentMethod,
    check_total,
    parse_money,
    parse_text,
)

_ORDER_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")
DRAFT_KEYS = frozenset(
    {
        "order_no",
        "ordered_at",
        "customer",
        "payment",
        "address",
        "shipping_fee",
        "lines",
    }
)

_REQUIRED = ("customer", "payment", "address", "lines")

# The flat shape (the CLI's options, the HTTP API's `POST /orders`): the
# customer's name, phone and street address as plain fields.
FLAT_KEYS = frozenset(
    {
        "order_no",
        "ordered_at",
        "customer",
        "contact",
        "phone",
        "payment",
        "receiver",
        "receiver_phone",
        "province",
        "city",
        "district",
        "address",
        "shipping_fee",
        "lines",
    }
)


def nest_flat(flat: Mapping[str, Any]) -> dict[str, Any]:
    """An order given flat (`customer` a name, `phone`, `address` the street
    address, optional `contact`, `receiver`, `receiver_phone`, `province`,
    `city`, `district`) as the document `OrderDraft.from_data` takes: the
    receiver defaults to the customer, the receiver's phone to the phone."""
    unknown = sorted(set(flat) - FLAT_KEYS)
    if unknown:
        raise InvalidInput(
            f"unknown field(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(FLAT_KEYS))}"
        )
    return {
        "order_no": flat.get("order_no"),
        "ordered_at": flat.get("ordered_at"),
        "customer": {
            "name": flat.get("customer"),
            "contact": flat.get("contact"),
            "phone": flat.get("phone"),
        },
        "payment": flat.get("payment"),
        "address": {
            "receiver": flat.get("receiver") or flat.get("customer"),
            "phone": flat.get("receiver_phone") or flat.get("phone"),
            "province": flat.get("province") or "",
            "city": flat.get("city") or "",
            "district": flat.get("district") or "",
            "detail": flat.get("address"),
        },
        "shipping_fee": flat.get("shipping_fee") or "0",
        "lines": flat.get("lines"),
    }


_EMPTY: tuple[object, ...] = (None, "", [], {})


def parse_time_range(
    since: str | None,
    until: str | None,
    tz: tzinfo,
    *,
    names: tuple[str, str] = ("since", "until"),
) -> tuple[datetime | None, datetime | None]:
    """A filter's time range: `since` inclusive; `until` exclusive, and a bare
    date (YYYY-MM-DD) includes its day."""
    start = parse_time(since, names[0], tz) if since else None
    end = parse_time(until, names[1], tz) if until else None
    if end is not None and until is not None and len(until.strip()) == 10:
        end += timedelta(days=1)
    return start, end


def parse_order_no(value: object) -> str:
    text = parse_text(value, "order number", max_len=40)
    if not _ORDER_NO.match(text):
        raise InvalidInput(
            f"order number {text!r} may hold only letters, digits, '-' and '_'"
        )
    return text


def parse_time(value: object, field: str, tz: tzinfo) -> datetime:
    """An ISO 8601 time; a time without an offset is read in the shop's zone.

    Only times that convert to UTC and back are accepted (a time at the very
    ends of the calendar does not), so every later conversion succeeds."""
    text = parse_text(value, field, max_len=40)
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        # Both ends, a day apart: a bare date in a filter adds a day to it.
        (moment - timedelta(days=2)).astimezone(UTC)
        (moment + timedelta(days=2)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{field} must be an ISO time like 2026-11-28T10:30:00+08:00 between "
            f"the years 1 and 9999, not {clip(text)}"
        ) from None
    return moment


@dataclass(frozen=True)
class OrderDraft:
    customer: Customer
    lines: tuple[OrderLine, ...]
    payment_method: PaymentMethod
    address: Address
    shipping_fee: Decimal = Decimal("0.00")
    order_no: str | None = None
    ordered_at: datetime | None = None

    @classmethod
    def from_data(
        cls, data: object, tz: tzinfo, products: ProductLookup | None = None
    ) -> OrderDraft:
        """`products`: the catalog lines take their values from (without
        one, every line is given in full, as before the catalog)."""
        if not isinstance(data, Mapping):
            raise InvalidInput("an order must be a JSON object")
        if not DRAFT_KEYS.issuperset(data):
            unknown = sorted(set(data) - DRAFT_KEYS)
            raise InvalidInput(
                f"unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(DRAFT_KEYS))}"
            )
        for key in _REQUIRED:
            if data.get(key) in _EMPTY:
                raise InvalidInput(f"{key} is required")
        order_no = data.get("order_no")
        ordered_at = data.get("ordered_at")
        customer = Customer.from_data(data["customer"])
        lines = order_lines(data["lines"], products)
        payment_method = PaymentMethod.parse(data["payment"])
        address = Address.from_data(data["address"])
        shipping_fee = parse_money(data.get("shipping_fee", "0"), "shipping fee")
        check_total(lines, shipping_fee)
        return cls(
            customer=customer,
            lines=lines,
            payment_method=payment_method,
            address=address,
            shipping_fee=shipping_fee,
            order_no=None if order_no in (None, "") else parse_order_no(order_no),
            ordered_at=(
                None
                if ordered_at in (None, "")
                else check_order_time(
                    parse_time(ordered_at, "ordered_at", tz), "ordered_at"
                )
            ),
        )

    def content(self) -> dict[str, Any]:
        """What a retried create must repeat exactly to count as the same order."""
        return {
            "customer": self.customer.to_data(),
            "lines": [line.to_data() for line in self.lines],
            "payment_method": self.payment_method.value,
            "address": self.address.to_data(),
            "shipping_fee": format(self.shipping_fee, "f"),
        }
