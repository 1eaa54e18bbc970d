"""Reconciliation as pure rules: the website's state against the ERP's.

`classify` names what kind of difference an order shows (VOCABULARY.md §5
explains the expected ones away); `plan` picks the one corrective action for
it, given the configured ERP-first modes and what was already done, so that
running reconciliation twice does nothing new the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from orderledger.domain.erp_mapping import expected_erp
from orderledger.domain.status import Payment, WebsiteStatus
from orderledger.domain.wdt_status import (
    cancellable_by_push,
    cancelled,
    reviewed,
    shipped,
    signed_for,
)


class Mismatch(StrEnum):
    MISSING_IN_ERP = "missing_in_erp"
    ERP_BEHIND = "erp_behind"
    ERP_AHEAD = "erp_ahead"
    CANCEL_BLOCKED = "cancel_blocked"
    UNKNOWN = "unknown"


class Action(StrEnum):
    NONE = "none"  # in sync, or the corrective action was already taken
    WAIT = "wait"  # ERP behind but inside the SLA
    REPUSH = "repush"  # targeted outbox replay of the order's ERP messages
    APPLY = "apply"  # the ERP-first website step(s)
    TASK = "task"  # an ERP-first step configured to wait for a person
    INTERCEPT = "intercept"  # push the close again and open a task
    ESCALATE = "escalate"  # open an escalation task
    CHASE = "chase"  # re-pushed, still behind past the SLA: a person chases it
    CLOSE_TASK = "close_task"  # in sync again: the open task is settled


class TaskKind(StrEnum):
    """The tasks left for a person on an order (one open at a time)."""

    INTERCEPT = "intercept"  # voided here, reviewed in WDT: reject it there
    ESCALATION = "escalation"  # a difference no rule explains
    ERP_FIRST_STEP = "erp_first_step"  # a step WDT took first, for a person
    ERP_BEHIND = "erp_behind"  # re-pushed, and the ERP still has not followed


# The actions that leave a task for a person, and the task's kind.
TASK_KINDS = {
    Action.TASK: TaskKind.ERP_FIRST_STEP,
    Action.INTERCEPT: TaskKind.INTERCEPT,
    Action.ESCALATE: TaskKind.ESCALATION,
    Action.CHASE: TaskKind.ERP_BEHIND,
}


class StepMode(StrEnum):
    AUTO = "auto"  # `erp poll` applies it as soon as it sees it
    RECONCILE = "reconcile"  # `reconcile --apply` applies it
    PERSON = "person"  # `reconcile --apply` opens a task for a person


# The website steps that can follow the ERP, in the order they apply.
ERP_FIRST_STEPS = ("review", "ship", "receive", "cancel")
# By default the website follows every step WDT takes first (the seed, 6. 取消
# 订单: "或: erp取消该订单"; a signature WDT reports is the customer's receipt):
# a cancellation voids the order (a refund due is recorded if it was paid),
# a receipt completes a prepaid order so it reaches U8. A shop that wants a
# person to look first sets that step to `person` (or `reconcile`).
DEFAULT_MODES: dict[str, StepMode] = {
    "review": StepMode.AUTO,
    "ship": StepMode.AUTO,
    "receive": StepMode.AUTO,
    "cancel": StepMode.AUTO,
}

_NOT_SHIPPED = (WebsiteStatus.UNCONFIRMED, WebsiteStatus.CONFIRMED, WebsiteStatus.PAID)


@dataclass(frozen=True)
class Observed:
    """The ERP's last reported state of an order."""

    wdt_code: int
    frozen: bool = False
    intercepted: bool = False
    logistics_no: str = ""
    logistics_name: str = ""


@dataclass(frozen=True)
class OrderFacts:
    """What reconciliation knows of one order, all replayed from the log."""

    order_no: str
    status: WebsiteStatus
    prepaid: bool
    payment: Payment
    observed: Observed | None
    # When the website last changed what the ERP should show.
    changed_at: datetime
    open_task: str | None = None  # the open task's kind
    # The order's latest event was reconciliation's re-push for this class:
    # nothing has happened since, so pushing again would only add noise.
    resynced_for: str | None = None
    resynced_at: datetime | None = None  # when that re-push was recorded
    # That re-push went out and WDT answered it (took it or rejected it): only
    # then can the ERP be said to have been given its chance.
    resync_answered: bool = False
    shipped: bool = False  # the goods left: a void since is a refusal at the door


@dataclass(frozen=True)
class Finding:
    mismatch: Mismatch | None  # None: in sync
    detail: str
    steps: tuple[str, ...] = ()  # the ERP-first website steps (erp_ahead)
    within_sla: bool | None = None  # for erp_behind
    # Re-pushed for this very difference, and still not followed past the SLA.
    repushed_in_vain: bool = False


