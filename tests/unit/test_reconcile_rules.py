"""The reconciliation rules, pure: classes, ERP-first steps, one action each."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderledger.config import load_reconcile_settings
from orderledger.domain.errors import InvalidInput
from orderledger.domain.reconcile import (
    DEFAULT_MODES,
    Action,
    Mismatch,
    Observed,
    OrderFacts,
    StepMode,
    classify,
    plan,
)
from orderledger.domain.status import Payment, WebsiteStatus

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SLA = timedelta(minutes=30)
S = WebsiteStatus


def facts(
    status: WebsiteStatus,
    code: int | None,
    *,
    prepaid: bool = False,
    paid: bool = False,
    minutes_ago: float = 60,
    **observed: object,
) -> OrderFacts:
    return OrderFacts(
        order_no="R-1",
        status=status,
        prepaid=prepaid,
        payment=Payment.PAID if paid else Payment.UNPAID,
        observed=None if code is None else Observed(wdt_code=code, **observed),  # type: ignore[arg-type]
        changed_at=NOW - timedelta(minutes=minutes_ago),
    )


CASES = [
    # (facts, class, steps)
    (facts(S.UNCONFIRMED, 30), None, ()),
    (facts(S.UNCONFIRMED, 10, prepaid=True), None, ()),
    (facts(S.CONFIRMED, 55), None, ()),
    (facts(S.PAID, 55, prepaid=True, paid=True), None, ()),
    (facts(S.SHIPPED, 95), None, ()),
    (facts(S.RECEIVED, 100), None, ()),
    (facts(S.COMPLETED, 110, paid=True), None, ()),
    (facts(S.VOIDED, 5), None, ()),
    (facts(S.CONFIRMED, 30, frozen=True), None, ()),  # frozen: no website state
    (facts(S.CONFIRMED, None), Mismatch.MISSING_IN_ERP, ()),
    (facts(S.PAID, 10, prepaid=True, paid=True), Mismatch.ERP_BEHIND, ()),
    (facts(S.COMPLETED, 95, paid=True), Mismatch.ERP_BEHIND, ()),
    (facts(S.SHIPPED, 55), Mismatch.ERP_BEHIND, ()),
    (facts(S.VOIDED, 30), Mismatch.ERP_BEHIND, ()),  # the close will cancel it
    (facts(S.VOIDED, 55, frozen=True), Mismatch.ERP_BEHIND, ()),  # frozen: cancellable
    (facts(S.UNCONFIRMED, 55), Mismatch.ERP_AHEAD, ("review",)),
    (
        facts(S.UNCONFIRMED, 95, logistics_no="SF1"),
        Mismatch.ERP_AHEAD,
        ("review", "ship"),
    ),
    (facts(S.CONFIRMED, 95, logistics_no="SF1"), Mismatch.ERP_AHEAD, ("ship",)),
    (
        facts(S.PAID, 95, prepaid=True, paid=True, logistics_no="SF1"),
        Mismatch.ERP_AHEAD,
        ("ship",),
    ),
    (facts(S.SHIPPED, 100), Mismatch.ERP_AHEAD, ("receive",)),
    (facts(S.CONFIRMED, 5), Mismatch.ERP_AHEAD, ("cancel",)),
    (facts(S.PAID, 5, prepaid=True, paid=True), Mismatch.ERP_AHEAD, ("cancel",)),
    (facts(S.VOIDED, 55), Mismatch.CANCEL_BLOCKED, ()),
    (facts(S.VOIDED, 55, intercepted=True), Mismatch.CANCEL_BLOCKED, ()),
    (facts(S.VOIDED, 95), Mismatch.UNKNOWN, ()),  # shipped what the website voided
    (facts(S.COMPLETED, 5, paid=True), Mismatch.UNKNOWN, ()),
    (facts(S.CONFIRMED, 55, prepaid=True), Mismatch.UNKNOWN, ()),  # unpaid, reviewed
    (facts(S.CONFIRMED, 95), Mismatch.UNKNOWN, ()),  # shipped with no tracking number
    (facts(S.CONFIRMED, 95, prepaid=True, logistics_no="SF1"), Mismatch.UNKNOWN, ()),
]


@pytest.mark.parametrize(("order", "expected", "steps"), CASES)
def test_each_state_pair_gets_its_class(
    order: OrderFacts, expected: Mismatch | None, steps: tuple[str, ...]
) -> None:
    finding = classify(order, now=NOW, sla=SLA)
    assert finding.mismatch is expected, finding.detail
    assert finding.steps == steps


def test_the_sla_separates_waiting_from_acting() -> None:
    fresh = facts(S.PAID, 10, prepaid=True, paid=True, minutes_ago=5)
    late = facts(S.PAID, 10, prepaid=True, paid=True, minutes_ago=45)
    unseen = facts(S.CONFIRMED, None, minutes_ago=5)

    assert classify(fresh, now=NOW, sla=SLA).within_sla is True
    assert plan(fresh, classify(fresh, now=NOW, sla=SLA), DEFAULT_MODES) is Action.WAIT
    assert classify(late, now=NOW, sla=SLA).within_sla is False
    assert plan(late, classify(late, now=NOW, sla=SLA), DEFAULT_MODES) is Action.REPUSH
    # Never seen, but only just pushed: behind, not missing.
    assert classify(unseen, now=NOW, sla=SLA).mismatch is Mismatch.ERP_BEHIND


def _plan(order: OrderFacts, modes: dict[str, StepMode] = DEFAULT_MODES) -> Action:
    return plan(order, classify(order, now=NOW, sla=SLA), modes)


def test_one_action_per_class_and_none_once_taken() -> None:
    missing = facts(S.CONFIRMED, None)
    blocked = facts(S.VOIDED, 55)
    odd = facts(S.VOIDED, 95)
    assert _plan(missing) is Action.REPUSH
    assert _plan(blocked) is Action.INTERCEPT
    assert _plan(odd) is Action.ESCALATE
    # The same again after the action: nothing new to do.
    assert _plan(_with(missing, resynced_for="missing_in_erp")) is Action.NONE
    assert _plan(_with(blocked, open_task="intercept")) is Action.NONE
    assert _plan(_with(odd, open_task="escalation")) is Action.NONE
    # A task of another kind does not stop the action for this class.
    assert _plan(_with(odd, open_task="intercept")) is Action.ESCALATE
    # In sync with a task open: the task is settled.
    assert _plan(_with(facts(S.VOIDED, 5), open_task="intercept")) is Action.CLOSE_TASK
    assert _plan(facts(S.VOIDED, 5)) is Action.NONE


def test_erp_first_steps_follow_the_configured_modes() -> None:
    shipped = facts(S.CONFIRMED, 95, logistics_no="SF1")
    cancelled = facts(S.CONFIRMED, 5)
    assert _plan(shipped) is Action.APPLY  # ship defaults to auto
    # The seed, 6. 取消订单: "或: erp取消该订单": the website follows by default.
    assert _plan(cancelled) is Action.APPLY
    modes = {**DEFAULT_MODES, "cancel": StepMode.PERSON, "ship": StepMode.PERSON}
    assert _plan(cancelled, modes) is Action.TASK
    assert _plan(shipped, modes) is Action.TASK
    assert _plan(_with(shipped, open_task="erp_first_step"), modes) is Action.NONE


def _with(order: OrderFacts, **changes: object) -> OrderFacts:
    return replace(order, **changes)  # type: ignore[arg-type]


def test_settings_come_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "ledger.toml"
    config.write_text('[reconcile]\nsla_minutes = 5\n[erp_first]\ncancel = "auto"\n')

    from_file = load_reconcile_settings(str(config), {})
    overridden = load_reconcile_settings(
        str(config),
        {
            "ORDERLEDGER_ERP_FIRST_CANCEL": "person",
            "ORDERLEDGER_RECONCILE_SLA_MINUTES": "0",
        },
    )
    default = load_reconcile_settings(None, {})

    assert from_file.sla == timedelta(minutes=5)
    assert from_file.modes["cancel"] is StepMode.AUTO
    assert overridden.modes["cancel"] is StepMode.PERSON
    assert overridden.sla == timedelta(0)
    assert default.modes == DEFAULT_MODES
    assert default.sla == timedelta(minutes=30)


@pytest.mark.parametrize(
    "env",
    [
        {"ORDERLEDGER_ERP_FIRST_SHIP": "sometimes"},
        {"ORDERLEDGER_RECONCILE_SLA_MINUTES": "-1"},
        {"ORDERLEDGER_RECONCILE_SLA_MINUTES": "soon"},
    ],
)
def test_bad_settings_are_refused_clearly(env: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match=r"ship|SLA"):
        load_reconcile_settings(None, env)
