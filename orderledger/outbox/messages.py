"""From order events to the messages WDT and U8 receive: pure and deterministic.

A message depends only on the order's events up to the event it is for (the
order's state right after that event), so a resend or a replay sends exactly
the same bytes, and the remote side can absorb it: WDT updates a known `tid`,
U8 ignores a known `biz_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from orderledger.domain.erp_mapping import expected_erp, pushes_trade
from orderledger.domain.order import Order
from orderledger.domain.payments import wdt_pay_status
from orderledger.domain.status import Lifecycle, Payment, WebsiteStatus
from orderledger.domain.values import lines_total, money_str

WDT = "wdt"
U8 = "u8"
DESTINATIONS = (WDT, U8)
# WDT and U8 read local times without a zone: China Standard Time.
CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Message:
    destination: str
    kind: str  # "trade" for WDT; the U8 resource ("saleorder", …)
    key: str  # the remote's idempotency key: WDT tid, U8 biz_id
    payload: dict[str, Any]


def wdt_time(moment: datetime | None) -> str:
    return (
        "" if moment is None else moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    )


def wdt_trade(order: Order, platform_status: int) -> dict[str, Any]:
    """The trade as `trade_push.php` takes it (VOCABULARY.md §3)."""
    # Each of these properties rebuilds values from the aggregate's state:
    # read them once.
    address, lines, payment = order.address, order.lines, order.payment
    paid = payment is not Payment.UNPAID
    prepaid = order.payment_method.is_prepaid
    total = lines_total(lines, order.shipping_fee)
    refunded = paid and order.lifecycle is Lifecycle.VOIDED
    return {
        "tid": order.order_no,
        "trade_status": platform_status,
        "pay_status": wdt_pay_status(order.paid_amount, total),
        "delivery_term": 1 if prepaid else 2,
        "trade_time": wdt_time(order.ordered_at),
        "pay_time": wdt_time(order.paid_at) if paid else "",
        "buyer_nick": order.customer.name,
        "receiver_name": address.receiver,
        "receiver_mobile": address.phone,
        "receiver_province": address.province,
        "receiver_city": address.city,
        "receiver_district": address.district,
        "receiver_address": address.detail,
        "post_amount": money_str(order.shipping_fee),
        "cod_amount": "0.00" if prepaid else money_str(total),
        "paid": money_str(order.paid_amount if prepaid else Decimal("0")),
        **_logistics(order),
        "order_list": [
            {
                "oid": f"{order.order_no}-{i}",
                "goods_no": line.sku,
                "spec_no": line.spec,
                "goods_name": line.name,
                "num": line.quantity,
                "price": money_str(line.unit_price),
                "discount": money_str(line.discount),
                "status": platform_status,
                "refund_status": 2 if refunded else 0,
            }
            for i, line in enumerate(lines, 1)
        ],
    }


def _logistics(order: Order) -> dict[str, str]:
    """Carrier and tracking number once shipped, as WDT's logistics sync
    carries them."""
    delivery = order.delivery
    if delivery is None:
        return {}
    return {"logistics_name": delivery.carrier, "logistics_no": delivery.tracking_no}


def wdt_refund(order: Order, refund: dict[str, str]) -> dict[str, Any]:
    """A refund after shipping as `sales_refund_push.php` takes it."""
    case = order.cases[refund["case_id"]]
    return {
        "refund_no": f"{order.order_no}-{refund['refund_id']}",
        "tid": order.order_no,
        "type": 2,  # 退货退款: goods came back
        "refund_amount": refund["amount"],
        "reason": refund["reason"] or case["reason"],
        "order_list": [
            {"oid": f"{order.order_no}-{item['line']}", "num": item["quantity"]}
            for item in case.get("accepted", [])
        ],
    }


def wdt_messages(order: Order, event_type: str, source: str) -> list[Message]:
    if event_type == "RefundIssued":
        # A return's refund goes to WDT's refund list; a cancellation's money
        # is settled by the close (80) the cancellation already pushed.
        refund = order.refunds[-1]
        if not refund["case_id"]:
            return []
        payload = wdt_refund(order, refund)
        return [Message(WDT, "refund", payload["refund_no"], payload)]
    expected = expected_erp(
        order.status, prepaid=order.payment_method.is_prepaid, payment=order.payment
    )
    if not pushes_trade(event_type, source) or expected.platform_status is None:
        return []
    trade = wdt_trade(order, expected.platform_status)
    return [Message(WDT, "trade", order.order_no, trade)]


def u8_documents(order: Order, version: int) -> list[Message]:
    """A completed order's documents for U8: sale order, consignment, receipt."""
    lines = [
        {
            "inventorycode": line.sku,
            "inventoryname": line.name,
            "quantity": line.quantity,
            "price": money_str(line.unit_price),
            "money": money_str(line.amount),
        }
        for line in order.lines
    ]
    header = {
        "code": order.order_no,
        "date": _china_date(order.ordered_at, order.ordered_at),
        "custname": order.customer.name,
        "memo": f"orderledger {order.order_no} v{version}",
    }
    # Each document carries the date of its own event: the sale the order's,
    # the consignment the shipment's, the receipt the payment's.
    bodies = {
        "saleorder": {**header, "money": money_str(order.total), "entry": lines},
        "consignment": {
            **header,
            "date": _china_date(order.shipped_at, order.ordered_at),
            "entry": lines,
        },
        "accept": {
            **header,
            "date": _china_date(order.paid_at, order.ordered_at),
            "amount": money_str(order.paid_amount),
            "paytype": order.payment_method.value,
        },
    }
    return [
        # biz_id from order and event: a resend or replay never makes a second one.
        Message(
            U8, resource, f"{order.order_no}-v{version}-{resource}", {resource: body}
        )
        for resource, body in bodies.items()
    ]


