"""Outbox relay: throughput against raw pushes, and lag at a steady load.

    python -m bench.relay --db sqlite:////tmp/relay.db [--quick]
    python -m bench.relay --db postgresql://postgres@127.0.0.1/bench

1. Throughput: a generated log (the application's own stored events) is
   relayed to a WDT simulator running in its own process; rate = log events
   per second until every message is acknowledged. Baseline, same run: the
   same trades pushed straight to the simulator with the client in batches
   of 50 (no ledger, no delivery rows).
2. Lag: commands at a steady 100/s (orders created, then confirmed) while a
   relay follows; lag = acknowledgement time − command commit time, p50/p99.
Prints one JSON object last with name, rate, baseline_rate, ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import threading
import time
from typing import Any

from sqlalchemy import select

from bench.loggen import DERIVED, drop_tables, generate
from orderledger.bootstrap import build_delivery_store, build_ledger, build_relay
from orderledger.config import Secret, Settings, WdtSettings, normalise_db_url
from orderledger.domain.values import Source
from orderledger.outbox.clients import WdtClient
from orderledger.outbox.relay import RelayPolicy
from tests.factories import draft
from tests.simfixtures import spawn_wdt_simulator

SECRET = "bench-secret"
PARALLEL = int(os.environ.get("BENCH_PARALLEL", "4"))


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    return spawn_wdt_simulator(SECRET)


def reset(url: str) -> None:
    ledger = build_ledger(Settings(db_url=url))
    engine = ledger.recorder.datastore.engine  # type: ignore[attr-defined]
    drop_tables(engine, ("orderledger_", "vault_", "api_", *DERIVED))
    ledger.close()


def throughput(db: str, wdt: WdtSettings, events: int) -> tuple[float, float, int]:
    reset(db)
    ledger = build_ledger(Settings(db_url=db))
    generate(ledger, events)
    policy = RelayPolicy(poll_seconds=0.01, page_size=2000, parallel=PARALLEL)
    relay = build_relay(ledger, "wdt", wdt=wdt, u8=None, policy=policy)
    stop = threading.Event()
    started = time.perf_counter()
    relay.run(stop, once=True)
    elapsed = time.perf_counter() - started
    store = relay.store
    assert store.counts("wdt").keys() == {"acknowledged"}, store.counts("wdt")
    messages = store.messages("wdt")
    # Raw baseline: the very same trades, pushed straight, 50 per call.
    client = WdtClient(wdt)
    payloads = [json.loads(m["payload"]) for m in messages]
    raw_started = time.perf_counter()
    for i in range(0, len(payloads), 50):
        client.push_trades(payloads[i : i + 50])
    raw_elapsed = time.perf_counter() - raw_started
    ledger.close()
    # Both rates in log events per second: the raw push gets the same credit
    # per trade as the relay (events / messages).
    per_message = events / len(messages)
    return events / elapsed, len(messages) * per_message / raw_elapsed, len(messages)


def lag(db: str, wdt: WdtSettings, seconds: float, rate: float = 100.0) -> list[float]:
    reset(db)
    ledger = build_ledger(Settings(db_url=db))
    relay = build_relay(
        ledger, "wdt", wdt=wdt, u8=None, policy=RelayPolicy(poll_seconds=0.02)
    )
    stop = threading.Event()
    listener = None
    if relay.store.engine.dialect.name == "postgresql":
        from orderledger.store.listen import LogListener

        listener = LogListener(relay.store.engine, "orderledger_events")
    wait = (lambda s: listener.wait(s, stop)) if listener else None
    follower = threading.Thread(target=relay.run, args=(stop,), kwargs={"wait": wait})
    follower.start()
    committed: dict[tuple[str, int], float] = {}
    who: dict[str, Any] = {"actor": "bench", "source": Source.WEBSITE}
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        due = started + n / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        no = f"LAG-{n // 2:06d}"
        if n % 2 == 0:
            ledger.create(draft("cod", order_no=no), **who)
            committed[(no, 1)] = time.time()
        else:
            ledger.confirm(no, **who)
            committed[(no, 2)] = time.time()
        n += 1
    deadline = time.time() + 30
    store = build_delivery_store(ledger)
    while time.time() < deadline and store.counts("wdt").get("acknowledged", 0) < n:
        time.sleep(0.1)
    stop.set()
    follower.join(10)
    if listener is not None:
        listener.close()
    d = store.deliveries
    with store.engine.connect() as conn:
        acked = {
            (r.order_no, r.version): r.acked_at
            for r in conn.execute(select(d.c.order_no, d.c.version, d.c.acked_at))
        }
    ledger.close()
    return sorted(acked[k] - t for k, t in committed.items() if acked.get(k))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--quick", action="store_true", help="5,000 events, 5 s of load"
    )
    args = parser.parse_args()
    db = normalise_db_url(args.db)
    events, seconds = (5_000, 5.0) if args.quick else (args.events, args.seconds)
    sim, url = start_simulator()
    try:
        wdt = WdtSettings(url, "s", "k", Secret(SECRET), timeout=10.0)
        rate, raw, messages = throughput(db, wdt, events)
        lags = lag(db, wdt, seconds)
    finally:
        sim.terminate()
        sim.wait(10)
    dialect = db.split(":")[0].split("+")[0]
    p50 = statistics.median(lags) * 1000
    p99 = lags[int(len(lags) * 0.99) - 1] * 1000
    print(f"{dialect}: relay {rate:,.0f} events/s ({messages} trades), raw push "
          f"{raw:,.0f} events/s: {rate / raw:.0%}")  # fmt: skip
    print(f"{dialect}: lag at 100 commands/s over {len(lags)} commands: "
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms")  # fmt: skip
    print(json.dumps({
        "name": f"outbox_relay_{dialect}", "rate": round(rate),
        "baseline_rate": round(raw), "ratio": round(rate / raw, 3), "events": events,
        "lag_p50_ms": round(p50, 1), "lag_p99_ms": round(p99, 1),
        "lag_samples": len(lags),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
