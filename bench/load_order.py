"""Loading an order with 1,000 events, against a raw read of its rows.

    python -m bench.load_order --db postgresql://postgres@127.0.0.1/bench [--quick]
    python -m bench.load_order --db sqlite:////tmp/load.db

One order gets 1,000 events (created, then 999 modifications of its
contact), written by the ledger's own commands. Then it is loaded the way
every command not served from the cache loads it (the latest snapshot, taken
every 50 events, and the events after it), 200 times (50 with --quick): rate
= loads per second, and the mean load time in ms (the target is ≤ 3 ms).
Baseline, same run: a raw SELECT of all 1,000 of its rows through the driver,
fetched and nothing else.
Prints one JSON object last with name, rate, baseline_rate and ratio.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from eventsourcing.application import project_aggregate
from sqlalchemy import text

from bench.relay import reset
from orderledger.bootstrap import build_ledger
from orderledger.config import Settings, normalise_db_url
from orderledger.domain.order import order_id
from orderledger.domain.values import Source
from tests.factories import draft

WHO: dict[str, Any] = {"actor": "bench", "source": Source.BACK_OFFICE}
NO = "LOAD-1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--quick", action="store_true", help="A run under a minute.")
    args = parser.parse_args()
    db = normalise_db_url(args.db)
    loads = 50 if args.quick else 200
    reset(db)
    ledger = build_ledger(Settings(db_url=db))
    ledger.create(draft("online", order_no=NO), **WHO)
    for i in range(999):
        ledger.modify(NO, contact=("李四", "王五")[i % 2], **WHO)
    key = order_id(NO)
    assert ledger.repository.get(key).version == 1000
    started = time.perf_counter()
    for _ in range(loads):
        ledger.repository.get(key)
    elapsed = time.perf_counter() - started
    # For the record: every one of the 1,000 events read and applied, no snapshot.
    replay_started = time.perf_counter()
    for _ in range(max(loads // 10, 5)):
        order = project_aggregate(None, ledger.events.get(key))
        assert order is not None and order.version == 1000
    replay_ms = 1000 * (time.perf_counter() - replay_started) / max(loads // 10, 5)
    engine: Any = ledger.recorder.datastore.engine  # type: ignore[attr-defined]
    raw = engine.raw_connection()
    cursor = raw.cursor()
    mark = "%s" if db.startswith("postgresql") else "?"
    bind = ledger.recorder._bind_id  # type: ignore[attr-defined]
    sql = (
        "SELECT originator_id, originator_version, topic, state FROM "
        f"orderledger_events WHERE originator_id = {mark} ORDER BY originator_version"
    )
    raw_started = time.perf_counter()
    for _ in range(loads):
        cursor.execute(sql, [bind(key)])
        assert len(cursor.fetchall()) == 1000
        raw.rollback()
    raw_elapsed = time.perf_counter() - raw_started
    raw.close()
    with engine.connect() as conn:
        snapshots = conn.execute(
            text("SELECT count(*) FROM orderledger_snapshots")
        ).scalar()
    ledger.close()
    rate, baseline = loads / elapsed, loads / raw_elapsed
    print(
        f"load: {1000 * elapsed / loads:.2f} ms per load ({snapshots} snapshots); "
        f"full replay of 1,000 events: {replay_ms:.2f} ms"
    )
    result = {
        "name": "load-1000-events", "rate": round(rate),
        "baseline_rate": round(baseline), "ratio": round(rate / baseline, 3),
        "ms_per_load": round(1000 * elapsed / loads, 3),
        "ms_per_full_replay": round(replay_ms, 3), "db": db.split(":")[0],
        "baseline": "raw SELECT of the order's 1,000 rows",
    }  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
