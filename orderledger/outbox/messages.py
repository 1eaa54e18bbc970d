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

from orderledger.domain.aftersales import CaseKind, CaseState, replacement_tid
from orderledger.domain.erp_mapping import ERP_SOURCE, pushes_trade
from orderledger.domain.order import Order
from orderledger.domain.payments import wdt_pay_status
from orderledger.domain.status import Lifecycle, Payment, WebsiteStatus
from orderledger.domain.values import OrderLine, money_str

WDT = "wdt"
U8 = "u8"
CRM = "crm"  # the CRM feed: signed webhooks of every order event
# The destinations that follow the orders' log (the catalog's: catalog_messages).
DESTINATIONS = (WDT, U8, CRM)
# WDT and U8 read local times without a zone: China Standard Time.
CHINA = timezone(timedelta(hours=8))

# sales_refund_push: the kind of after-sales record (`type`) and where it
# stands (`status`). A record of goods coming back (`NO-AS1` for a case,
# `NO-RJ` for a parcel refused at the door) is separate from the records of
# money going back (`NO-RF1`, one per refund).
REFUND_TYPE_RETURN = 2  # 退货: the goods come back
REFUND_TYPE_EXCHANGE = 3  # 换货: the goods come back, the same go out again
REFUND_AWAITING_GOODS = 3  # 等待退货: agreed, the warehouse expects the parcel
REFUND_DONE = 5  # 退款成功: the money went back
# The trade_status of a replacement shipment WDT is to make: paid, to ship.
REPLACEMENT_TO_SHIP = 30
SHIPPED_BY_PLATFORM = 50


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
    lines, payment = order.lines, order.payment
    paid = payment is not Payment.UNPAID
    prepaid = order.payment_method.is_prepaid
    total = order.total  # less any lines refused at the door
    refunded = paid and order.lifecycle is Lifecycle.VOIDED
    return {
        "tid": order.order_no,
        "trade_status": platform_status,
        "pay_status": wdt_pay_status(order.paid_amount, total),
        "delivery_term": 1 if prepaid else 2,
        "trade_time": wdt_time(order.ordered_at),
        "pay_time": wdt_time(order.paid_at) if paid else "",
        **_receiver(order),
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


# The fields of a message that carry personal data (sealed references until
# sent; `migrate personal-data` cuts them from messages sent before).
PERSONAL_MESSAGE_FIELDS = frozenset(
    {"buyer_nick", "receiver_name", "receiver_mobile", "receiver_address", "custname"}
)


def _receiver(order: Order) -> dict[str, str]:
    address = order.address
    return {
        "buyer_nick": order.customer.name,
        "receiver_name": address.receiver,
        "receiver_mobile": address.phone,
        "receiver_province": address.province,
        "receiver_city": address.city,
        "receiver_district": address.district,
        "receiver_address": address.detail,
    }


def _logistics(order: Order) -> dict[str, str]:
    """Carrier and tracking number once shipped, as WDT's logistics sync
    carries them."""
    delivery = order.delivery
    if delivery is None:
        return {}
    return {"logistics_name": delivery.carrier, "logistics_no": delivery.tracking_no}


def _returned_lines(order_no: str, items: list[dict[str, Any]]) -> list[Any]:
    return [{"oid": f"{order_no}-{i['line']}", "num": i["quantity"]} for i in items]


def wdt_refund(order: Order, refund: dict[str, str]) -> dict[str, Any]:
    """A refund after shipping as `sales_refund_push.php` takes it."""
    case = order.cases[refund["case_id"]]
    return {
        "refund_no": f"{order.order_no}-{refund['refund_id']}",
        "tid": order.order_no,
        "type": REFUND_TYPE_RETURN,
        "status": REFUND_DONE,
        "refund_amount": refund["amount"],
        "reason": refund["reason"] or case["reason"],
        "order_list": _returned_lines(order.order_no, case.get("accepted", [])),
    }


def wdt_goods_back(
    order: Order, notice_no: str, kind: int, items: list[dict[str, Any]], reason: str
) -> Message:
    """WDT is told goods are coming back, so the warehouse expects the parcel
    (agreed, awaiting goods); money, if any, follows in its own record."""
    payload = {
        "refund_no": notice_no,
        "tid": order.order_no,
        "type": kind,
        "status": REFUND_AWAITING_GOODS,
        "refund_amount": "0.00",
        "reason": reason,
        "order_list": _returned_lines(order.order_no, items),
    }
    return Message(WDT, "refund", notice_no, payload)


def wdt_replacement(order: Order, case_id: str, platform_status: int) -> Message:
    """An exchange's replacement goods as a trade of their own (tid `NO-EX1`),
    free of charge: WDT ships it like any other, or is told the website did."""
    case = order.cases[case_id]
    tid = replacement_tid(order.order_no, case_id)
    lines = order.lines
    delivery = case.get("delivery")
    logistics = (
        {}
        if delivery is None
        else {
            "logistics_name": delivery["carrier"],
            "logistics_no": delivery["tracking_no"],
        }
    )
    payload = {
        "tid": tid,
        "trade_status": platform_status,
        "pay_status": 2,  # nothing to pay: the customer paid for the original
        "delivery_term": 1,
        "trade_time": wdt_time(order.ordered_at),
        "pay_time": "",
        **_receiver(order),
        "post_amount": "0.00",
        "cod_amount": "0.00",
        "paid": "0.00",
        **logistics,
        "order_list": [
            _replacement_line(tid, item["line"], lines[item["line"] - 1], item)
            for item in case.get("accepted", [])
        ],
    }
    return Message(WDT, "replacement", tid, payload)


def _replacement_line(
    tid: str, number: int, line: OrderLine, item: dict[str, Any]
) -> dict[str, Any]:
    return {
        "oid": f"{tid}-{number}",
        "goods_no": line.sku,
        "spec_no": line.spec,
        "goods_name": line.name,
        "num": item["quantity"],
        "price": "0.00",
        "discount": "0.00",
        "status": REPLACEMENT_TO_SHIP,
        "refund_status": 0,
    }


def _after_sales_messages(
    order: Order, event_type: str, source: str, case_id: str
) -> list[Message]:
    """What WDT's warehouse must hear of an after-sales step: an approved case
    is goods to expect back; an exchange's accepted goods are replaced by a
    trade of their own, which the website may ship itself."""
    case = order.cases[case_id]
    exchange = case["kind"] == CaseKind.EXCHANGE.value
    match event_type:
        case "AfterSalesReviewed" if case["state"] != CaseState.REJECTED.value:
            kind = REFUND_TYPE_EXCHANGE if exchange else REFUND_TYPE_RETURN
            notice = f"{order.order_no}-{case_id}"
            return [wdt_goods_back(order, notice, kind, case["lines"], case["reason"])]
        case "AfterSalesReceived" if exchange and case.get("accepted"):
            return [wdt_replacement(order, case_id, REPLACEMENT_TO_SHIP)]
        case "ExchangeShipped" if source != ERP_SOURCE:
            return [wdt_replacement(order, case_id, SHIPPED_BY_PLATFORM)]
    return []


def wdt_messages(
    order: Order, event_type: str, source: str, case_id: str = ""
) -> list[Message]:
    if event_type == "RefundIssued":
        # A return's refund goes to WDT's refund list; a cancellation's money
        # is settled by the close (80) the cancellation already pushed.
        refund = order.refunds[-1]
        if not refund["case_id"]:
            return []
        payload = wdt_refund(order, refund)
        return [Message(WDT, "refund", payload["refund_no"], payload)]
    if case_id:
        return _after_sales_messages(order, event_type, source, case_id)
    messages = []
    if event_type == "RefusedAtDoor":  # the refused goods travel back
        messages.append(
            wdt_goods_back(
                order,
                f"{order.order_no}-RJ",
                REFUND_TYPE_RETURN,
                list(order.refused),
                "拒收: refused at the door",
            )
        )
    expected = order.expected_erp()
    if pushes_trade(event_type, source) and expected.platform_status is not None:
        trade = wdt_trade(order, expected.platform_status)
        messages.append(Message(WDT, "trade", order.order_no, trade))
    return messages


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
        for line in order.sold_lines  # not what came back from the door
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
        "RefusedAtDoor",  # a prepaid parcel kept in part completes there
    )
    if not completed_now:
        return []
    earlier = [u8_credit(order, r) for r in order.refunds if r["case_id"]]
    return u8_documents(order, version) + earlier


