"""The fold every projection shares: one order's events into its core columns.

It reads the events' stored data (plain JSON) and reuses the domain's rules
for what can be derived (the total, the website label), so a view and the
aggregate can never disagree on those.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from functools import cache
from typing import Any

import orjson

from orderledger.domain.payments import payment_position
from orderledger.domain.personal import erase_personal, is_sealed
from orderledger.domain.status import Lifecycle, Payment, Shipping, website_status
from orderledger.domain.values import stored_lines_total
from orderledger.projections.log import LoggedEvent, plain

Row = dict[str, Any]

# Plain strings: reading .value off an enum on every event showed in profiles.
UNCONFIRMED, CONFIRMED = Lifecycle.UNCONFIRMED.value, Lifecycle.CONFIRMED.value
COMPLETED, VOIDED = Lifecycle.COMPLETED.value, Lifecycle.VOIDED.value
UNPAID = Payment.UNPAID.value
NOT_SHIPPED, SHIPPED, RECEIVED = (
    Shipping.NOT_SHIPPED.value,
    Shipping.SHIPPED.value,
    Shipping.RECEIVED.value,
)


class ProjectionIntegrityError(RuntimeError):
    """The view and the log disagree on an order's sequence of events."""


def cents(amount: str | Decimal) -> int:
    return int(Decimal(amount) * 100)


_UTC_ISO_LENGTH = len("2026-11-28T06:58:54.645141+00:00")


def utc_iso(value: Any) -> str:
    """A stored time as UTC ISO 8601 with a fixed shape, so text order is time order."""
    text = str(plain(value))
    if len(text) == _UTC_ISO_LENGTH and text.endswith("+00:00"):
        return text  # already the shape (eventsourcing stores UTC like this)
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def local_day(utc_time: str, tz: tzinfo) -> str:
    """The shop's calendar day of a moment: what statistics group by."""
    return datetime.fromisoformat(utc_time).astimezone(tz).date().isoformat()


def total_cents(lines: list[dict[str, Any]], shipping_fee_cents: int) -> int:
    return cents(stored_lines_total(lines, Decimal(shipping_fee_cents) / 100))


def json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def phone_index(value: Any) -> str:
    """The blind index a sealed phone carries: what phone search matches
    (a phone in plain text, from a log not yet migrated, has none)."""
    return str(value.get("ix", "")) if is_sealed(value) else ""


def new_row(event: LoggedEvent, tz: tzinfo) -> Row:
    d = event.data
    fee = cents(d["shipping_fee"])
    ordered_at = utc_iso(d["ordered_at"])
    return {
        "order_key": event.order_key,
        "order_no": d["order_no"],
        "ordered_at": ordered_at,
        "order_day": local_day(ordered_at, tz),
        # As stored: sealed references, opened only by a read that shows them.
        "customer_json": json_text(d["customer"]),
        "phone_ix": phone_index(d["customer"]["phone"]),
        "payment_method": d["payment_method"],
        "lifecycle": UNCONFIRMED,
        "payment_status": UNPAID,
        "shipping_status": NOT_SHIPPED,
        "shipping_fee_cents": fee,
        "total_cents": total_cents(d["lines"], fee),
        "paid_cents": 0,
        "refund_due_cents": 0,
        "refunded_cents": 0,
        "after_sales_cases": 0,
        "after_sales_open": 0,
        "created_at": utc_iso(event.timestamp),
        "events_applied": 0,
        "version": 0,
    }


def _settle_payment(row: Row) -> None:
    """The payment axis and refund due, derived as the aggregate does. A
    voided order has no after-sales refunds (cases need delivered goods), so
    all of its refunds are ones the order owed; for any other order refunds
    do not move the axis."""
    payment, due = payment_position(
        paid=Decimal(row["paid_cents"]) / 100,
        total=Decimal(row["total_cents"]) / 100,
        refunded=Decimal(row["refunded_cents"]) / 100,
        voided=row["lifecycle"] == VOIDED,
    )
    row["payment_status"], row["refund_due_cents"] = payment.value, cents(due)


@cache
def _label(lifecycle: str, payment: str, shipping: str) -> tuple[str, str]:
    status = website_status(Lifecycle(lifecycle), Payment(payment), Shipping(shipping))
    return status.value, status.code


def fold(row: Row | None, event: LoggedEvent, tz: tzinfo) -> Row:
    """Apply one event to an order's row (None before its Created event)."""
    d = event.data
    if event.type == "Created":
        row = new_row(event, tz)
    elif row is None or event.version != row["version"] + 1:
        # Applying an event twice, or skipping one, must never pass silently.
        have = "nothing" if row is None else f"version {row['version']}"
        raise ProjectionIntegrityError(
            f"event {event.position} ({event.type} v{event.version}) does not "
            f"follow the view's {have} for order {event.order_key}"
        )
    match event.type:
        case "Modified":
            changes = d["changes"]
            if "lines" in changes:
                row["total_cents"] = total_cents(
                    changes["lines"]["after"], row["shipping_fee_cents"]
                )
                _settle_payment(row)
            if "contact" in changes:
                after = changes["contact"]["after"]
                customer = {**orjson.loads(row["customer_json"]), **after}
                row["customer_json"] = json_text(customer)
                row["phone_ix"] = phone_index(after["phone"])
        case "PersonalDataErased":
            customer = orjson.loads(row["customer_json"])
            erase_personal({"customer": customer})
            row["customer_json"] = json_text(customer)
            row["phone_ix"] = ""
        case "Confirmed":
            row["lifecycle"] = CONFIRMED
        case "PaymentConfirmed":
            row["paid_cents"] += cents(d["amount"])
            if d["completes"]:
                row["lifecycle"] = COMPLETED
            _settle_payment(row)
        case "Shipped":
            row["shipping_status"] = SHIPPED
        case "ReceiptConfirmed":
            row["shipping_status"] = RECEIVED
            if d["completes"]:
                row["lifecycle"] = COMPLETED
        case "Cancelled":
            row["lifecycle"] = VOIDED
            _settle_payment(row)
        case "RefusedAtDoor":
            if d["accepted"]:  # received and worth only the kept lines
                row["shipping_status"] = RECEIVED
                row["total_cents"] = cents(d["total"])
                if d["completes"]:
                    row["lifecycle"] = COMPLETED
            else:
                row["lifecycle"] = VOIDED
            _settle_payment(row)
        case "AfterSalesApplied":
            row["after_sales_cases"] += 1
            row["after_sales_open"] += 1
        case "AfterSalesReviewed" if not d["approved"]:
            row["after_sales_open"] -= 1
        case "AfterSalesReceived" if not d["accepted"]:
            row["after_sales_open"] -= 1
        case "ExchangeShipped":
            row["after_sales_open"] -= 1
        case "RefundIssued":
            row["refunded_cents"] += cents(d["amount"])
            if d["closes_case"]:
                row["after_sales_open"] -= 1
            _settle_payment(row)
    row["status"], row["status_code"] = _label(
        row["lifecycle"], row["payment_status"], row["shipping_status"]
    )
    row["version"] = event.version
    row["position"] = event.position
    row["updated_at"] = utc_iso(event.timestamp)
    row["events_applied"] += 1
    return row
