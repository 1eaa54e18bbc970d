"""A view built and followed by partition workers (projections/partitions.py):
separate processes racing on one view never apply an event twice, and a
worker killed mid-rebuild resumes its partition."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
import time
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from orderledger.bootstrap import build_ledger, build_projections
from orderledger.cli import cli
from orderledger.config import Settings
from orderledger.projections.log import order_key_column
from orderledger.projections.partitions import part_of
from orderledger.projections.rebuild import RebuildOutcome, compare, start_or_resume
from orderledger.projections.store import ProjectionStore
from tests.projections.helpers import full_lifecycle

VIEW = "order_status"
PAGE = 5  # small pages: the workers take many turns, so they really interleave


def _store(url: str) -> ProjectionStore:
    settings = Settings(db_url=url)
    return build_projections(build_ledger(settings), settings)


def _worker(url: str, generation: int, part: int, barrier: Any, out: Any) -> None:
    store = _store(url)
    if barrier is not None:
        barrier.wait(timeout=60)
    try:
        applied = store.catch_up_part(
            VIEW,
            generation,
            part,
            2,
            page_size=PAGE,
            progress=lambda n, at: time.sleep(0.002),
        )
        out.put(("ok", part, applied))
    except Exception as error:  # reported to the test, which fails on it
        out.put(("error", part, repr(error)))


def _log_of(url: str, orders: int) -> tuple[ProjectionStore, int]:
    ledger = build_ledger(Settings(db_url=url))
    store = build_projections(ledger, Settings(db_url=url))
    for i in range(orders):
        full_lifecycle(ledger, f"PART-{i}", ["online", "postal", "cod"][i % 3])
    store.catch_up_all()  # the live generation, built by one process
    return store, ledger.log_head()


def _applied(store: ProjectionStore, generation: int) -> tuple[int, int]:
    """Events applied in the generation, in total and to rows whose count
    differs from their version (an event applied twice would show in both)."""
    main = store.tables(VIEW, generation).main
    with store.engine.connect() as conn:
        total = conn.execute(select(func.sum(main.c.events_applied))).scalar()
        off = conn.execute(
            select(func.count()).where(main.c.events_applied != main.c.version)
        ).scalar()
    return int(total or 0), int(off or 0)


def _same_as_live(store: ProjectionStore, generation: int) -> RebuildOutcome:
    live = store.live_generation(VIEW)
    outcome = RebuildOutcome(VIEW, live, generation, store.head())
    compare(store, VIEW, live, generation, store.head(), outcome)
    return outcome


@pytest.mark.postgres
def test_racing_partition_workers_never_apply_an_event_twice(pg_url: str) -> None:
    store, total = _log_of(pg_url, 60)
    generation = start_or_resume(store, VIEW)
    assert store.split(VIEW, generation, 2) == 2
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(3), ctx.Queue()
    # Two processes on partition 0 and one on partition 1, all at once.
    procs = [
        ctx.Process(target=_worker, args=(pg_url, generation, part, barrier, out))
        for part in (0, 0, 1)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(30)

    assert all(kind == "ok" for kind, _, _ in results), results
    on_zero = [applied for _, part, applied in results if part == 0]
    assert all(n > 0 for n in on_zero), f"the two did not overlap: {on_zero}"
    with store.engine.connect() as conn:
        keys = conn.execute(select(order_key_column(conn, store.events))).scalars()
    assert sum(applied for _, _, applied in results) == total
    assert sum(on_zero) == sum(1 for k in keys if part_of(k, 2) == 0)
    assert _applied(store, generation) == (total, 0)
    assert store.poisoned_orders(VIEW, generation) == []
    # Caught up whole again, and the same rows as the one-process build.
    assert store.catch_up(VIEW, generation) == 0
    assert store.parts(VIEW, generation) == 0
    assert store.position(VIEW, generation) == store.head()
    assert _same_as_live(store, generation).difference_count == 0


@pytest.mark.postgres
def test_a_worker_killed_mid_rebuild_resumes_its_partition(pg_url: str) -> None:
    store, total = _log_of(pg_url, 60)
    generation = start_or_resume(store, VIEW)
    store.split(VIEW, generation, 2)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    victim = ctx.Process(target=_worker, args=(pg_url, generation, 0, None, out))
    victim.start()

    def reached() -> int:
        with store.engine.connect() as conn:
            parts = store.positions.parts(conn, VIEW, generation)
        return int(parts[0].position)

    deadline = time.monotonic() + 120
    while reached() < total // 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.kill()  # SIGKILL: no clean-up of any kind
    victim.join(30)
    stopped_at = reached()
    assert 0 < stopped_at < store.head(), "kill it mid-way"
    done_before, _ = _applied(store, generation)

    # The same command again: partition 0 goes on from where it stood.
    result = CliRunner().invoke(
        cli, ["--db", pg_url, "projections", "rebuild", VIEW, "--workers", "2"]
    )

    assert result.exit_code == 0, result.output
    assert f"generation {generation} is live" in result.output
    assert done_before > 0
    assert _applied(store, generation) == (total, 0)
    assert store.poisoned_orders(VIEW, generation) == []
    assert store.parts(VIEW, generation) == 0  # tracked whole again


def test_a_whole_runner_finishes_a_split_generation_on_sqlite(
    tmp_path: Any,
) -> None:
    """Without worker processes (SQLite's default), a split view is caught up
    partition by partition in one process and merged back."""
    store, total = _log_of(f"sqlite:///{tmp_path / 'p.db'}", 12)
    generation = start_or_resume(store, VIEW)
    store.split(VIEW, generation, 3)
    store.catch_up_part(VIEW, generation, 1, 3, page_size=PAGE)

    assert store.catch_up(VIEW, generation) > 0
    assert store.parts(VIEW, generation) == 0
    assert _applied(store, generation) == (total, 0)
    assert _same_as_live(store, generation).difference_count == 0


def _follower(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "orderledger.cli", "--db", url, "projections",
         "follow", "--poll", "0.2", "--max-seconds", "6", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.postgres
def test_followers_on_two_hosts_each_take_their_partitions(pg_url: str) -> None:
    """Two `follow --workers 2 --part K` processes, as on two hosts: every
    view current, each event applied once; a catch-up then tracks it whole."""
    store, total = _log_of(pg_url, 20)
    more = build_ledger(Settings(db_url=pg_url))
    for i in range(20, 40):
        full_lifecycle(more, f"PART-{i}", "online")
    total = more.log_head()
    hosts = [_follower(pg_url, "--workers", "2", "--part", str(k)) for k in (0, 1)]
    said = [p.communicate(timeout=120) for p in hosts]

    assert [p.returncode for p in hosts] == [0, 0], said
    generation = store.live_generation(VIEW)
    assert store.parts(VIEW, generation) == 2  # split, a position per part
    assert store.position(VIEW, generation) == total
    assert _applied(store, generation) == (total, 0)
    assert store.poisoned_orders(VIEW, generation) == []
    result = CliRunner().invoke(cli, ["--db", pg_url, "projections", "catch-up"])
    assert result.exit_code == 0, result.output
    assert store.parts(VIEW, generation) == 0


@pytest.mark.postgres
def test_a_follower_with_another_split_or_part_is_refused(pg_url: str) -> None:
    store, _ = _log_of(pg_url, 3)
    store.split(VIEW, store.live_generation(VIEW), 3)
    runner = CliRunner()

    bad_part = runner.invoke(
        cli, ["--db", pg_url, "projections", "follow", "--workers", "2", "--part", "2"]
    )
    assert bad_part.exit_code == 2
    assert "--part must be below --workers (2)" in bad_part.stderr
    other = _follower(pg_url, "--workers", "2", "--part", "0")
    _, err = other.communicate(timeout=120)
    assert other.returncode == 6  # at once, not retried until --max-seconds
    assert "split into 3 partitions, not 2" in err and "--workers 3" in err
    assert "follow-part-0 exit 2" in err and "Traceback" not in err
