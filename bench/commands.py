"""Command rate against the database's own write limit, one or two clients.

    python -m bench.commands --db postgresql://postgres@127.0.0.1/bench [--quick]
    python -m bench.commands --db sqlite:////tmp/commands.db [--quick]
    python -m bench.commands --db postgresql://postgres@127.0.0.1/bench --clients 2
    python -m bench.commands --db sqlite:////tmp/commands.db --personal-data

A command is one `OrderLedger` call as the CLI makes it (load the order,
act, save one event): each order is created, confirmed, paid, shipped and
received, five commands. Rate = commands per second per process, summed.

Baseline, same run: a raw loop of INSERT + COMMIT, one row per transaction,
of the same payload (the average stored event of the run) into a table of
the same shape: psycopg2 for PostgreSQL, sqlite3 in the same journal mode
(WAL) for SQLite. With `--clients 2` the baseline is one client's command
rate measured just before, and the ratio is the scaling.
With `--personal-data` the baseline is the same commands without the
personal-data vault (names, phones and addresses left in the events, as
before issue 18), every order of a new customer (a new key each: the worst
case), the two runs alternated in halves.
Prints one JSON object last with name, rate, baseline_rate and ratio.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import time
import uuid
from decimal import Decimal
from typing import Any

import psycopg2
from sqlalchemy import text

from bench.relay import reset
from bench.vault_compare import add_option, ledger_for, result
from orderledger.config import normalise_db_url
from orderledger.domain.values import Delivery, Source
from tests.factories import draft

WHO: dict[str, Any] = {"actor": "bench", "source": Source.BACK_OFFICE}
STEPS = 5  # commands per order


def run_commands(
    db: str, prefix: str, orders: int, *, vault: bool = True, customers: int = 0
) -> tuple[float, int]:
    """(seconds, average stored event size) for `orders` full cycles;
    `customers`: the first of as many distinct phones, one per order (0: one
    customer for all)."""
    ledger = ledger_for(db, vault=vault)
    warm = f"{prefix}-warm"
    ledger.create(draft("online", order_no=warm), **WHO)
    started = time.perf_counter()
    for i in range(orders):
        no = f"{prefix}-{i:06d}"
        who = {"customer": {"name": "顾客", "phone": f"139{customers + i:08d}"}}
        ledger.create(draft("online", order_no=no, **(who if customers else {})), **WHO)
        ledger.confirm(no, **WHO)
        ledger.confirm_payment(no, Decimal("128.00"), **WHO)
        ledger.ship(no, Delivery("SF", f"SF{i}"), **WHO)
        ledger.confirm_receipt(no, **WHO)
    elapsed = time.perf_counter() - started
    size = _average_event_size(ledger)
    ledger.close()
    return elapsed, size


def _average_event_size(ledger: Any) -> int:
    engine = ledger.recorder.datastore.engine
    with engine.connect() as conn:
        value = conn.execute(
            text("SELECT avg(length(state)) FROM orderledger_events")
        ).scalar()
    return int(value or 600)


def _client(args: tuple[str, str, int]) -> tuple[float, int]:
    return run_commands(*args)


def raw_rate(db: str, payload: int, rows: int) -> float:
    """INSERT + COMMIT per row of `payload` bytes, straight through the driver."""
    state = os.urandom(payload // 2).hex().encode()[:payload]
    if db.startswith("postgresql"):
        dsn = db.replace("postgresql+psycopg2://", "postgresql://")
        conn = psycopg2.connect(dsn)
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_raw_events")
            cur.execute(
                "CREATE TABLE bench_raw_events (id bigserial PRIMARY KEY, "
                "originator_id uuid NOT NULL, originator_version int NOT NULL, "
                "topic text NOT NULL, state bytea NOT NULL, "
                "UNIQUE (originator_id, originator_version))"
            )
        conn.commit()
        sql = (
            "INSERT INTO bench_raw_events (originator_id, originator_version, topic,"
            " state) VALUES (%s, %s, %s, %s)"
        )
        started = time.perf_counter()
        with conn.cursor() as cur:
            for i in range(rows):
                cur.execute(sql, (str(uuid.uuid4()), i, "t:E.v1", state))
                conn.commit()
        elapsed = time.perf_counter() - started
        with conn.cursor() as cur:
            cur.execute("DROP TABLE bench_raw_events")
        conn.commit()
        conn.close()
        return rows / elapsed
    path = db.split("sqlite:///", 1)[1] + ".raw"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    lite = sqlite3.connect(path)
    lite.execute("PRAGMA journal_mode=WAL")
    lite.execute(
        "CREATE TABLE raw_events (id INTEGER PRIMARY KEY, originator_id BLOB, "
        "originator_version INT, topic TEXT, state BLOB, "
        "UNIQUE (originator_id, originator_version))"
    )
    lite.commit()
    started = time.perf_counter()
    for i in range(rows):
        lite.execute(
            "INSERT INTO raw_events (originator_id, originator_version, topic, state)"
            " VALUES (?, ?, ?, ?)",
            (uuid.uuid4().bytes, i, "t:E.v1", state),
        )
        lite.commit()
    elapsed = time.perf_counter() - started
    lite.close()
    return rows / elapsed


def vault_ratio(db: str, orders: int) -> dict[str, Any]:
    """Commands with the personal-data vault against without it, alternated."""
    half = orders // 2
    seconds = {True: 0.0, False: 0.0}
    for turn, vault in enumerate((False, True, False, True)):
        prefix = f"{'V' if vault else 'P'}{turn}"
        elapsed, _ = run_commands(
            db, prefix, half, vault=vault, customers=1 + turn * half
        )
        seconds[vault] += elapsed
    rate, plain = (2 * half * STEPS / seconds[v] for v in (True, False))
    print(f"with the vault {rate:,.0f} commands/s, without {plain:,.0f}")
    return result("commands-personal-data", db, rate, plain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--clients", type=int, choices=(1, 2), default=1)
    parser.add_argument("--quick", action="store_true", help="A run under a minute.")
    add_option(parser)
    args = parser.parse_args()
    db = normalise_db_url(args.db)
    orders = 200 if args.quick else args.orders
    reset(db)
    if args.personal_data:
        print(json.dumps(vault_ratio(db, orders)))
        return
    elapsed, size = run_commands(db, "ONE", orders)
    one = orders * STEPS / elapsed
    print(f"one client: {one:,.0f} commands/s, events of {size} bytes")
    if args.clients == 1:
        baseline = raw_rate(db, size, orders * STEPS)
        result = {
            "name": "commands", "clients": 1, "rate": round(one),
            "baseline_rate": round(baseline), "ratio": round(one / baseline, 3),
            "baseline": "raw INSERT + COMMIT per row", "event_bytes": size,
            "db": db.split(":")[0],
        }  # fmt: skip
    else:
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            results = pool.map(_client, [(db, "TWO-A", orders), (db, "TWO-B", orders)])
        two = sum(orders * STEPS / seconds for seconds, _ in results)
        print(f"two clients: {two:,.0f} commands/s")
        result = {
            "name": "commands-2-clients", "clients": 2, "rate": round(two),
            "baseline_rate": round(one), "ratio": round(two / one, 3),
            "baseline": "one client, same run", "db": db.split(":")[0],
        }  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
