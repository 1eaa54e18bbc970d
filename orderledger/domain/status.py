"""An order's state as three separate axes, and the website label derived from them.

Keeping lifecycle, payment and shipping apart is what lets later layers map the
website's vocabulary onto the ERP's (VOCABULARY.md): 已支付 and 已收货 are
facts on one axis that the ERP has no state for.
"""

from __future__ import annotations

from enum import StrEnum


class Lifecycle(StrEnum):
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    VOIDED = "voided"


class Payment(StrEnum):
    UNPAID = "unpaid"
    PART_PAID = "part_paid"  # money arrived, less than the total (WDT 待尾款)
    PAID = "paid"  # paid in full (an excess is a refund due)
    # Cancelled after payment: the money must go back (settled by a refund).
    REFUND_DUE = "refund_due"
    REFUNDED = "refunded"  # cancelled after payment, and the money went back


class Shipping(StrEnum):
    NOT_SHIPPED = "not_shipped"
    SHIPPED = "shipped"
    RECEIVED = "received"


class WebsiteStatus(StrEnum):
    """The website's labels (VOCABULARY.md §1); the value is the display label."""

    UNCONFIRMED = "未确认"
    CONFIRMED = "已确认"
    PAID = "已支付"
    SHIPPED = "已发货"
    RECEIVED = "已收货"
    COMPLETED = "已完成"
    VOIDED = "已作废"

    @property
    def code(self) -> str:
        return self.name

    @classmethod
    def from_text(cls, text: str) -> WebsiteStatus:
        """Accept the Chinese label or the code (PAID, paid)."""
        for status in cls:
            if text in (status.value, status.name, status.name.lower()):
                return status
        raise ValueError(text)


def website_status(
    lifecycle: Lifecycle, payment: Payment, shipping: Shipping
) -> WebsiteStatus:
    if lifecycle is Lifecycle.VOIDED:
        return WebsiteStatus.VOIDED
    if lifecycle is Lifecycle.COMPLETED:
        return WebsiteStatus.COMPLETED
    if shipping is Shipping.RECEIVED:
        return WebsiteStatus.RECEIVED
    if shipping is Shipping.SHIPPED:
        return WebsiteStatus.SHIPPED
    if lifecycle is Lifecycle.CONFIRMED and payment is Payment.PAID:
        return WebsiteStatus.PAID
    if lifecycle is Lifecycle.CONFIRMED:
        return WebsiteStatus.CONFIRMED
    return WebsiteStatus.UNCONFIRMED
