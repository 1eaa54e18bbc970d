"""WDT's system status codes (VOCABULARY.md §3) and the rules WDT applies to
them, each written once and used by the domain, the reconciler and the
simulator alike."""

from __future__ import annotations

from enum import IntEnum


class Wdt(IntEnum):
    """WDT's system status of a trade (旺店通 trade_status in its queries)."""

    CANCELLED = 5  # 已取消
    UNPAID = 10  # 待付款
    AWAITING_BALANCE = 12  # 待尾款
    AWAITING_UNPAID = 15  # 等未付
    CUSTOMER_REVIEW = 30  # 待客审
    FINANCE_REVIEW = 35  # 待财审
    REVIEWED = 55  # 已审核: print, pick, scan and weigh happen inside it
    SHIPPED = 95  # 已发货
    SIGNED = 100  # 已签收
    COMPLETED = 110  # 已完成

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Wdt.CANCELLED: "已取消",
    Wdt.UNPAID: "待付款",
    Wdt.AWAITING_BALANCE: "待尾款",
    Wdt.AWAITING_UNPAID: "等未付",
    Wdt.CUSTOMER_REVIEW: "待客审",
    Wdt.FINANCE_REVIEW: "待财审",
    Wdt.REVIEWED: "已审核",
    Wdt.SHIPPED: "已发货",
    Wdt.SIGNED: "已签收",
    Wdt.COMPLETED: "已完成",
}

# Statuses at which an unfrozen trade can still be reviewed.
REVIEWABLE = (Wdt.CUSTOMER_REVIEW, Wdt.FINANCE_REVIEW)


def cancelled(code: int) -> bool:
    return code == Wdt.CANCELLED


def shipped(code: int) -> bool:
    """WDT shipped it (95, and signed for or completed after)."""
    return code >= Wdt.SHIPPED


def signed_for(code: int) -> bool:
    return code >= Wdt.SIGNED


def reviewed(code: int) -> bool:
    """Reviewed and in the warehouse, not yet shipped (待打单 … 待称重)."""
    return Wdt.FINANCE_REVIEW < code < Wdt.SHIPPED


def awaiting_review(code: int) -> bool:
    """Not yet reviewed (the source document's 待审核): 10 to 35."""
    return not cancelled(code) and code <= Wdt.FINANCE_REVIEW


def cancellable_by_push(code: int, frozen: bool) -> bool:
    """The rule this ledger exists for: a close pushed from the platform
    cancels a trade only while WDT has not reviewed it (待审核) or has frozen
    it (已冻结). A reviewed trade is intercepted for a person instead; a
    shipped one is refused."""
    return not shipped(code) and (awaiting_review(code) or frozen)