def _china_date(moment: datetime | None, fallback: datetime) -> str:
    return (moment or fallback).astimezone(CHINA).date().isoformat()


def u8_credit(order: Order, refund: dict[str, str]) -> Message:
    """A refund of returned goods as a red (negative) sales invoice: the credit
    document; its biz_id names the refund, so a resend never makes a second."""
    case = order.cases[refund["case_id"]]
    lines = order.lines
    body = {
        "code": f"{order.order_no}-{refund['refund_id']}",
        # the refund's own date: a January refund books into January
        "date": _china_date(
            datetime.fromisoformat(refund["at"]) if refund.get("at") else None,
            order.ordered_at,
        ),
        "custname": order.customer.name,
        "red": True,
        "money": f"-{refund['amount']}",
        "memo": f"orderledger {order.order_no} refund {refund['refund_id']}",
        "entry": [
            {
                "inventorycode": item["sku"],
                "inventoryname": lines[item["line"] - 1].name,
                "quantity": -item["quantity"],
            }
            for item in case.get("accepted", [])
        ],
    }
    biz_id = f"{order.order_no}-{refund['refund_id']}-saleinvoice"
    return Message(U8, "saleinvoice", biz_id, {"saleinvoice": body})


def u8_messages(order: Order, event_type: str, version: int) -> list[Message]:
    """U8 hears of an order when it reaches 已完成, and of every refund of
    returned goods (a cancelled order never reached U8: nothing to credit),
    in business order: a credit note refers to the sale, so a refund made
    before the order completed (returned before the customer confirmed
    receipt) goes to U8 right after the sale's documents, never before."""
    if event_type == "RefundIssued":
        refund = order.refunds[-1]
        if not refund["case_id"] or order.lifecycle is not Lifecycle.COMPLETED:
            return []  # nothing to credit, or the sale is not in U8 yet
        return [u8_credit(order, refund)]
    completed_now = order.status is WebsiteStatus.COMPLETED and event_type in (
        "PaymentConfirmed",
        "ReceiptConfirmed",
    )
    if not completed_now:
        return []
    earlier = [u8_credit(order, r) for r in order.refunds if r["case_id"]]
    return u8_documents(order, version) + earlier


def messages_for(
    destination: str, order: Order, event_type: str, version: int, source: str = ""
) -> list[Message]:
    """The messages for `destination` caused by the event (of `source`) that
    brought `order` (its state right after that event) to `version`."""
    if destination == WDT:
        return wdt_messages(order, event_type, source)
    if destination == U8:
        return u8_messages(order, event_type, version)
    raise ValueError(f"unknown destination {destination!r}")
