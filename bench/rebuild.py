"""Projection rebuild throughput against a raw SELECT scan of the same rows.

    python -m bench.rebuild --db sqlite:////tmp/bench.db [--events 200000] [--quick]
    python -m bench.rebuild --db postgresql://postgres@127.0.0.1/test --events 1000000

Generates the log once (kept between runs when it already has the size),
then, in a fresh process so peak memory is the rebuild's own: scans the events
table raw, and rebuilds each projection into a new generation. Prints one line
per projection and, last, a JSON object with name, rate, baseline_rate, ratio.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
from typing import Any

from sqlalchemy import select

from bench.loggen import drop_tables, ensure_log
from orderledger.bootstrap import build_ledger, build_projections
from orderledger.config import Settings, normalise_db_url
from orderledger.projections.rebuild import start_or_resume, switch

PAGE = 2000


def _fresh_log(url: str, events: int) -> None:
    ledger = build_ledger(Settings(db_url=url))
    started = time.perf_counter()
    if ensure_log(ledger, events):
        print(f"generated {events} events in {time.perf_counter() - started:.1f} s")
    else:  # the log is kept; the views are rebuilt from nothing each run
        drop_tables(ledger.recorder.datastore.engine, ("olp_",))  # type: ignore[attr-defined]
    ledger.close()


def _raw_scan_rate(store: Any) -> float:
    """Raw baseline: the same rows, paged by id, fetched and nothing else."""
    events = store.events
    started, rows, position = time.perf_counter(), 0, 0
    with store.engine.connect() as conn:
        while True:
            page = conn.execute(
                select(events.c.id, events.c.originator_id, events.c.originator_version,
                       events.c.topic, events.c.state)
                .where(events.c.id > position).order_by(events.c.id).limit(PAGE)
            ).all()  # fmt: skip
            if not page:
                break
            rows += len(page)
            position = page[-1][0]
    return rows / (time.perf_counter() - started)


def _measure(url: str, queue: Any) -> None:
    """Per projection: raw scan, rebuild, raw scan; the ratio uses the mean of
    the two scans around it, so a noisy neighbour hits both sides alike."""
    settings = Settings(db_url=url)
    ledger = build_ledger(settings)
    store = build_projections(ledger, settings)
    store.ensure()
    results, raws = {}, []
    for name in store.projections:
        before = _raw_scan_rate(store)
        generation = start_or_resume(store, name, restart=True)
        version = store.projections[name].version
        started = time.perf_counter()
        applied = store.catch_up(
            name, generation, page_size=PAGE, built_version=version
        )
        rate = applied / (time.perf_counter() - started)
        switch(store, name, generation)
        raw = (before + _raw_scan_rate(store)) / 2
        raws.append(raw)
        results[name] = (rate, raw)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"rows": applied, "rates": results, "peak_mb": peak_mb})
    ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 events")
    args = parser.parse_args()
    url = normalise_db_url(args.db)
    events = 20_000 if args.quick else args.events
    _fresh_log(url, events)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_measure, args=(url, queue))
    child.start()
    child.join()
    if child.exitcode != 0 or queue.empty():
        raise SystemExit(f"the measuring process failed (exit code {child.exitcode})")
    result = queue.get()
    dialect = url.split(":")[0].split("+")[0]
    for name, (rate, raw) in result["rates"].items():
        print(f"{dialect:<10} {name:<13} {rate:>10,.0f} events/s, raw scan "
              f"{raw:>9,.0f} rows/s: {rate / raw:.0%}")  # fmt: skip
    print(f"peak RSS {result['peak_mb']:.0f} MB")
    name, (rate, raw) = min(result["rates"].items(), key=lambda kv: kv[1][0] / kv[1][1])
    print(json.dumps({
        "name": f"projection_rebuild_{dialect}",
        "events": result["rows"],
        "slowest": name,
        "rate": round(rate),
        "baseline_rate": round(raw),
        "ratio": round(rate / raw, 3),
        "rates": {k: round(r) for k, (r, _) in result["rates"].items()},
        "peak_rss_mb": round(result["peak_mb"]),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