def erp_first_steps(
    status: WebsiteStatus, *, prepaid: bool, payment: Payment, observed: Observed
) -> tuple[str, ...]:
    """The website steps that make the website follow what the ERP did first;
    () when no website step can (the difference is then unexplained)."""
    code = observed.wdt_code
    if cancelled(code):
        return ("cancel",) if status in _NOT_SHIPPED else ()
    review = ("review",) if status is WebsiteStatus.UNCONFIRMED else ()
    if reviewed(code):
        return review
    if shipped(code) and status in _NOT_SHIPPED:
        unpaid_prepaid = prepaid and payment is not Payment.PAID
        if unpaid_prepaid or not observed.logistics_no:
            return ()  # the website cannot ship it: unpaid, or no tracking number
        return (*review, "ship")
    if signed_for(code) and status is WebsiteStatus.SHIPPED:
        return ("receive",)
    return ()


def classify(facts: OrderFacts, *, now: datetime, sla: timedelta) -> Finding:
    """The difference between what the ERP should show and what it showed
    last, if any. A difference reconciliation already re-pushed for, that
    still stands past the SLA after the re-push, is marked so: it goes to a
    person instead of staying behind for ever."""
    finding = _difference(facts, now=now, sla=sla)
    if (
        finding.mismatch in (Mismatch.MISSING_IN_ERP, Mismatch.ERP_BEHIND)
        and facts.resynced_for == finding.mismatch
        and facts.resync_answered
        and facts.resynced_at is not None
        and now - facts.resynced_at > sla
    ):
        minutes = (now - facts.resynced_at).total_seconds() / 60
        return replace(
            finding,
            detail=f"{finding.detail}; re-pushed {minutes:.0f} min ago, still behind",
            repushed_in_vain=True,
        )
    return finding


def _difference(facts: OrderFacts, *, now: datetime, sla: timedelta) -> Finding:
    expected = expected_erp(
        facts.status,
        prepaid=facts.prepaid,
        payment=facts.payment,
        shipped=facts.shipped,
    )
    late = now - facts.changed_at > sla
    observed = facts.observed
    if observed is None:
        if late:
            return Finding(Mismatch.MISSING_IN_ERP, "the ERP has never reported it")
        return Finding(Mismatch.ERP_BEHIND, "not yet seen in the ERP", within_sla=True)
    code = observed.wdt_code
    if code in expected.wdt_codes:
        return Finding(None, "in sync")
    behind = Finding(
        Mismatch.ERP_BEHIND,
        f"the ERP is at {code}, the website expects {_codes(expected.wdt_codes)}",
        within_sla=not late,
    )
    if facts.status is WebsiteStatus.VOIDED:
        if shipped(code):
            return Finding(
                Mismatch.UNKNOWN, "the ERP shipped an order the website voided"
            )
        if cancellable_by_push(code, observed.frozen):
            return behind  # the pushed close cancels it
        how = "intercepted, waiting" if observed.intercepted else "reviewed: it needs"
        return Finding(
            Mismatch.CANCEL_BLOCKED,
            f"voided on the website, but the ERP had reviewed it ({code}); {how} "
            "for a person to reject it in WDT",
        )
    if cancelled(code) or code > max(expected.wdt_codes):
        steps = erp_first_steps(
            facts.status,
            prepaid=facts.prepaid,
            payment=facts.payment,
            observed=observed,
        )
        if not steps:
            return Finding(
                Mismatch.UNKNOWN,
                f"the ERP is at {code}; no website step from {facts.status.value} "
                "follows it",
            )
        return Finding(Mismatch.ERP_AHEAD, f"the ERP moved first ({code})", steps=steps)
    return behind


def plan(facts: OrderFacts, finding: Finding, modes: dict[str, StepMode]) -> Action:
    """The one corrective action for a finding, or NONE when it is taken."""
    match finding.mismatch:
        case None:
            return Action.CLOSE_TASK if facts.open_task else Action.NONE
        case Mismatch.ERP_BEHIND if finding.within_sla:
            return Action.WAIT
        case Mismatch.MISSING_IN_ERP | Mismatch.ERP_BEHIND:
            if finding.repushed_in_vain:
                return _unless_open(facts, Action.CHASE)  # nothing stays behind
            if facts.open_task == TASK_KINDS[Action.CHASE]:
                return Action.NONE  # a person chases it: no more re-pushes
            done = facts.resynced_for == finding.mismatch.value
            return Action.NONE if done else Action.REPUSH
        case Mismatch.ERP_AHEAD:
            if all(modes[s] is not StepMode.PERSON for s in finding.steps):
                return Action.APPLY
            return _unless_open(facts, Action.TASK)
        case Mismatch.CANCEL_BLOCKED:
            return _unless_open(facts, Action.INTERCEPT)
        case _:
            return _unless_open(facts, Action.ESCALATE)


def _unless_open(facts: OrderFacts, action: Action) -> Action:
    """The action, unless the task it would open is open already."""
    return Action.NONE if facts.open_task == TASK_KINDS[action] else action


def _codes(codes: tuple[int, ...]) -> str:
    return " or ".join(str(c) for c in codes)
