"""Where an order stands with money: derived, never decided by a command.

Money is a fact from outside (VOCABULARY.md §1): it is recorded whenever it
arrives — before confirmation, in part, too much, after a void — and the
payment axis and what is owed back follow from the amounts. The aggregate and
the views derive them with this one function.
"""

from __future__ import annotations

from decimal import Decimal

from orderledger.domain.status import Payment

ZERO = Decimal("0.00")


def payment_position(
    *, paid: Decimal, total: Decimal, refunded: Decimal, voided: bool
) -> tuple[Payment, Decimal]:
    """(the payment axis, the refund due) for money `paid` against `total`.

    `refunded` counts refunds the order itself owed (a void, an excess), not
    after-sales refunds of returned goods. A voided order owes back all it
    was paid; any other order owes back what was paid beyond its total.
    Paid in full (or more) is `paid` (an order worth nothing is paid by
    nothing); less is `part_paid`.
    """
    if voided:
        if paid <= 0:
            return Payment.UNPAID, ZERO
        return (Payment.REFUNDED if refunded >= paid else Payment.REFUND_DUE), paid
    if paid >= total:
        return Payment.PAID, paid - total
    return (Payment.PART_PAID if paid > 0 else Payment.UNPAID), ZERO


def wdt_pay_status(paid: Decimal, total: Decimal) -> int:
    """WDT's pay_status: 0 unpaid, 1 partly paid, 2 paid (VOCABULARY.md §3)."""
    if paid <= 0:
        return 0
    return 2 if paid >= total else 1
