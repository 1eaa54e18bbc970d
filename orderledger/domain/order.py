"""The Order aggregate.

Public command methods check the rules and raise a domain error when a step is
not allowed; private `@event` methods only record what happened, so replaying
old events never re-runs (possibly changed) checks. Every event carries who
did it (`actor`), where it came from (`source`) and why (`reason`, may be "").
Topics are explicit and versioned: renaming a class never breaks replay.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from orderledger.domain.aftersales import (
    CaseKind,
    CaseState,
    ClaimLine,
    check_claimable,
    claim_value,
    fold_case,
    inspection,
    parse_claim,
    replacement_tid,
)
from orderledger.domain.bounds import check_order_time
from orderledger.domain.changes import modification, validated
from orderledger.domain.erp_mapping import ExpectedErp, erp_label_for, expected_erp
from orderledger.domain.errors import IllegalTransition, InvalidInput, RuleViolation
from orderledger.domain.payments import payment_position
from orderledger.domain.personal import ERASED, erase_personal
from orderledger.domain.reconcile import Observed, erp_first_steps
from orderledger.domain.refusal import (
    kept_lines,
    refused_quantities,
    split_at_door,
)
from orderledger.domain.rules import allowed_actions, refusal
from orderledger.domain.status import (
    Lifecycle,
    Payment,
    Shipping,
    WebsiteStatus,
    website_status,
)
from orderledger.domain.stock import Shortage, StockShort
from orderledger.domain.values import (
    Address,
    Customer,
    Delivery,
    OrderLine,
    PaymentMethod,
    Source,
    check_total,
    lines_total,
    money_str,
    parse_money,
    parse_text,
)

# Fixed forever: order ids are uuid5(ORDER_NAMESPACE, order_no), so an order is
# found by its number without an index, and a second create of a number collides.
ORDER_NAMESPACE = UUID("6f1c2a4e-0d7b-5b52-9a51-3c8e1f0b7a11")


AUTO_RECEIVE_ACTOR = "auto-receive"
# What a reveal may show unmasked (Order.record_reveal).
REVEALABLE = frozenset({"phone"})


def order_id(order_no: str) -> UUID:
    return uuid5(ORDER_NAMESPACE, order_no)


class Order(Aggregate):
    TOPIC = "orderledger.order:Order.v1"
    # Class-level defaults: snapshots taken before these fields existed lack them.
    _task: dict[str, str] | None = None
    _cases: dict[str, dict[str, Any]] | None = None  # after-sales, by case id
    refunded_amount = Decimal("0.00")
    _refunds: tuple[dict[str, str], ...] = ()  # refund_id, case_id, amount, reason
    shipped_at: datetime | None = None  # when the goods left (the consignment)
    _refused: tuple[dict[str, Any], ...] = ()  # lines refused at the door

    @staticmethod
    def create_id(order_no: str, **_: Any) -> UUID:
        return order_id(order_no)

    @event("Created", topic="orderledger.order:Created.v1")
    def __init__(
        self,
        order_no: str,
        ordered_at: datetime,
        customer: dict[str, str],
        lines: list[dict[str, Any]],
        payment_method: str,
        address: dict[str, str],
        shipping_fee: str,
        actor: str,
        source: str,
        reason: str,
    ) -> None:
        # State is kept as plain JSON-friendly values so that a snapshot
        # round-trips exactly; the typed views are the properties below.
        self.order_no = order_no
        self.ordered_at = ordered_at
        self._customer = dict(customer)
        self._lines = [dict(d) for d in lines]
        self._payment_method = payment_method
        self._address = dict(address)
        self.shipping_fee = Decimal(shipping_fee)
        self._lifecycle = Lifecycle.UNCONFIRMED.value
        self._payment = Payment.UNPAID.value
        self._shipping = Shipping.NOT_SHIPPED.value
        self.paid_amount = Decimal("0.00")
        self.refund_due = Decimal("0.00")
        self.paid_at: datetime | None = None
        self._erp: dict[str, Any] | None = None  # the last ERP observation
        self._delivery: dict[str, str] | None = None

    # ---- derived state -------------------------------------------------

    @property
    def customer(self) -> Customer:
        return Customer(**self._customer)

    @property
    def lines(self) -> tuple[OrderLine, ...]:
        return tuple(OrderLine.from_stored(d) for d in self._lines)

    @property
    def payment_method(self) -> PaymentMethod:
        return PaymentMethod(self._payment_method)

    @property
    def address(self) -> Address:
        return Address(**self._address)

    @property
    def delivery(self) -> Delivery | None:
        return None if self._delivery is None else Delivery(**self._delivery)

    @property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self._lifecycle)

    @property
    def payment(self) -> Payment:
        return Payment(self._payment)

    @property
    def shipping(self) -> Shipping:
        return Shipping(self._shipping)

    @property
    def erp_observed(self) -> dict[str, Any] | None:
        """The last observation, without when it was reported."""
        if self._erp is None:
            return None
        return {
            k: v for k, v in self._erp.items() if k not in ("erp_label", "reported_at")
        }

    @property
    def task(self) -> dict[str, str] | None:
        """The task waiting for a person (kind, mismatch, detail), if any."""
        return None if self._task is None else dict(self._task)

    @property
    def refunds(self) -> tuple[dict[str, str], ...]:
        """Every refund so far, oldest first."""
        return tuple(dict(r) for r in self._refunds)

    @property
    def cases(self) -> dict[str, dict[str, Any]]:
        """The after-sales cases, by id (plain data: kind, state, lines, …)."""
        return {k: dict(v) for k, v in (self._cases or {}).items()}

    @property
    def order_refunded(self) -> Decimal:
        """Refunds the order itself owed (a void, an excess), not those of
        returned goods."""
        return sum(
            (Decimal(r["amount"]) for r in self._refunds if not r["case_id"]),
            Decimal("0.00"),
        )

    @property
    def refused(self) -> tuple[dict[str, Any], ...]:
        """The quantities refused at the door (line, sku, quantity), if any."""
        return tuple(dict(r) for r in self._refused)

    @property
    def sold_lines(self) -> tuple[OrderLine, ...]:
        """The lines as sold: less what the customer refused at the door."""
        lines = self.lines
        if not self._refused:
            return lines
        return tuple(map(OrderLine.from_stored, kept_lines(lines, self._refused)))

    @property
    def total(self) -> Decimal:
        """What the order is worth: what was sold, and the shipping."""
        return lines_total(self.sold_lines, self.shipping_fee)

    @property
    def status(self) -> WebsiteStatus:
        return website_status(self.lifecycle, self.payment, self.shipping)

    def expected_erp(self) -> ExpectedErp:
        """What WDT should show for this order now (domain/erp_mapping.py)."""
        return expected_erp(
            self.status,
            prepaid=self.payment_method.is_prepaid,
            payment=self.payment,
            shipped=self.shipping is not Shipping.NOT_SHIPPED,
        )

    def why_not(self, action: str) -> str | None:
        """Why `action` is not allowed now, or None if it is."""
        return refusal(
            action,
            self.lifecycle,
            self.payment,
            self.shipping,
            prepaid=self.payment_method.is_prepaid,
        )

    def allowed_actions(self) -> list[str]:
        return allowed_actions(
            self.lifecycle,
            self.payment,
            self.shipping,
            prepaid=self.payment_method.is_prepaid,
        )

    def _require_reason(self, reason: str, purpose: str = "") -> None:
        """A person's command that must say why (a cancellation, a refusal at
        the door, an after-sales application)."""
        if not reason or not reason.strip():
            suffix = f" {purpose}" if purpose else ""
            raise InvalidInput(f"order {self.order_no}: a reason is required{suffix}")

    def _check(self, action: str) -> None:
        why = self.why_not(action)
        if why is not None:
            raise IllegalTransition(
                self.order_no, self.status.value, action, why, self.allowed_actions()
            )

    # ---- commands --------------------------------------------------------

    def modify(
        self,
        *,
        lines: tuple[OrderLine, ...] | None = None,
        address: Mapping[str, str] | None = None,
        contact: str | None = None,
        phone: str | None = None,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> bool:
        """Change lines, address fields or contact; False when nothing changed.

        `address` may hold only the fields to change; the rest are kept.
        """
        self._check("modify")
        if self.personal_data_erased and (address or contact or phone):
            raise RuleViolation(
                f"order {self.order_no}: the customer's personal data was erased "
                "and cannot be written again"
            )
        changes = modification(
            current_lines=self._lines,
            current_address=self._address,
            current_customer=self._customer,
            shipping_fee=self.shipping_fee,
            lines=lines,
            address=address,
            contact=contact,
            phone=phone,
        )
        if not changes:
            return False
        self._modified(changes=changes, **_meta(actor, source, reason))
        return True

    def confirm(
        self,
        *,
        actor: str,
        source: Source,
        reason: str = "",
        short: Sequence[Shortage] = (),
        stock_known: bool = True,
        override_stock: str = "",
    ) -> None:
        """Confirm; `short`: the lines WDT cannot fill now (or, with
        `stock_known` False, WDT could not be asked). Then only an explicit
        override confirms, and it is recorded first, with its reason."""
        self._check("confirm")
        if short or not stock_known:
            if not override_stock.strip():
                raise StockShort(self.order_no, short)
            self._stock_overridden(
                [s.to_data() for s in short],
                stock_known,
                **_meta(actor, source, override_stock),
            )
        self._confirmed(**_meta(actor, source, reason))

    def check_confirmable(self) -> None:
        """Refused as `confirm` would be (before WDT is asked for stock)."""
        self._check("confirm")

    @event("StockShortageOverridden", topic="orderledger.order:StockOverridden.v1")
    def _stock_overridden(
        self,
        shortages: list[dict[str, Any]],
        stock_known: bool,
        actor: str,
        source: str,
        reason: str,
    ) -> None:
        pass  # a record of the decision; the confirmation follows

    def confirm_payment(
        self,
        amount: Decimal,
        *,
        reference: str = "",
        paid_at: datetime | None = None,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> None:
        """Record money that arrived, whatever the order's state: a fact, never
        refused (before confirmation, in part, too much, after a void). The
        payment axis and any refund due follow from the amounts
        (domain/payments.py). A cash-on-delivery order already received is
        completed by the payment that makes it paid in full. `paid_at` is when
        the money arrived (default now)."""
        amount = parse_money(amount, "payment amount")
        if amount <= 0 and self.total > 0:  # 0.00 confirms an order worth nothing
            raise InvalidInput("a payment amount must be more than 0.00")
        in_full = self.paid_amount + amount >= self.total
        completes = (
            not self.payment_method.is_prepaid
            and self.lifecycle is Lifecycle.CONFIRMED
            and self.shipping is Shipping.RECEIVED
            and in_full
        )
        self._payment_confirmed(
            amount=money_str(amount),
            reference=parse_text(reference, "payment reference", required=False),
            completes=completes,
            paid_at=paid_at or datetime.now(UTC),
            **_meta(actor, source, reason),
        )

    def ship(
        self, delivery: Delivery, *, actor: str, source: Source, reason: str = ""
    ) -> None:
        self._check("ship")
        self._shipped(
            delivery=delivery.to_data(),
            shipped_at=datetime.now(UTC),
            **_meta(actor, source, reason),
        )

    def confirm_receipt(self, *, actor: str, source: Source, reason: str = "") -> None:
        self._check("receive")
        self._receipt_confirmed(
            completes=self.payment_method.is_prepaid, **_meta(actor, source, reason)
        )

    def auto_receive(
        self, *, now: datetime, after: timedelta, shipped_at: datetime | None = None
    ) -> bool:
        """The receipt Chinese shops confirm for the customer (自动确认收货): a
        prepaid order shipped `after` ago or longer and still not received is
        received, so it completes and reaches U8. False when not due. Cash on
        delivery is left alone: its receipt is the carrier collecting the
        money (or a refusal at the door). `shipped_at` stands in for a
        shipment recorded before its event carried the time."""
        shipped_at = self.shipped_at or shipped_at
        due = (
            self.payment_method.is_prepaid
            and self.why_not("receive") is None
            and shipped_at is not None
            and now - shipped_at >= after
        )
        if due:
            days = after.total_seconds() / 86400
            self.confirm_receipt(
                actor=AUTO_RECEIVE_ACTOR,
                source=Source.OPS,
                reason=f"no receipt {days:g} day(s) after shipping: confirmed by "
                "the system",
            )
        return due

    def refuse(
        self, *, accept: object = None, actor: str, source: Source, reason: str
    ) -> None:
        """The carrier reports the parcel refused at the door (拒收), or
        accepted in part (`accept`: the lines kept, as after-sales claims name
        them). The refused goods go back to the warehouse; nothing kept voids
        the order (what was paid is owed back), otherwise it is received for
        the kept lines and worth only them: cash on delivery completes when
        they are paid, a prepaid order at once (the excess is owed back)."""
        if self.lifecycle is not Lifecycle.CONFIRMED or self.shipping is not (
            Shipping.SHIPPED
        ):
            raise RuleViolation(
                f"order {self.order_no} is {self.status.value}: only a shipped "
                "order not yet received can be refused at the door"
            )
        self._require_reason(reason)
        lines = self.lines
        accepted, refused = split_at_door(lines, accept, self.order_no)
        kept = kept_lines(lines, refused)
        total = lines_total(tuple(map(OrderLine.from_stored, kept)), self.shipping_fee)
        self._refused_at_door(
            accepted=accepted,
            refused=refused,
            kept_lines=kept,
            total=money_str(total),
            completes=bool(accepted) and self.paid_amount >= total,
            **_meta(actor, source, reason),
        )

    def observe_erp(
        self,
        *,
        wdt_code: int,
        steps: tuple[str, ...] = (),
        frozen: bool = False,
        intercepted: bool = False,
        logistics_no: str = "",
        logistics_name: str = "",
        reported_at: str,
        actor: str,
        source: Source = Source.ERP,
    ) -> bool:
        """Record what the ERP reports about this order; False (nothing
        recorded) when it reports the state it reported last time. Allowed in
        any status: the ERP may move first, or disagree."""
        observation: dict[str, Any] = {
            "wdt_code": int(wdt_code),
            "steps": list(steps),
            "frozen": bool(frozen),
            "intercepted": bool(intercepted),
            "logistics_no": parse_text(
                logistics_no, "logistics number", required=False
            ),
            "logistics_name": parse_text(logistics_name, "carrier", required=False),
        }
        if observation == self.erp_observed:
            return False
        self._erp_observed(
            observation=observation,
            erp_label=erp_label_for(int(wdt_code), tuple(steps), frozen=bool(frozen)),
            reported_at=parse_text(reported_at, "reported at", max_len=40),
            **_meta(actor, source, ""),
        )
        return True

    def erp_first_steps(self) -> tuple[str, ...]:
        """The website steps that would follow what the ERP did first."""
        if self._erp is None:
            return ()
        return erp_first_steps(
            self.status,
            prepaid=self.payment_method.is_prepaid,
            payment=self.payment,
            observed=Observed(
                wdt_code=self._erp["wdt_code"],
                frozen=self._erp["frozen"],
                intercepted=self._erp["intercepted"],
                logistics_no=self._erp["logistics_no"],
                logistics_name=self._erp["logistics_name"],
            ),
        )

    def follow_erp(
        self, allowed: Collection[str], *, actor: str, source: Source = Source.ERP
    ) -> list[str]:
        """Take the website steps that follow the ERP's last reported state,
        in order, as long as each is `allowed`; the steps taken."""
        taken: list[str] = []
        erp = self._erp or {}
        code = erp.get("wdt_code")
        for step in self.erp_first_steps():
            if step not in allowed:
                break
            if step == "review":
                self.confirm(
                    actor=actor, source=source, reason=f"reviewed in the ERP ({code})"
                )
            elif step == "ship":
                carrier = erp["logistics_name"] or "WDT"
                self.ship(
                    Delivery(carrier=carrier, tracking_no=erp["logistics_no"]),
                    actor=actor,
                    source=source,
                    reason=f"shipped by the ERP ({code})",
                )
            elif step == "receive":
                self.confirm_receipt(
                    actor=actor, source=source, reason=f"signed for in the ERP ({code})"
                )
            else:
                self.cancel(
                    actor=actor, source=source, reason=f"cancelled in the ERP ({code})"
                )
            taken.append(step)
        return taken

    def record_reveal(
        self, *, fields: Collection[str], actor: str, source: Source, reason: str = ""
    ) -> None:
        """Someone was shown the order's personal data unmasked (the
        auditor's console): who saw what, and when, is part of its history."""
        shown = sorted(set(fields))
        if not shown or not set(shown) <= REVEALABLE:
            raise InvalidInput(
                f"reveal one or more of {', '.join(sorted(REVEALABLE))}, not {shown}"
            )
        self._personal_data_revealed(fields=shown, **_meta(actor, source, reason))

    @property
    def personal_data_erased(self) -> bool:
        return self._customer.get("phone") == ERASED

    @property
    def in_progress(self) -> bool:
        """Still being fulfilled or serviced: not voided, and not completed
        with every after-sales case settled."""
        if self.lifecycle is Lifecycle.VOIDED:
            return False
        settled = (CaseState.REJECTED.value, CaseState.CLOSED.value)
        open_case = any(c["state"] not in settled for c in self.cases.values())
        return self.lifecycle is not Lifecycle.COMPLETED or open_case

    def erase_personal_data(
        self, *, actor: str, source: Source, reason: str, force: bool = False
    ) -> bool:
        """The customer asked to be forgotten (PIPL): from this event on the
        order's personal fields read as [erased]. An order still in progress
        needs `force`, which the event records. False when already erased."""
        if self.personal_data_erased:
            return False
        self._require_reason(reason, "to erase a customer's personal data")
        if self.in_progress and not force:
            raise RuleViolation(
                f"order {self.order_no} is still in progress "
                f"({self.status.value}): erase it with --force, or when it is "
                "completed or voided"
            )
        self._personal_data_erased(
            forced=self.in_progress, **_meta(actor, source, reason)
        )
        return True

    def request_erp_resync(
        self, *, mismatch: str, detail: str, actor: str, source: Source = Source.OPS
    ) -> None:
        """Record that the order's messages to the ERP are being sent again."""
        self._erp_resync_requested(
            mismatch=parse_text(mismatch, "mismatch", max_len=32),
            detail=parse_text(detail, "detail", required=False, max_len=500),
            **_meta(actor, source, ""),
        )

    def request_intercept(
        self, *, detail: str, actor: str, source: Source = Source.OPS
    ) -> None:
        """Ask the ERP again to stop a voided order it has already reviewed
        (the close is pushed once more; WDT intercepts it for a person)."""
        if self.lifecycle is not Lifecycle.VOIDED:
            raise RuleViolation(
                f"order {self.order_no}: only a voided order can be intercepted"
            )
        self._erp_intercept_requested(
            detail=parse_text(detail, "detail", required=False, max_len=500),
            **_meta(actor, source, ""),
        )

    def open_task(
        self,
        *,
        kind: str,
        mismatch: str,
        detail: str,
        actor: str,
        source: Source = Source.OPS,
    ) -> bool:
        """Leave the order to a person; False when the same task is open.

        One task at a time: a different one replaces (closes) the open one.
        """
        task = {
            "kind": parse_text(kind, "task kind", max_len=32),
            "mismatch": parse_text(mismatch, "mismatch", max_len=32),
            "detail": parse_text(detail, "detail", max_len=500),
        }
        current = self._task
        if current is not None and current["kind"] == task["kind"]:
            return False
        if current is not None:
            self.close_task(resolution=f"replaced by {task['kind']}", actor=actor)
        self._task_opened(**task, **_meta(actor, source, ""))
        return True

    def close_task(
        self, *, resolution: str, actor: str, source: Source = Source.OPS
    ) -> bool:
        """Close the open task; False when none is open."""
        if self._task is None:
            return False
        self._task_closed(
            kind=self._task["kind"],
            resolution=parse_text(resolution, "resolution", max_len=500),
            **_meta(actor, source, ""),
        )
        return True

    def observe_shipment(
        self, *, logistics_no: str, logistics_name: str, reported_at: str, actor: str
    ) -> bool:
        """What the ERP's logistics data says: shipped (95 at least) with this
        carrier and tracking number; the rest of the last observation stands."""
        last = self.erp_observed or {}
        return self.observe_erp(
            wdt_code=max(int(last.get("wdt_code", 0)), 95),
            steps=tuple(last.get("steps", ())),
            frozen=bool(last.get("frozen", False)),
            intercepted=bool(last.get("intercepted", False)),
            logistics_no=logistics_no,
            logistics_name=logistics_name,
            reported_at=reported_at,
            actor=actor,
        )

    # ---- after-sales ------------------------------------------------------

    def apply_after_sales(
        self,
        *,
        kind: CaseKind,
        items: object,
        actor: str,
        source: Source,
        reason: str,
    ) -> str:
        """The customer applies for a return or an exchange; the new case id."""
        if self.lifecycle is Lifecycle.VOIDED or self.shipping is Shipping.NOT_SHIPPED:
            raise RuleViolation(
                f"order {self.order_no} is {self.status.value}: only delivered goods "
                "(已发货, 已收货, 已完成) can be returned or exchanged"
            )
        self._require_reason(reason)
        lines = self.lines
        claim = parse_claim(lines, items, "after-sales lines")
        check_claimable(
            lines,
            self._cases or {},
            claim,
            self.order_no,
            refused=refused_quantities(self._refused),
        )
        case_id = f"AS{len(self._cases or {}) + 1}"
        self._after_sales_applied(
            case_id=case_id,
            kind=kind.value,
            lines=[_claim_data(lines, c) for c in claim],
            **_meta(actor, source, reason),
        )
        return case_id

    def review_after_sales(
        self, case_id: str, *, approve: bool, actor: str, source: Source, reason: str
    ) -> None:
        self._case_in(case_id, CaseState.APPLIED, "review")
        if not approve and (not reason or not reason.strip()):
            raise InvalidInput(f"case {case_id}: a rejection needs a reason")
        self._after_sales_reviewed(
            case_id=case_id, approved=approve, **_meta(actor, source, reason)
        )

    def receive_after_sales(
        self,
        case_id: str,
        *,
        accepted: object,
        rejected: object,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> None:
        """The warehouse received the goods and inspected every one of them:
        per line, how many it accepts and how many it rejects."""
        case = self._case_in(case_id, CaseState.APPROVED, "receive")
        lines = self.lines
        good, bad = inspection(lines, case, case_id, accepted, rejected)
        accepted_data = [_claim_data(lines, c) for c in good]
        self._after_sales_received(
            case_id=case_id,
            accepted=accepted_data,
            rejected=[_claim_data(lines, c) for c in bad],
            refund_owed=money_str(
                claim_value(lines, accepted_data)
                if case["kind"] == CaseKind.RETURN.value
                else Decimal("0")
            ),
            **_meta(actor, source, reason),
        )

    def ship_exchange(
        self,
        case_id: str,
        delivery: Delivery,
        *,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> None:
        """The replacement goods of an exchange leave the warehouse."""
        case = self._case_in(case_id, CaseState.RECEIVED, "ship the exchange")
        if case["kind"] != CaseKind.EXCHANGE.value:
            raise RuleViolation(f"case {case_id} is a return: it is refunded")
        self._exchange_shipped(
            case_id=case_id,
            delivery=delivery.to_data(),
            lines=list(case["accepted"]),
            **_meta(actor, source, reason),
        )

    def observe_replacement_shipment(
        self, case_id: str, *, logistics_no: str, logistics_name: str, actor: str
    ) -> bool:
        """WDT shipped an exchange's replacement trade (`NO-EX1`): the website
        follows, as it does for an order WDT ships. False when the case has
        already shipped (reported twice, or the website shipped it first)."""
        case = (self._cases or {}).get(case_id)
        if case is not None and case["state"] == CaseState.CLOSED.value:
            return False
        self.ship_exchange(
            case_id,
            Delivery(carrier=logistics_name or "WDT", tracking_no=logistics_no),
            actor=actor,
            source=Source.ERP,
            reason=f"shipped by the ERP ({replacement_tid(self.order_no, case_id)})",
        )
        return True

    def refund(
        self,
        amount: Decimal,
        *,
        case_id: str | None = None,
        reference: str = "",
        override: bool = False,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> str:
        """Money back: for a received return case, or what a cancellation
        after payment owes (no case). Partial refunds add up; never more than
        was paid and not yet refunded, and never more than the case still
        owes (the accepted goods' value) unless `override`, with a reason,
        which is recorded (a shop's goodwill, the shipping fee of a faulty
        item). The refund's id."""
        amount = parse_money(amount, "refund amount")
        if amount <= 0:
            raise InvalidInput("the refund amount must be more than 0.00")
        case: dict[str, Any] = {}
        if case_id is not None:
            case = self._case_in(case_id, CaseState.RECEIVED, "refund")
            if case["kind"] != CaseKind.RETURN.value:
                raise RuleViolation(
                    f"case {case_id} is an exchange: the replacement ships, "
                    "nothing is refunded"
                )
            owed = Decimal(case["refund_owed"]) - Decimal(case["refunded"])
            if override and not reason.strip():
                raise InvalidInput(
                    f"case {case_id}: a refund beyond what the case owes needs a "
                    "reason (--reason), which is recorded"
                )
            if amount > owed and not override:
                raise RuleViolation(
                    f"order {self.order_no}: refund {money_str(amount)} is more than "
                    f"case {case_id} still owes ({money_str(owed)}, the accepted "
                    "goods); to refund more on purpose, give --override and --reason"
                )
        else:
            owed_back = self.refund_due - self.order_refunded
            if owed_back <= 0:
                raise RuleViolation(
                    f"order {self.order_no}: a refund needs a received return case "
                    "(return refund NO CASE), or money the order owes back (a "
                    "cancellation after payment, or more paid than the total)"
                )
            if amount > owed_back:
                raise RuleViolation(
                    f"order {self.order_no}: refund {money_str(amount)} is more "
                    f"than the order owes back ({money_str(owed_back)})"
                )
        available = self.paid_amount - self.refunded_amount
        if amount > available:
            raise RuleViolation(
                f"order {self.order_no}: refund {money_str(amount)} is more than "
                f"paid and not yet refunded ({money_str(available)})"
            )
        refund_id = f"RF{len(self._refunds) + 1}"
        closes_case = case_id is not None and Decimal(case["refunded"]) + amount >= (
            Decimal(case["refund_owed"])
        )
        self._refund_issued(
            refund_id=refund_id,
            case_id=case_id or "",
            amount=money_str(amount),
            closes_case=closes_case,
            reference=parse_text(reference, "refund reference", required=False),
            override=override,
            refunded_at=datetime.now(UTC),
            **_meta(actor, source, reason),
        )
        return refund_id

    def _case_in(self, case_id: str, state: CaseState, action: str) -> dict[str, Any]:
        case = (self._cases or {}).get(case_id)
        if case is None:
            known = ", ".join(self._cases or {}) or "none"
            raise InvalidInput(
                f"order {self.order_no} has no after-sales case {case_id!r} "
                f"(cases: {known})"
            )
        current = CaseState(case["state"])
        if current is not state:
            raise RuleViolation(
                f"order {self.order_no}: case {case_id} is {current.label} "
                f"({current.value}): {action} needs a case that is {state.label} "
                f"({state.value})"
            )
        return case

    def cancel(self, *, actor: str, source: Source, reason: str) -> None:
        self._check("cancel")
        self._require_reason(reason, "to cancel")
        self._cancelled(
            refund_due=money_str(self.paid_amount),
            **_meta(actor, source, reason),
        )

    # ---- events: record only, no checks -----------------------------------

    @event("Modified", topic="orderledger.order:Modified.v1")
    def _modified(
        self, changes: dict[str, dict[str, Any]], actor: str, source: str, reason: str
    ) -> None:
        if "lines" in changes:
            self._lines = [dict(d) for d in changes["lines"]["after"]]
            self._settle_payment()  # the total changed under any payment
        if "address" in changes:
            self._address = dict(changes["address"]["after"])
        if "contact" in changes:
            self._customer = {**self._customer, **changes["contact"]["after"]}

    @event("Confirmed", topic="orderledger.order:Confirmed.v1")
    def _confirmed(self, actor: str, source: str, reason: str) -> None:
        self._lifecycle = Lifecycle.CONFIRMED.value

    @event("PaymentConfirmed", topic="orderledger.order:PaymentConfirmed.v1")
    def _payment_confirmed(
        self,
        amount: str,
        reference: str,
        completes: bool,
        actor: str,
        source: str,
        reason: str,
        paid_at: datetime | None = None,  # absent from the earliest events
    ) -> None:
        self.paid_amount += Decimal(amount)
        self.paid_at = paid_at
        if completes:
            self._lifecycle = Lifecycle.COMPLETED.value
        self._settle_payment()

    @event("Shipped", topic="orderledger.order:Shipped.v1")
    def _shipped(
        self,
        delivery: dict[str, str],
        actor: str,
        source: str,
        reason: str,
        shipped_at: datetime | None = None,  # absent from the earliest events
    ) -> None:
        self._shipping = Shipping.SHIPPED.value
        self._delivery = dict(delivery)
        self.shipped_at = shipped_at

    @event("ReceiptConfirmed", topic="orderledger.order:ReceiptConfirmed.v1")
    def _receipt_confirmed(
        self, completes: bool, actor: str, source: str, reason: str
    ) -> None:
        self._shipping = Shipping.RECEIVED.value
        if completes:
            self._lifecycle = Lifecycle.COMPLETED.value

    @event("Cancelled", topic="orderledger.order:Cancelled.v1")
    def _cancelled(self, refund_due: str, actor: str, source: str, reason: str) -> None:
        self._lifecycle = Lifecycle.VOIDED.value
        self._settle_payment()  # owes back all it was paid (`refund_due` then)

    @event("RefusedAtDoor", topic="orderledger.order:RefusedAtDoor.v1")
    def _refused_at_door(
        self,
        accepted: list[dict[str, Any]],
        refused: list[dict[str, Any]],
        kept_lines: list[dict[str, Any]],  # for the views: what was sold
        total: str,
        completes: bool,
        actor: str,
        source: str,
        reason: str,
    ) -> None:
        self._refused = tuple(dict(r) for r in refused)
        if accepted:
            self._shipping = Shipping.RECEIVED.value
            if completes:
                self._lifecycle = Lifecycle.COMPLETED.value
        else:
            self._lifecycle = Lifecycle.VOIDED.value
        self._settle_payment()

    def _settle_payment(self) -> None:
        """The payment axis and the refund due, from the amounts."""
        payment, due = payment_position(
            paid=self.paid_amount,
            total=self.total,
            refunded=self.order_refunded,
            voided=self.lifecycle is Lifecycle.VOIDED,
        )
        self._payment, self.refund_due = payment.value, due

    @event("ErpStatusObserved", topic="orderledger.order:ErpStatusObserved.v1")
    def _erp_observed(
        self,
        observation: dict[str, Any],
        erp_label: str,
        reported_at: str,
        actor: str,
        source: str,
        reason: str,
    ) -> None:
        self._erp = {**observation, "erp_label": erp_label, "reported_at": reported_at}

    @event("ErpResyncRequested", topic="orderledger.order:ErpResyncRequested.v1")
    def _erp_resync_requested(
        self, mismatch: str, detail: str, actor: str, source: str, reason: str
    ) -> None:
        pass

    @event("PersonalDataRevealed", topic="orderledger.order:PersonalDataRevealed.v1")
    def _personal_data_revealed(
        self, fields: list[str], actor: str, source: str, reason: str
    ) -> None:
        pass

    @event("PersonalDataErased", topic="orderledger.order:PersonalDataErased.v1")
    def _personal_data_erased(
        self, forced: bool, actor: str, source: str, reason: str
    ) -> None:
        erase_personal(self._customer)
        erase_personal(self._address)

    @event("ErpInterceptRequested", topic="orderledger.order:ErpInterceptRequested.v1")
    def _erp_intercept_requested(
        self, detail: str, actor: str, source: str, reason: str
    ) -> None:
        pass

    @event("TaskOpened", topic="orderledger.order:TaskOpened.v1")
    def _task_opened(
        self,
        kind: str,
        mismatch: str,
        detail: str,
        actor: str,
        source: str,
        reason: str,
    ) -> None:
        self._task = {"kind": kind, "mismatch": mismatch, "detail": detail}

    @event("TaskClosed", topic="orderledger.order:TaskClosed.v1")
    def _task_closed(
        self, kind: str, resolution: str, actor: str, source: str, reason: str
    ) -> None:
        self._task = None

    @event("AfterSalesApplied", topic="orderledger.order:AfterSalesApplied.v1")
    def _after_sales_applied(
        self,
        case_id: str,
        kind: str,
        lines: list[dict[str, Any]],
        actor: str,
        source: str,
        reason: str,
    ) -> None:
        self._fold_case(
            "AfterSalesApplied",
            {"case_id": case_id, "kind": kind, "lines": lines, "reason": reason},
        )

    @event("AfterSalesReviewed", topic="orderledger.order:AfterSalesReviewed.v1")
    def _after_sales_reviewed(
        self, case_id: str, approved: bool, actor: str, source: str, reason: str
    ) -> None:
        self._fold_case(
            "AfterSalesReviewed", {"case_id": case_id, "approved": approved}
        )

    @event("AfterSalesReceived", topic="orderledger.order:AfterSalesReceived.v1")
    def _after_sales_received(
        self,
        case_id: str,
        accepted: list[dict[str, Any]],
        rejected: list[dict[str, Any]],
        refund_owed: str,
        actor: str,
        source: str,
        reason: str,
    ) -> None:
        self._fold_case(
            "AfterSalesReceived",
            {
                "case_id": case_id,
                "accepted": accepted,
                "rejected": rejected,
                "refund_owed": refund_owed,
            },
        )

    @event("ExchangeShipped", topic="orderledger.order:ExchangeShipped.v1")
    def _exchange_shipped(
        self,
        case_id: str,
        delivery: dict[str, str],
        lines: list[dict[str, Any]],
        actor: str,
        source: str,
        reason: str,
    ) -> None:
        self._fold_case("ExchangeShipped", {"case_id": case_id, "delivery": delivery})

    @event("RefundIssued", topic="orderledger.order:RefundIssued.v1")
    def _refund_issued(
        self,
        refund_id: str,
        case_id: str,
        amount: str,
        closes_case: bool,
        reference: str,
        actor: str,
        source: str,
        reason: str,
        override: bool = False,  # absent from events before it existed
        refunded_at: datetime | None = None,  # likewise
    ) -> None:
        self._refunds = (
            *self._refunds,
            {
                "refund_id": refund_id,
                "case_id": case_id,
                "amount": amount,
                "reason": reason,
                # when the money went back: the credit note's own date
                "at": "" if refunded_at is None else refunded_at.isoformat(),
            },
        )
        self.refunded_amount += Decimal(amount)
        self._fold_case(
            "RefundIssued",
            {"case_id": case_id, "amount": amount, "closes_case": closes_case},
        )
        self._settle_payment()

    def _fold_case(self, event_type: str, data: dict[str, Any]) -> None:
        self._cases = fold_case(self._cases or {}, event_type, data)


def _claim_data(lines: tuple[OrderLine, ...], claim: ClaimLine) -> dict[str, Any]:
    return {**claim.to_data(), "sku": lines[claim.line - 1].sku}


def _meta(actor: str, source: Source, reason: str) -> dict[str, str]:
    return {
        "actor": parse_text(actor, "actor", max_len=64),
        "source": Source.parse(source).value,
        "reason": parse_text(reason, "reason", required=False, max_len=500),
    }


def new_order(
    *,
    order_no: str,
    ordered_at: datetime,
    customer: Customer,
    lines: tuple[OrderLine, ...],
    payment_method: PaymentMethod,
    address: Address,
    shipping_fee: Decimal,
    actor: str,
    source: Source,
    reason: str = "",
) -> Order:
    lines = validated(lines)
    fee = parse_money(shipping_fee, "shipping fee")
    check_total(lines, fee)
    return Order(
        order_no=order_no,
        ordered_at=check_order_time(ordered_at, "ordered_at"),
        customer=customer.to_data(),
        lines=[line.to_data() for line in lines],
        payment_method=payment_method.value,
        address=address.to_data(),
        shipping_fee=money_str(fee),
        **_meta(actor, source, reason),
    )
