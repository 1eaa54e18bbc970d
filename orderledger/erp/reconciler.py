"""Reconciliation: replay the log, compare each order with what the ERP last
reported, classify every difference and (with `apply`) take its one
corrective action, recorded with actor `reconcile`.

The comparison reads nothing but the log (the ERP-status fold, replayed in
memory order by order) and, for context, the outbox's delivery rows; the
rules are the domain's (`domain/reconcile.py`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from orderledger.application import OrderLedger
from orderledger.config import ReconcileSettings
from orderledger.domain.errors import (
    ConcurrencyConflict,
    InvalidInput,
    OrderNotFound,
    RuleViolation,
    first_line,
)
from orderledger.domain.order import order_id
from orderledger.domain.reconcile import (
    TASK_KINDS,
    Action,
    Finding,
    Mismatch,
    Observed,
    OrderFacts,
    classify,
    plan,
)
from orderledger.domain.status import Payment, Shipping, WebsiteStatus
from orderledger.domain.values import PaymentMethod
from orderledger.outbox.messages import WDT
from orderledger.outbox.relay import RESYNC_EVENT
from orderledger.outbox.store import ACKED, BLOCKING, DeliveryStore
from orderledger.projections.definitions import ErpStatus
from orderledger.projections.fold import Row
from orderledger.projections.replay import replay_rows
from orderledger.projections.store import ProjectionStore

ACTOR = "reconcile"


@dataclass
class ReconcileLine:
    """One order that is not simply in sync, and what is (or was) done."""

    order_no: str
    status: str
    payment: str
    expected_erp_label: str
    expected_wdt_codes: str
    observed_wdt_code: int | None
    observed_erp_label: str | None
    observed_at: str | None
    mismatch: str | None  # a Mismatch value; None: in sync, a task to close
    within_sla: bool | None
    action: str
    steps: list[str]
    detail: str
    outcome: str = ""  # with apply: what was done, or why it failed
    # How long since the website last changed what the ERP should show.
    age_minutes: float = 0.0


@dataclass
class ReconcileReport:
    checked: int = 0
    in_sync: int = 0
    applied: bool = False
    sla_minutes: float = 0.0
    counts: dict[str, int] = field(
        default_factory=lambda: {m.value: 0 for m in Mismatch}
    )
    actions: dict[str, int] = field(default_factory=dict)
    orders: list[ReconcileLine] = field(default_factory=list)
    open_tasks: list[dict[str, Any]] = field(default_factory=list)
    failed: int = 0

    def to_data(self) -> dict[str, Any]:
        return asdict(self)


class Reconciler:
    def __init__(
        self,
        ledger: OrderLedger,
        store: ProjectionStore,
        deliveries: DeliveryStore,
        settings: ReconcileSettings,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger, self.store, self.deliveries = ledger, store, deliveries
        self.settings = settings
        self.now = now

    def run(
        self, *, order_no: str | None = None, apply: bool = False
    ) -> ReconcileReport:
        report = ReconcileReport(
            applied=apply, sla_minutes=self.settings.sla.total_seconds() / 60
        )
        originator = None if order_no is None else order_id(order_no)
        actions: Counter[str] = Counter()
        now = self.now()
        for row in replay_rows(self.store, ErpStatus(), originator=originator):
            report.checked += 1
            facts = _facts(row, self._resync_answered(row))
            finding = classify(facts, now=now, sla=self.settings.sla)
            action = plan(facts, finding, dict(self.settings.modes))
            if finding.mismatch is None:
                report.in_sync += 1
            else:
                report.counts[finding.mismatch.value] += 1
            task = _task(row)
            if finding.mismatch is None and action is Action.NONE:
                continue
            actions[action.value] += 1
            line = self._line(row, finding, action)
            line.age_minutes = round((now - facts.changed_at).total_seconds() / 60, 1)
            if apply and action not in (Action.NONE, Action.WAIT):
                line.outcome = self._apply(line, finding, action)
                if line.outcome.startswith("failed"):
                    report.failed += 1
                elif action is Action.CLOSE_TASK:
                    task = None
                elif action in TASK_KINDS:
                    task = {
                        "order_no": line.order_no,
                        "kind": TASK_KINDS[action],
                        "detail": line.detail,
                        "since": now.isoformat(),
                    }
            report.orders.append(line)
            if task is not None:
                report.open_tasks.append(task)
        if order_no is not None and report.checked == 0:
            raise OrderNotFound(f"order {order_no} not found")
        report.actions = dict(sorted(actions.items()))
        return report

    # ---- one order -----------------------------------------------------------

    def _line(self, row: Row, finding: Finding, action: Action) -> ReconcileLine:
        detail = finding.detail
        if finding.mismatch in (Mismatch.MISSING_IN_ERP, Mismatch.ERP_BEHIND):
            detail += f"; {self._outbox_detail(row['order_key'])}"
        if finding.mismatch is None:
            detail = f"in sync again: the {row['open_task']} task can be closed"
        return ReconcileLine(
            order_no=row["order_no"],
            status=row["status"],
            payment=row["payment_method"],
            expected_erp_label=row["expected_erp_label"],
            expected_wdt_codes=row["expected_wdt_codes"],
            observed_wdt_code=row["observed_wdt_code"],
            observed_erp_label=row["observed_erp_label"],
            observed_at=row["observed_at"],
            mismatch=None if finding.mismatch is None else finding.mismatch.value,
            within_sla=finding.within_sla,
            action=action.value,
            steps=list(finding.steps),
            detail=detail,
        )

    def _resync_answered(self, row: Row) -> bool:
        """Whether the order's re-push reached WDT and was answered (taken,
        rejected or given up on), not still on its way."""
        if row["resynced_for"] is None:
            return False
        last = self.deliveries.last_message(WDT, row["order_key"])
        return (
            last is not None
            and last["event_type"] == RESYNC_EVENT
            and last["state"] in (ACKED, *BLOCKING)
        )

    def _outbox_detail(self, order_key: str) -> str:
        last = self.deliveries.last_message(WDT, order_key)
        if last is None:
            return "no WDT message queued yet (is `outbox run` running?)"
        what = f"last WDT push ({last['event_type']} v{last['version']})"
        if last["state"] == "acknowledged":
            return f"{what} acknowledged; run `erp poll` to read the ERP back"
        error = f", last error: {last['last_error']}" if last["last_error"] else ""
        return f"{what} {last['state']} after {last['attempts']} attempt(s){error}"

    def _apply(self, line: ReconcileLine, finding: Finding, action: Action) -> str:
        no, mismatch = line.order_no, line.mismatch or ""
        try:
            match action:
                case Action.REPUSH:
                    # The resync event itself sends the trade as it is now,
                    # once (never its history again: WDT would be told
                    # "unpaid" about a paid order on the way).
                    self.ledger.request_erp_resync(
                        no, mismatch=mismatch, detail=line.detail, actor=ACTOR
                    )
                    return "re-pushed: the current trade goes to WDT once"
                case Action.APPLY:
                    taken = self.ledger.follow_erp(no, finding.steps, actor=ACTOR)
                    return f"website followed the ERP: {', '.join(taken)}"
                case Action.TASK:
                    self.ledger.open_task(
                        no,
                        kind=TASK_KINDS[action],
                        mismatch=mismatch,
                        detail=f"{finding.detail}: take the website step(s) "
                        f"{', '.join(finding.steps)} once checked",
                        actor=ACTOR,
                    )
                    return "task opened for a person"
                case Action.INTERCEPT:
                    self.ledger.request_intercept(no, detail=line.detail, actor=ACTOR)
                    return "intercept requested (close pushed again); task opened"
                case Action.ESCALATE | Action.CHASE:
                    self.ledger.open_task(
                        no,
                        kind=TASK_KINDS[action],
                        mismatch=mismatch,
                        detail=line.detail,
                        actor=ACTOR,
                    )
                    return "escalated: task opened for a person"
                case Action.CLOSE_TASK:
                    self.ledger.close_task(
                        no, resolution="in sync with the ERP", actor=ACTOR
                    )
                    return "task closed"
        except (RuleViolation, InvalidInput, ConcurrencyConflict) as error:
            return f"failed: {first_line(error)}"
        return ""


def _task(row: Row) -> dict[str, Any] | None:
    if row["open_task"] is None:
        return None
    return {
        "order_no": row["order_no"],
        "kind": row["open_task"],
        "detail": row["open_task_detail"],
        "since": row["open_task_since"],
    }


def _facts(row: Row, resync_answered: bool) -> OrderFacts:
    observed = None
    if row["observed_json"] is not None:
        data = json.loads(row["observed_json"])
        observed = Observed(
            wdt_code=int(data["wdt_code"]),
            frozen=bool(data["frozen"]),
            intercepted=bool(data["intercepted"]),
            logistics_no=data["logistics_no"],
            logistics_name=data["logistics_name"],
        )
    return OrderFacts(
        order_no=row["order_no"],
        status=WebsiteStatus(row["status"]),
        prepaid=PaymentMethod(row["payment_method"]).is_prepaid,
        payment=Payment(row["payment_status"]),
        observed=observed,
        changed_at=datetime.fromisoformat(row["expected_since"]),
        open_task=row["open_task"],
        resynced_for=row["resynced_for"],
        # resynced_for is set only while the re-push is the latest event
        resynced_at=(
            datetime.fromisoformat(row["updated_at"]) if row["resynced_for"] else None
        ),
        resync_answered=resync_answered,
        shipped=row["shipping_status"] != Shipping.NOT_SHIPPED.value,
    )
