"""Which step is allowed from which state: one pure function over the axes.

The aggregate checks its commands with it, and read models use it to show
what can happen next without loading the aggregate.
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
        case "pay" if prepaid:
            if lifecycle is not Lifecycle.CONFIRMED:
                return "a prepaid order is paid after it is confirmed"
            if payment is not Payment.UNPAID:
                return "the order is already paid"
            if shipping is not Shipping.NOT_SHIPPED:
                return "a prepaid order is paid before it ships"
        case "pay":
            if (
                lifecycle is not Lifecycle.CONFIRMED
                or shipping is not Shipping.RECEIVED
            ):
                return "cash on delivery is paid after receipt"
        case "ship":
            if lifecycle is not Lifecycle.CONFIRMED:
                return "only a confirmed order ships"
            if shipping is not Shipping.NOT_SHIPPED:
                return "the order has already shipped"
            if prepaid and payment is not Payment.PAID:
                return "a prepaid order ships only once paid"
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
