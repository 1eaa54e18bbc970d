"""Plain, JSON-ready views of an order and of its events, for the outer layers."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from orderledger.domain.aftersales import cases_view
from orderledger.domain.order import Order
from orderledger.domain.values import mask_phone, money_str

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


def order_to_data(order: Order, tz: tzinfo, *, reveal: bool = False) -> dict[str, Any]:
    """The order's current state. Phone numbers are masked unless `reveal`."""
    customer = order.customer.to_data()
    address = order.address.to_data()
    if not reveal:
        customer["phone"] = mask_phone(customer["phone"])
        address["phone"] = mask_phone(address["phone"])
    delivery = order.delivery
    return {
        "order_no": order.order_no,
        "status": order.status.value,
        "status_code": order.status.code,
        "lifecycle": order.lifecycle.value,
        "payment_status": order.payment.value,
        "shipping_status": order.shipping.value,
        "payment": order.payment_method.value,
        "payment_label": order.payment_method.label,
        "total": money_str(order.total),
        "shipping_fee": money_str(order.shipping_fee),
        "paid_amount": money_str(order.paid_amount),
        "refund_due": money_str(order.refund_due),
        "ordered_at": jsonable(order.ordered_at, tz),
        "created_at": jsonable(order.created_on, tz),
        "updated_at": jsonable(order.modified_on, tz),
        "version": order.version,
        "customer": customer,
        "address": address,
        "lines": [
            {**line.to_data(), "amount": money_str(line.amount)} for line in order.lines
        ],
        "delivery": None if delivery is None else delivery.to_data(),
        "allowed_actions": order.allowed_actions(),
        "refunded_amount": money_str(order.refunded_amount),
        "after_sales": cases_view(order.cases),
    }


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
