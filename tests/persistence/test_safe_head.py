"""The safe head on PostgreSQL: appends without a table lock, readers that
never skip an event committed late below a position they already read."""

from __future__ import annotations

import logging
import multiprocessing as mp
import random
import threading
import time
from typing import Any

import psycopg2
import pytest
from eventsourcing.persistence import OperationalError

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_ledger, build_projections
from orderledger.config import Settings
from orderledger.domain.errors import StorageError
from orderledger.projections.log import read_part, safe_head
from orderledger.store.safe_head import PostgresHorizon
from tests.projections.helpers import make_order, view_rows

pytestmark = pytest.mark.postgres


def _held_open(ledger: OrderLedger) -> tuple[threading.Event, threading.Event]:
    """Make the ledger's next insert wait before its commit until released."""
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        inside.set()
        release.wait(20)

    recorder: Any = ledger.recorder
    recorder._before_commit = hold
    return inside, release


def _ids(url: str) -> list[int]:
    conn = psycopg2.connect(url.replace("+psycopg2", ""))
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM orderledger_events ORDER BY id")
        ids = [row[0] for row in cur.fetchall()]
    conn.close()
    return ids


def test_the_safe_head_waits_for_a_writer_that_holds_a_lower_id(pg_url: str) -> None:
    settings = Settings(db_url=pg_url)
    slow, other = build_ledger(settings), build_ledger(settings)
    make_order(other, "H-0", "online")
    conn = psycopg2.connect(pg_url.replace("+psycopg2", ""))
    horizon = PostgresHorizon("orderledger_events")
    primed = horizon.safe_head(conn)  # nothing open: H-0's id at once
    inside, release = _held_open(slow)
    late = threading.Thread(target=make_order, args=(slow, "H-1", "online"))
    late.start()
    assert inside.wait(20)
    make_order(other, "H-2", "cod")  # commits at once, with a higher id

    while_open = horizon.safe_head(conn, wait=0.2)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    after_commit = horizon.safe_head(conn, wait=10)
    waited = time.monotonic() - started
    late.join(20)

    first, held, last = _ids(pg_url)
    assert held < last  # H-1 drew its id before H-2 and committed after it
    assert primed == first
    assert while_open == first  # the last head proved safe, not past H-1
    assert after_commit >= last
    assert waited >= 0.2  # it waited for the writer instead of skipping it
    assert horizon.safe_head(conn, wait=0) >= last  # nothing open: at once
    conn.close()
    slow.close()
    other.close()


def test_notifications_stop_below_an_open_writer(pg_url: str) -> None:
    settings = Settings(db_url=pg_url)
    slow, other = build_ledger(settings), build_ledger(settings)
    make_order(other, "N-0", "online")
    # A reader that has read N-0 knows that far is safe.
    assert len(other.recorder.select_notifications(1, 10)) == 1
    inside, release = _held_open(slow)
    late = threading.Thread(target=make_order, args=(slow, "N-1", "online"))
    late.start()
    assert inside.wait(20)
    make_order(other, "N-2", "cod")

    seen_while_open = other.recorder.select_notifications(1, 10)
    release.set()
    late.join(20)
    seen_after = other.recorder.select_notifications(1, 10)

    assert [n.id for n in seen_while_open] == _ids(pg_url)[:1]
    assert [n.id for n in seen_after] == _ids(pg_url)
    slow.close()
    other.close()


def test_a_sequence_that_caches_ids_is_refused(pg_url: str) -> None:
    ledger = build_ledger(Settings(db_url=pg_url))
    make_order(ledger, "C-1", "online")
    conn = psycopg2.connect(pg_url.replace("+psycopg2", ""))
    with conn.cursor() as cur:
        cur.execute("SELECT pg_get_serial_sequence('orderledger_events', 'id')")
        name = cur.fetchone()[0]
        cur.execute(f"ALTER SEQUENCE {name} CACHE 20")
    conn.commit()

    with pytest.raises(StorageError, match="CACHE 1"):
        PostgresHorizon("orderledger_events").safe_head(conn)
    conn.close()
    ledger.close()


def everyone(order_key: str) -> bool:
    return True


def _writer(url: str, prefix: str, orders: int, seed: int) -> None:
    ledger = build_ledger(Settings(db_url=url))
    rng = random.Random(seed)
    recorder: Any = ledger.recorder
    # Random pauses before each commit make ids commit out of order.
    recorder._before_commit = lambda: time.sleep(rng.choice((0, 0, 0.001, 0.02)))
    for i in range(orders):
        make_order(ledger, f"{prefix}-{i:04d}", "online")
        ledger.confirm(f"{prefix}-{i:04d}", actor="t", source="ops")
    ledger.close()


def test_a_reader_racing_three_writers_sees_every_event_once(pg_url: str) -> None:
    settings = Settings(db_url=pg_url)
    ledger = build_ledger(settings)
    store = build_projections(ledger, settings)
    store.ensure()
    ctx = mp.get_context("spawn")
    writers = [
        ctx.Process(target=_writer, args=(pg_url, f"W{n}", 40, n)) for n in range(3)
    ]
    for w in writers:
        w.start()
    seen: list[int] = []
    position = 0
    with store.engine.connect() as conn:
        while any(w.is_alive() for w in writers) or position < safe_head(
            conn, store.events
        ):
            page, _ = read_part(conn, store.events, position, 50, None, everyone)
            conn.rollback()
            seen += [e.position for e in page]
            position = page[-1].position if page else position
    for w in writers:
        w.join(30)
        assert w.exitcode == 0

    assert seen == _ids(pg_url)  # each event once, in id order, none skipped
    assert len(seen) == 3 * 40 * 2
    store.catch_up_all()
    assert len(view_rows(store, "order_status")) == 120
    ledger.close()


def test_a_connection_the_server_killed_is_discarded_quietly(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A read on a pooled connection whose backend was terminated fails with
    the storage error the followers retry, and the dead connection is thrown
    away: given back to the pool, its reset would fail and SQLAlchemy would
    print that with a traceback (a follower's stderr, seen in CI)."""
    settings = Settings(db_url=pg_url)
    ledger = build_ledger(settings)
    store = build_projections(ledger, settings)
    make_order(ledger, "KILLED-1", "cod")
    views = store.engine.connect()
    assert safe_head(views, store.events) == 1
    ledger.recorder.select_notifications(1, 10)  # leaves a pooled connection
    _terminate_other_backends(pg_url)

    # Straight on the pool's logger: the CLI, run earlier in this process,
    # stops it propagating (store/pooled.py, quiet_pool_resets).
    pool_log = logging.getLogger("sqlalchemy.pool")
    pool_log.addHandler(caplog.handler)
    with caplog.at_level("DEBUG", logger="sqlalchemy.pool"):
        with pytest.raises(OperationalError):
            ledger.recorder.select_notifications(1, 10)
        with pytest.raises(psycopg2.OperationalError):
            safe_head(views, store.events)  # the projections' own reader
        views.close()
        # The next reads get fresh connections.
        assert len(ledger.recorder.select_notifications(1, 10)) == 1
        with store.engine.connect() as views:
            assert safe_head(views, store.events) == 1
    pool_log.removeHandler(caplog.handler)
    assert [r for r in caplog.records if "checked out" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    ledger.close()


def _terminate_other_backends(url: str) -> None:
    conn = psycopg2.connect(url.replace("+psycopg2", ""))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    conn.close()
