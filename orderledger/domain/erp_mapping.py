"""The expected ERP (WDT) state per website state: VOCABULARY.md §5, as data.

This table is the one place the mapping lives. Changing it means bumping
`MAPPING_VERSION`: the ERP-status view records the version it was built with,
and `orderledger projections status` then says it must be rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderledger.domain.status import Payment, WebsiteStatus
from orderledger.domain.wdt_status import awaiting_review, cancelled, shipped

# 2: a website shipment pushes platform 50 (VOCABULARY.md §5, corrected)
# 3: an order refused at the door stays shipped in WDT (its goods come back
#    as a return), it is not cancelled
MAPPING_VERSION = 3


@dataclass(frozen=True)
class ExpectedErp:
    """What the ERP should show for a website state."""

    erp_label: str  # the source document's ERP vocabulary (待审核, 待打单, …)
    wdt_codes: tuple[int, ...]  # WDT system statuses that agree with it
    platform_status: int | None  # trade_status the website pushes; None: no push
    note: str = ""


_PREPAID = "prepaid"
_COD = "cod"
_ANY = "*"

# (website status, payment kind) -> expected ERP state.
MAPPING: dict[tuple[WebsiteStatus, str], ExpectedErp] = {
    (WebsiteStatus.UNCONFIRMED, _PREPAID): ExpectedErp("待审核", (10,), 10),
    (WebsiteStatus.UNCONFIRMED, _COD): ExpectedErp("待审核", (30,), 30),
    (WebsiteStatus.CONFIRMED, _PREPAID): ExpectedErp(
        "待审核", (10,), 10, "WDT will not review a prepaid order before payment"
    ),
    (WebsiteStatus.CONFIRMED, _COD): ExpectedErp(
        "待审核", (30, 55), 30, "待打单 (55) once WDT reviews"
    ),
    # Confirmed and partly paid (a postal remittance short by the bank's fee):
    # WDT waits for the balance (platform 20, system 12 待尾款).
    (WebsiteStatus.CONFIRMED, Payment.PART_PAID.value): ExpectedErp(
        "待审核", (10, 12), 20, "part paid: WDT waits for the balance (待尾款)"
    ),
    (WebsiteStatus.PAID, _PREPAID): ExpectedErp(
        "待审核", (30, 55), 30, "待打单 (55) once WDT reviews"
    ),
    (WebsiteStatus.SHIPPED, _ANY): ExpectedErp(
        "已完成",
        (95,),
        50,
        "shipped by the website: WDT marks it shipped outside the warehouse",
    ),
    (WebsiteStatus.RECEIVED, _COD): ExpectedErp("已完成", (95, 100), 60),
    (WebsiteStatus.COMPLETED, _ANY): ExpectedErp("已完成", (110,), 70),
    # A void pushes 90 (closed before payment) or 80 (refunded); WDT cancels it
    # only at ≤ 35, otherwise it must be intercepted.
    (WebsiteStatus.VOIDED, "unpaid"): ExpectedErp(
        "已取消", (5,), 90, "needs an intercept if WDT had reviewed it"
    ),
    (WebsiteStatus.VOIDED, "paid"): ExpectedErp(
        "已取消", (5,), 80, "needs an intercept if WDT had reviewed it"
    ),
    # Voided after shipping can only be a parcel refused at the door: WDT
    # keeps its shipment and is told of the goods coming back as a return
    # (sales_refund_push), not with a close it would refuse.
    (WebsiteStatus.VOIDED, "refused"): ExpectedErp(
        "已完成",
        (95, 100, 110),
        None,
        "refused at the door: the goods come back to WDT as a return",
    ),
}

# The events that push the order's trade to WDT (VOCABULARY.md §5, "push to
# WDT"). What the ledger records about the ERP never echoes back to it,
# except a repeated request to stop a voided order (the close is pushed again)
# and a resync (the trade as it is now, once).
WDT_PUSHING_EVENTS = frozenset(
    {
        "Created",
        "Modified",
        "Confirmed",
        "PaymentConfirmed",
        "Shipped",
        "ReceiptConfirmed",
        "RefusedAtDoor",
        "Cancelled",
        "ErpInterceptRequested",
        "ErpResyncRequested",
    }
)
ERP_SOURCE = "erp"


def pushes_trade(event_type: str, source: str) -> bool:
    """Whether this event sends the trade to WDT. A step the website took
    because WDT took it first (source `erp`) is not pushed back: WDT already
    knows, and a shipment pushed back could read as a second one (the seed,
    4. 发货: the website's own shipment is pushed; VOCABULARY.md §5)."""
    if event_type not in WDT_PUSHING_EVENTS:
        return False
    return not (event_type == "Shipped" and source == ERP_SOURCE)


def expected_erp(
    status: WebsiteStatus, *, prepaid: bool, payment: Payment, shipped: bool = False
) -> ExpectedErp:
    """The mapping row for a website state; `shipped`: the goods left (a void
    after that is a refusal at the door)."""
    if status is WebsiteStatus.VOIDED:
        if shipped:
            return MAPPING[(status, "refused")]
        key = "unpaid" if payment is Payment.UNPAID else "paid"
        return MAPPING[(status, key)]
    if prepaid and (status, payment.value) in MAPPING:  # confirmed, part paid
        return MAPPING[(status, payment.value)]
    kind = _PREPAID if prepaid else _COD
    return MAPPING.get((status, kind)) or MAPPING[(status, _ANY)]


# The source document's ERP vocabulary, from WDT's system status and the
# warehouse steps done inside 55 (已审核). Weighing completes the shipment in
# the document's words; until WDT reports 95 the order waits at 待称重.
_AFTER_STEP = {"print": "待拣货", "pick": "待扫描", "scan": "待称重", "weigh": "待称重"}


def erp_label_for(
    wdt_code: int, steps: tuple[str, ...] = (), *, frozen: bool = False
) -> str:
    if cancelled(wdt_code):  # a frozen trade WDT then cancelled is cancelled
        return "已取消"
    if frozen:
        return "已冻结"
    if awaiting_review(wdt_code):
        return "待审核"
    if not shipped(wdt_code):
        return _AFTER_STEP.get(steps[-1], "待打单") if steps else "待打单"
    return "已完成"
