"""Projection rebuild throughput against a raw SELECT scan of the same rows.

    python -m bench.rebuild --db sqlite:////tmp/bench.db [--events 200000] [--quick]
    python -m bench.rebuild --db postgresql://postgres@127.0.0.1/test --events 1000000
        [--workers N]

Generates the log once (kept between runs when it already has the size),
then, in a fresh process so peak memory is the rebuild's own: scans the events
table raw, and rebuilds each projection into a new generation, once in this
process and once with N worker processes (default: the number of CPUs), each
owning a partition of the orders, their start-up included. Prints one line
per projection and, last, a JSON object with name, rate (the workers'),
baseline_rate, ratio, and the one-process rate and ratio beside them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import time
from functools import partial
from typing import Any

from sqlalchemy import select

from bench.loggen import drop_tables, ensure_log
from orderledger.bootstrap import build_ledger, build_projections, projection_store
from orderledger.config import Settings, normalise_db_url
from orderledger.projections.rebuild import start_or_resume, switch
from orderledger.projections.workers import build_in_parts

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


def _rebuild_rate(store: Any, name: str, workers: int, make_store: Any) -> float:
    """Events per second of one rebuild of `name` into a new generation."""
    generation = start_or_resume(store, name, restart=True)
    version = store.projections[name].version
    started = time.perf_counter()
    if workers > 1:
        build_in_parts(make_store, store, [(name, generation)], workers)
    store.catch_up(name, generation, page_size=PAGE, built_version=version)
    rate = store.head() / (time.perf_counter() - started)
    switch(store, name, generation)
    return rate


def _measure(url: str, workers: int, queue: Any) -> None:
    """Per projection: raw scan, rebuild in one process, rebuild with the
    workers, raw scan; the ratios use the mean of the two scans around them,
    so a noisy neighbour hits both sides alike."""
    settings = Settings(db_url=url)
    ledger = build_ledger(settings)
    store = build_projections(ledger, settings)
    store.ensure()
    make_store = partial(projection_store, settings)
    results = {}
    for name in store.projections:
        before = _raw_scan_rate(store)
        alone = _rebuild_rate(store, name, 1, make_store)
        rate = _rebuild_rate(store, name, workers, make_store)
        raw = (before + _raw_scan_rate(store)) / 2
        results[name] = (rate, raw, alone)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"rows": store.head(), "rates": results, "peak_mb": peak_mb})
    ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 events")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    url = normalise_db_url(args.db)
    events = 20_000 if args.quick else args.events
    _fresh_log(url, events)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_measure, args=(url, args.workers, queue))
    child.start()
    child.join()
    if child.exitcode != 0 or queue.empty():
        raise SystemExit(f"the measuring process failed (exit code {child.exitcode})")
    result = queue.get()
    dialect = url.split(":")[0].split("+")[0]
    for name, (rate, raw, alone) in result["rates"].items():
        print(f"{dialect:<10} {name:<13} {rate:>10,.0f} events/s with {args.workers} "
              f"workers ({alone:,.0f} in one process), raw scan {raw:>9,.0f} "
              f"rows/s: {rate / raw:.0%} ({alone / raw:.0%})")  # fmt: skip
    print(f"peak RSS {result['peak_mb']:.0f} MB (the parent)")
    name, (rate, raw, alone) = min(
        result["rates"].items(), key=lambda kv: kv[1][0] / kv[1][1]
    )
    print(json.dumps({
        "name": f"projection_rebuild_{dialect}",
        "events": result["rows"],
        "workers": args.workers,
        "slowest": name,
        "rate": round(rate),
        "baseline_rate": round(raw),
        "ratio": round(rate / raw, 3),
        "one_process_rate": round(alone),
        "one_process_ratio": round(alone / raw, 3),
        "rates": {k: round(r) for k, (r, _, _) in result["rates"].items()},
        "peak_rss_mb": round(result["peak_mb"]),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
