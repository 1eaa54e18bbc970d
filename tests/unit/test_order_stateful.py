"""Random command sequences against a tiny table model of the seed's flows.

The model is written independently of the aggregate: a transition table per
payment kind over the website labels, and a total kept in integer cents. The
aggregate must accept exactly what the table allows and always agree with it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from orderledger.domain.errors import IllegalTransition
from orderledger.domain.order import Order, new_order
from orderledger.domain.values import Delivery, OrderLine, Source
from tests.factories import draft

PREPAID = {
    ("未确认", "modify"): "未确认",
    ("未确认", "confirm"): "已确认",
    ("未确认", "cancel"): "已作废",
    ("已确认", "pay"): "已支付",
    ("已确认", "cancel"): "已作废",
    ("已支付", "ship"): "已发货",
    ("已支付", "cancel"): "已作废",
    ("已发货", "receive"): "已完成",
}
COD = {
    ("未确认", "modify"): "未确认",
    ("未确认", "confirm"): "已确认",
    ("未确认", "cancel"): "已作废",
    ("已确认", "ship"): "已发货",
    ("已确认", "cancel"): "已作废",
    ("已发货", "receive"): "已收货",
    ("已收货", "pay"): "已完成",
}
WHO = {"actor": "fuzz", "source": Source.CLI}
FEE_CENTS = 1000


class OrderMachine(RuleBasedStateMachine):
    @initialize(payment=st.sampled_from(["online", "postal", "cod"]))
    def create(self, payment: str) -> None:
        d = draft(payment, lines=[_line(1, 100).to_data()])
        self.order = new_order(
            order_no="SO-FUZZ",
            ordered_at=datetime(2026, 1, 1, tzinfo=UTC),
            customer=d.customer,
            lines=d.lines,
            payment_method=d.payment_method,
            address=d.address,
            shipping_fee=d.shipping_fee,
            **WHO,
        )
        self.table = COD if payment == "cod" else PREPAID
        self.label = "未确认"
        self.total_cents = 100 + FEE_CENTS
        self.paid_cents = 0

    def attempt(self, action: str, call: object) -> None:
        expected = self.table.get((self.label, action))
        version = self.order.version
        try:
            call()  # type: ignore[operator]
        except IllegalTransition:
            assert expected is None, f"{action} from {self.label} was refused"
            assert self.order.version == version
            return
        assert expected is not None, f"{action} from {self.label} was accepted"
        if action == "pay":
            self.paid_cents = self.total_cents
        self.label = expected

    @rule(
        lines=st.lists(
            st.tuples(st.integers(1, 5), st.integers(0, 10_000)),
            min_size=1,
            max_size=3,
        )
    )
    def modify(self, lines: list[tuple[int, int]]) -> None:
        new = tuple(_line(q, p, sku=f"S{i}") for i, (q, p) in enumerate(lines))
        before = self.total_cents

        def call() -> None:
            self.order.modify(lines=new, **WHO)

        self.attempt("modify", call)
        if self.label == "未确认" and self.order.lines == new:
            self.total_cents = sum(q * p for q, p in lines) + FEE_CENTS
        else:
            assert self.total_cents == before

    @rule()
    def confirm(self) -> None:
        self.attempt("confirm", lambda: self.order.confirm(**WHO))

    @rule()
    def pay(self) -> None:
        """Money is a fact and never refused (tests/unit/test_order.py covers
        it in every state); here the back office's step: the amount still due,
        where the table expects it."""
        if (self.label, "pay") not in self.table:
            return
        amount = Decimal(self.total_cents - self.paid_cents) / 100
        self.attempt("pay", lambda: self.order.confirm_payment(amount, **WHO))

    @rule()
    def ship(self) -> None:
        parcel = Delivery("SF", "SF1")
        self.attempt("ship", lambda: self.order.ship(parcel, **WHO))

    @rule()
    def receive(self) -> None:
        self.attempt("receive", lambda: self.order.confirm_receipt(**WHO))

    @rule()
    def cancel(self) -> None:
        self.attempt("cancel", lambda: self.order.cancel(reason="fuzz", **WHO))

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.order.status.value == self.label
        assert self.order.total == Decimal(self.total_cents) / 100
        assert self.order.paid_amount == Decimal(self.paid_cents) / 100
        allowed = {action for (label, action) in self.table if label == self.label}
        assert set(self.order.allowed_actions()) == allowed
        refund = self.order.refund_due
        assert refund == (
            Decimal(self.paid_cents) / 100 if self.label == "已作废" else 0
        )

    @invariant()
    def replays_to_the_same_state(self) -> None:
        events = self.order.collect_events()
        self.history = getattr(self, "history", []) + events
        replayed: Order | None = None
        for event in self.history:
            replayed = event.mutate(replayed)  # type: ignore[attr-defined]
        assert replayed is not None
        assert replayed.__dict__ == self.order.__dict__


def _line(quantity: int, cents: int, sku: str = "S0") -> OrderLine:
    return OrderLine(
        sku=sku, name="goods", quantity=quantity, unit_price=Decimal(cents) / 100
    )


OrderMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=25)
TestOrderMachine = OrderMachine.TestCase
