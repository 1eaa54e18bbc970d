"""The runner under stress: holes, late commits, racing runners, following."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from typing import Any

import psycopg2
import pytest
from sqlalchemy import func, select

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_ledger, build_projections
from orderledger.config import Settings
from orderledger.projections.store import ProjectionStore
from tests.projections.helpers import full_lifecycle, make_order, view_rows


def wait_until(predicate: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.postgres
def test_a_hole_left_by_a_rolled_back_insert_does_not_stop_the_runner(
    pg_url: str,
) -> None:
    ledger = build_ledger(Settings(db_url=pg_url))
    store = build_projections(ledger, Settings(db_url=pg_url))
    make_order(ledger, "G-1", "online")
    conn = psycopg2.connect(pg_url.replace("+psycopg2", ""))
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO orderledger_events"
            " (originator_id, originator_version, topic, state)"
            " SELECT gen_random_uuid(), 1, topic, state FROM orderledger_events LIMIT 1"
        )
    conn.rollback()  # the id it took is gone for good: a hole
    conn.close()
    make_order(ledger, "G-2", "cod")

    store.catch_up_all()

    with store.engine.connect() as c:
        ids = list(
            c.execute(select(store.events.c.id).order_by(store.events.c.id)).scalars()
        )
    assert ids[1] - ids[0] == 2  # the hole is really there
    assert set(view_rows(store, "order_status")) == {"G-1", "G-2"}
    assert store.position("order_status", 1) == ids[-1]
    ledger.close()


def test_an_event_that_commits_late_is_not_skipped(
    ledger: OrderLedger, store: ProjectionStore, settings: Settings
) -> None:
    make_order(ledger, "LATE-0", "online")
    store.catch_up_all()
    before = store.position("order_status", 1)
    inside, release = threading.Event(), threading.Event()
    slow = build_ledger(settings)
    recorder: Any = slow.recorder

    def hold_the_transaction_open() -> None:
        inside.set()
        release.wait(20)

    recorder._before_commit = hold_the_transaction_open
    late = threading.Thread(target=make_order, args=(slow, "LATE-1", "online"))
    other = build_ledger(settings)
    after = threading.Thread(target=make_order, args=(other, "LATE-2", "cod"))

    late.start()
    assert inside.wait(20)
    after.start()
    if store.is_postgres:
        # No table lock: LATE-2 commits, with a higher id, while LATE-1 is open.
        after.join(20)
        assert not after.is_alive()
    else:
        time.sleep(0.3)  # LATE-2 waits for SQLite's write lock
    store.catch_up_all()
    seen_while_open = set(view_rows(store, "order_status"))
    release.set()
    late.join(20)
    after.join(20)
    store.catch_up_all()

    assert seen_while_open == {"LATE-0"}
    assert store.position("order_status", 1) > before
    assert set(view_rows(store, "order_status")) == {"LATE-0", "LATE-1", "LATE-2"}
    slow.close()
    other.close()


def _race(url: str, barrier: Any, results: Any) -> None:
    settings = Settings(db_url=url)
    ledger = build_ledger(settings)
    store = build_projections(ledger, settings)
    barrier.wait(timeout=30)
    try:
        # A short pause per page keeps both runners busy at the same time.
        applied = store.catch_up(
            "order_status", page_size=5, progress=lambda n, p: time.sleep(0.003)
        )
        results.put(("ok", applied))
    except Exception as error:  # reported to the test, which fails on it
        results.put(("error", repr(error)))
    ledger.close()


@pytest.mark.postgres
def test_two_runners_on_one_projection_apply_each_event_exactly_once(
    pg_url: str,
) -> None:
    settings = Settings(db_url=pg_url)
    ledger = build_ledger(settings)
    store = build_projections(ledger, settings)
    for i in range(40):
        full_lifecycle(ledger, f"RACE-{i}", ["online", "postal", "cod"][i % 3])
    store.ensure()
    total = ledger.log_head()
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_race, args=(pg_url, barrier, results)) for _ in range(2)
    ]

    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert sum(applied for _, applied in outcomes) == total
    assert all(applied > 0 for _, applied in outcomes), "the runners did not overlap"
    table = store.live_tables("order_status").main
    with store.engine.connect() as conn:
        applied_in_view = conn.execute(
            select(func.sum(table.c.events_applied))
        ).scalar()
    assert applied_in_view == total
    ledger.close()


def test_following_picks_up_new_events(
    ledger: OrderLedger, store: ProjectionStore
) -> None:
    """On PostgreSQL the poll interval is two minutes: only NOTIFY can wake it."""
    stop, rounds = threading.Event(), []
    poll = 120.0 if store.is_postgres else 0.1
    follower = threading.Thread(
        target=store.follow,
        args=(stop,),
        kwargs={"poll_seconds": poll, "on_round": rounds.append},
    )
    follower.start()
    try:
        assert wait_until(lambda: len(rounds) >= 1)
        make_order(ledger, "F-1", "online")

        assert wait_until(lambda: "F-1" in view_rows(store, "search"))
    finally:
        stop.set()
        follower.join(10)
    assert not follower.is_alive()
