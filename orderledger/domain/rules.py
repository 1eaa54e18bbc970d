"""Which step is allowed from which state: one pure function over the axes.

The aggregate checks its commands with it, and read models use it to show
what can happen next without loading the aggregate. A payment is a fact and
is never refused (Order.confirm_payment); "pay" here says only when money is
still expected, for the list of next steps.
"""

from __future__ import annotations

from orderledger.domain.status import Lifecycle, Payment, Shipping

ACTIONS = ("modify", "confirm", "pay", "ship", "receive", "cancel")


def refusal(
    action: str,
    lifecycle: Lifecycle,
    payment: Payment,
    shipping: Shipping,
    *,
    prepaid: bool,
) -> str | None:
    """Why `action` is not allowed in this state, or None if it is."""
    match action:
        case "modify" | "confirm":
            if lifecycle is not Lifecycle.UNCONFIRMED:
                verb = "modified" if action == "modify" else "confirmed"
                return f"only an unconfirmed order can be {verb}"
        case "pay":
            if lifecycle in (Lifecycle.VOIDED, Lifecycle.COMPLETED):
                return f"the order is {lifecycle.value}: no money is expected"
            if payment not in (Payment.UNPAID, Payment.PART_PAID):
                return "the order is paid in full"
            if not prepaid and shipping is not Shipping.RECEIVED:
                return "cash on delivery is paid on receipt"
            if prepaid and lifecycle is not Lifecycle.CONFIRMED:
                # Money that comes first is recorded all the same; the
                # back office's step is to take it once it has confirmed.
                return "a prepaid order is expected to be paid once confirmed"
            if shipping is not Shipping.NOT_SHIPPED and prepaid:
                return "a prepaid order was paid before it shipped"
        case "ship":
            if lifecycle is not Lifecycle.CONFIRMED:
                return "only a confirmed order ships"
            if shipping is not Shipping.NOT_SHIPPED:
                return "the order has already shipped"
            if prepaid and payment is not Payment.PAID:
                return "a prepaid order ships only once paid in full"
        case "receive":
            if lifecycle is not Lifecycle.CONFIRMED or shipping is not Shipping.SHIPPED:
                return "only a shipped order can be received"
        case "cancel":
            if lifecycle not in (Lifecycle.UNCONFIRMED, Lifecycle.CONFIRMED):
                return f"the order is already {lifecycle.value}"
            if shipping is not Shipping.NOT_SHIPPED:
                return "a shipped order can no longer be cancelled"
        case _:
            raise ValueError(f"unknown action {action!r}")
    return None


def allowed_actions(
    lifecycle: Lifecycle, payment: Payment, shipping: Shipping, *, prepaid: bool
) -> list[str]:
    return [
        a
        for a in ACTIONS
        if refusal(a, lifecycle, payment, shipping, prepaid=prepaid) is None
    ]
