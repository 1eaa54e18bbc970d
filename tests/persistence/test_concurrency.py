"""Two processes act on the same order at the same moment: exactly one wins."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import pytest

from orderledger.bootstrap import build_ledger
from orderledger.config import Settings
from orderledger.domain.errors import OrderLedgerError
from orderledger.domain.values import Source
from tests.factories import draft

WHO = {"actor": "proc", "source": Source.OPS}


def _act_after_everyone_has_loaded(
    url: str, action: str, barrier: Any, results: Any
) -> None:
    ledger = build_ledger(Settings(db_url=url))
    repository = ledger.repository
    load = repository.get

    def load_then_wait(*args: Any, **kwargs: Any) -> Any:
        order = load(*args, **kwargs)
        barrier.wait(timeout=20)  # both hold the same version before acting
        return order

    repository.get = load_then_wait  # type: ignore[method-assign]
    try:
        if action == "confirm":
            ledger.confirm("RACE-1", **WHO)
        else:
            ledger.cancel("RACE-1", reason="race", **WHO)
        results.put((action, "ok"))
    except OrderLedgerError as error:
        results.put((action, type(error).__name__))
    finally:
        ledger.close()


def test_two_processes_on_one_order_one_wins_the_other_gets_a_conflict(
    db_url: str,
) -> None:
    ledger = build_ledger(Settings(db_url=db_url))
    ledger.create(draft(order_no="RACE-1"), **WHO)
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(
            target=_act_after_everyone_has_loaded, args=(db_url, a, barrier, results)
        )
        for a in ("confirm", "cancel")
    ]

    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)

    outcomes = dict(results.get(timeout=5) for _ in procs)
    assert sorted(outcomes.values()) == ["ConcurrencyConflict", "ok"]
    winner = next(a for a, r in outcomes.items() if r == "ok")
    history = ledger.history("RACE-1")
    assert [e["type"] for e in history] == [
        "Created",
        "Confirmed" if winner == "confirm" else "Cancelled",
    ]
    assert ledger.get("RACE-1")["status"] == (
        "已确认" if winner == "confirm" else "已作废"
    )
    ledger.close()


@pytest.mark.postgres
def test_many_processes_racing_on_postgres_record_exactly_one_step(pg_url: str) -> None:
    ledger = build_ledger(Settings(db_url=pg_url))
    ledger.create(draft(order_no="RACE-1"), **WHO)
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    actions = ["confirm", "cancel", "confirm", "cancel"]
    procs = [
        ctx.Process(
            target=_act_after_everyone_has_loaded, args=(pg_url, a, barrier, results)
        )
        for a in actions
    ]

    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)

    outcomes = [results.get(timeout=5)[1] for _ in procs]
    assert sorted(outcomes) == ["ConcurrencyConflict"] * 3 + ["ok"]
    assert len(ledger.history("RACE-1")) == 2
    ledger.close()
