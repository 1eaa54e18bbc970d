"""Driving histories through the application, and reading views back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select

from orderledger.application import OrderLedger
from orderledger.domain.errors import OrderLedgerError
from orderledger.domain.values import Delivery, Source
from orderledger.projections.store import ProjectionStore
from tests.factories import draft

WHO = {"actor": "t", "source": Source.OPS}
STEPS = ("confirm", "pay", "ship", "receive", "cancel", "modify")


def step(ledger: OrderLedger, order_no: str, action: str, i: int = 0) -> bool:
    """Try one step; True if the ledger accepted it."""
    try:
        if action == "confirm":
            ledger.confirm(order_no, **WHO)
        elif action == "pay":
            total = Decimal(ledger.get(order_no)["total"])
            ledger.confirm_payment(order_no, total, **WHO)
        elif action == "ship":
            ledger.ship(order_no, Delivery("SF", f"SF{i}"), **WHO)
        elif action == "receive":
            ledger.confirm_receipt(order_no, **WHO)
        elif action == "cancel":
            ledger.cancel(order_no, reason="test", **WHO)
        elif action == "modify":
            ledger.modify(order_no, address={"detail": f"路 {i} 号"}, **WHO)
    except OrderLedgerError:
        return False
    return True


def make_order(
    ledger: OrderLedger, order_no: str, payment: str, **overrides: Any
) -> None:
    ledger.create(draft(payment, order_no=order_no, **overrides), **WHO)


def full_lifecycle(ledger: OrderLedger, order_no: str, payment: str) -> None:
    make_order(ledger, order_no, payment)
    order = ["confirm", "pay", "ship", "receive"]
    if payment == "cod":
        order = ["confirm", "ship", "receive", "pay"]
    for action in order:
        assert step(ledger, order_no, action)


def view_rows(
    store: ProjectionStore, name: str, generation: int | None = None
) -> dict[str, Any]:
    tables = store.tables(name, generation or store.live_generation(name))
    with store.engine.connect() as conn:
        rows = conn.execute(select(tables.main)).mappings().all()
    return {r["order_no"]: dict(r) for r in rows}


def order_histories(
    max_orders: int, max_steps: int
) -> st.SearchStrategy[list[tuple[str, list[str]]]]:
    """Random order histories: a payment method and the steps tried on it."""
    return st.lists(
        st.tuples(
            st.sampled_from(["online", "postal", "cod"]),
            st.lists(st.sampled_from(STEPS), max_size=max_steps),
        ),
        min_size=1,
        max_size=max_orders,
    )
