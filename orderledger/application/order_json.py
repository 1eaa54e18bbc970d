"""Plain, JSON-ready views of an order and of its events, for the outer layers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from orderledger.domain.aftersales import cases_view
from orderledger.domain.order import Order
from orderledger.domain.rules import allowed_actions
from orderledger.domain.status import Lifecycle, Payment, Shipping, website_status
from orderledger.domain.values import (
    PaymentMethod,
    mask_phone,
    money_str,
    stored_line_amount,
)

EVENT_META = ("actor", "source", "reason")
_EVENT_PLUMBING = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)


def jsonable(value: Any, tz: tzinfo | None = None) -> Any:
    """Decimals become strings (never floats), times ISO 8601 with an offset."""
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, datetime):
        return _local_iso(value, tz)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, tz) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, tz) for v in value]
    return value


def _local_iso(value: datetime, tz: tzinfo | None) -> str:
    """In the shop's zone; a time stored before today's bounds that the zone
    cannot hold (the calendar's very ends) stays as it was recorded."""
    try:
        return (value.astimezone(tz) if tz else value).isoformat()
    except OverflowError:
        return value.isoformat()


@dataclass(frozen=True)
class OrderFields:
    """An order's state as plain values, whether replayed from the log (the
    aggregate) or read from the order-status view: what `order_json` needs."""

    order_no: str
    lifecycle: Lifecycle
    payment: Payment
    shipping: Shipping
    method: PaymentMethod
    total: Decimal
    shipping_fee: Decimal
    paid: Decimal
    refund_due: Decimal
    refunded: Decimal
    ordered_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int
    customer: dict[str, str]
    address: dict[str, str]
    lines: list[dict[str, Any]]  # as events store them
    delivery: dict[str, str] | None
    cases: dict[str, dict[str, Any]]
    refused: list[dict[str, Any]]  # quantities refused at the door (line, sku)


def order_json(o: OrderFields, tz: tzinfo, *, reveal: bool = False) -> dict[str, Any]:
    """The one builder of an order's JSON (`order show --json`, the replies of
    every write). Phone numbers are masked unless `reveal`."""
    customer, address = dict(o.customer), dict(o.address)
    if not reveal:
        customer["phone"] = mask_phone(customer["phone"])
        address["phone"] = mask_phone(address["phone"])
    status = website_status(o.lifecycle, o.payment, o.shipping)
    return {
        "order_no": o.order_no,
        "status": status.value,
        "status_code": status.code,
        "lifecycle": o.lifecycle.value,
        "payment_status": o.payment.value,
        "shipping_status": o.shipping.value,
        "payment": o.method.value,
        "payment_label": o.method.label,
        "total": money_str(o.total),
        "shipping_fee": money_str(o.shipping_fee),
        "paid_amount": money_str(o.paid),
        "refund_due": money_str(o.refund_due),
        "ordered_at": jsonable(o.ordered_at, tz),
        "created_at": jsonable(o.created_at, tz),
        "updated_at": jsonable(o.updated_at, tz),
        "version": o.version,
        "customer": customer,
        "address": address,
        "lines": [
            # brand, category and type always (a line without them in the
            # event was taken before the catalog, or without it)
            {
                "brand": "",
                "category": "",
                "type": "",
                **line,
                "amount": money_str(stored_line_amount(line)),
            }
            for line in o.lines
        ],
        "delivery": o.delivery,
        "allowed_actions": allowed_actions(
            o.lifecycle, o.payment, o.shipping, prepaid=o.method.is_prepaid
        ),
        "refunded_amount": money_str(o.refunded),
        "after_sales": cases_view(o.cases),
        "refused": o.refused,
    }


def order_to_data(order: Order, tz: tzinfo, *, reveal: bool = False) -> dict[str, Any]:
    """The order's current state, replayed from the log."""
    delivery = order.delivery
    fields = OrderFields(
        order_no=order.order_no,
        lifecycle=order.lifecycle,
        payment=order.payment,
        shipping=order.shipping,
        method=order.payment_method,
        total=order.total,
        shipping_fee=order.shipping_fee,
        paid=order.paid_amount,
        refund_due=order.refund_due,
        refunded=order.refunded_amount,
        ordered_at=order.ordered_at,
        created_at=order.created_on,
        updated_at=order.modified_on,
        version=order.version,
        customer=order.customer.to_data(),
        address=order.address.to_data(),
        lines=[line.to_data() for line in order.lines],
        delivery=None if delivery is None else delivery.to_data(),
        cases=order.cases,
        refused=list(order.refused),
    )
    return order_json(fields, tz, reveal=reveal)


def mask_phones(value: Any) -> Any:
    """Mask every value stored under a "phone" key, however deeply nested."""
    if isinstance(value, dict):
        return {
            k: mask_phone(v) if k == "phone" and isinstance(v, str) else mask_phones(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_phones(v) for v in value]
    return value


def event_to_data(event: Any, tz: tzinfo, *, reveal: bool = False) -> dict[str, Any]:
    """One history entry: version, type, time, actor, source, reason, details."""
    fields = {
        k: v
        for k, v in vars(event).items()
        if k not in _EVENT_PLUMBING and k not in EVENT_META
    }
    return {
        "version": event.originator_version,
        "type": type(event).__name__,
        "topic": getattr(type(event), "TOPIC", ""),
        "time": jsonable(event.timestamp, tz),
        "actor": getattr(event, "actor", ""),
        "source": getattr(event, "source", ""),
        "reason": getattr(event, "reason", ""),
        "details": jsonable(fields, tz)
        if reveal
        else mask_phones(jsonable(fields, tz)),
    }
