"""The order as `order show` prints it, replayed from the log: its state, the
ERP side (the ERP-status fold of its events) and what became of the last
trade pushed to WDT. The CLI and the HTTP API build it here, once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orderledger.domain.errors import first_line
from orderledger.domain.order import order_id
from orderledger.outbox.messages import WDT
from orderledger.outbox.store import DeliveryStore
from orderledger.projections.fold import ProjectionIntegrityError
from orderledger.projections.one_order import erp_from_log
from orderledger.projections.store import ProjectionStore

if TYPE_CHECKING:  # a read from the views never builds the application
    from orderledger.application import OrderLedger


def order_from_log(
    ledger: OrderLedger,
    projections: ProjectionStore,
    order_no: str,
    *,
    reveal: bool = False,
    warn: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """The order replayed from the log, with its ERP side (None, after a
    warning, when the ERP side no longer folds)."""
    order = ledger.get(order_no, reveal=reveal)
    try:
        erp = erp_from_log(projections, order_no, ledger.tz)
    except (ArithmeticError, ValueError, ProjectionIntegrityError) as error:
        # The same failure that poisons the order in the views (see
        # `projections status`): the order itself is still shown.
        warn(f"the ERP side of {order_no} cannot be folded: {first_line(error)}")
        erp = None
    return {**order, "source": "log", "erp": erp}


def with_push_outcome(
    order: dict[str, Any], deliveries: DeliveryStore, *, wdt_configured: bool
) -> dict[str, Any]:
    """The order with what the delivery ledger says became of its last trade
    push: "pushed" is only what WDT acknowledged, never what the events asked."""
    erp = order.get("erp")
    if erp is None or erp["pushed"] is None:
        return order
    last = deliveries.last_message(WDT, order_id(order["order_no"]).hex, kind="trade")
    if last is None:
        state = "not sent" if wdt_configured else "not sent: WDT is not configured"
        outcome = {"state": state, "attempts": 0, "last_error": None}
    else:
        outcome = {
            "state": last["state"],
            "attempts": last["attempts"],
            "last_error": last["last_error"],
        }
    pushed = {**erp["pushed"], "delivery": outcome}
    return {**order, "erp": {**erp, "pushed": pushed}}