def crm_messages(order: Order, event_type: str, version: int) -> list[Message]:
    """Every order event, as a webhook: what happened and the order (and its
    customer) as it left it. `event_id` is the subscriber's key for
    idempotency: a resend carries the same one."""
    event_id = f"{order.order_no}-v{version}"
    customer = order.customer
    payload = {
        "event_id": event_id,
        "type": event_type,
        "order_no": order.order_no,
        "version": version,
        "occurred_at": order.modified_on.isoformat(),
        "customer": {"name": customer.name, "phone": customer.phone},
        "order": {
            "status": order.status.value,
            "payment_method": order.payment_method.value,
            "ordered_at": order.ordered_at.isoformat(),
            "total": money_str(order.total),
            "paid": money_str(order.paid_amount),
            "refunded": money_str(order.refunded_amount),
            "lines": [
                {
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "amount": money_str(line.amount),
                    "brand": line.brand,
                    "category": line.category,
                    "type": line.type,
                }
                for line in order.lines
            ],
        },
    }
    return [Message(CRM, "event", event_id, payload)]


def messages_for(
    destination: str,
    order: Order,
    event_type: str,
    version: int,
    source: str = "",
    case_id: str = "",
) -> list[Message]:
    """The messages for `destination` caused by the event (of `source`, about
    after-sales case `case_id` if any) that brought `order` (its state right
    after that event) to `version`."""
    if destination == WDT:
        return wdt_messages(order, event_type, source, case_id)
    if destination == U8:
        return u8_messages(order, event_type, version)
    if destination == CRM:
        return crm_messages(order, event_type, version)
    raise ValueError(f"unknown destination {destination!r}")
