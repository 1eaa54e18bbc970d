"""A 双十一 peak: a burst of orders as fast as the ledger takes them, relayed to
a WDT that allows only so many calls a minute.

    python -m bench.peak --db sqlite:////tmp/peak.db [--quick] [--orders 20000]
        [--calls-per-minute 300]
    python -m bench.peak --db postgresql://postgres@127.0.0.1/bench --quick

The WDT simulator (`orderledger sim wdt --calls-per-minute L`, its own
process) refuses calls past L in any minute, as a real account does; the
relay (`orderledger outbox run --follow`, its own process) is told the same
limit (ORDERLEDGER_WDT_CALLS_PER_MINUTE) and paces its calls to 90% of it.
This process creates the orders (cash on delivery: each is pushed at once),
one client, as fast as it can, and samples the outbox backlog every half
second. Reported: commands/s during the burst, the backlog over time, time
to drain, lag (acknowledgement − commit) of the burst's orders and of a
steady trickle after it (20 orders/s for 5 s), each process's peak RSS, and
whether every order reached WDT exactly once (the simulator counts pushes).

Last line, JSON: `rate` = events drained per second (burst start to the last
acknowledgement), `baseline_rate` = the same trades pushed straight to the
same simulator by one client paced at the same limit, in the same run (the
best the limit allows), `ratio` = rate / baseline_rate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from sqlalchemy import select

from bench.relay import SECRET, reset
from orderledger.bootstrap import build_delivery_store, build_ledger
from orderledger.config import Secret, Settings, WdtSettings, normalise_db_url
from orderledger.domain.values import Source
from orderledger.outbox.clients import WdtClient
from orderledger.outbox.store import DeliveryStore
from tests.factories import draft
from tests.simfixtures import spawn_wdt_simulator

WHO: dict[str, Any] = {"actor": "bench", "source": Source.WEBSITE}
SAMPLE_SECONDS = 0.5
TRICKLE_RATE, TRICKLE_SECONDS = 20.0, 5.0
DRAIN_LIMIT_SECONDS = 1800.0
BATCH = 50  # trades per trade_push, as the relay sends them


def _control(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path, data=data, method="POST" if data else "GET"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _peak_rss_mb(pid: int) -> float:
    """The process's high-water resident memory (Linux: VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _relay_process(db: str, wdt_url: str, limit: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ORDERLEDGER_WDT_URL": wdt_url,
        "ORDERLEDGER_WDT_SID": "s",
        "ORDERLEDGER_WDT_APPKEY": "k",
        "ORDERLEDGER_WDT_APPSECRET": SECRET,
        "ORDERLEDGER_WDT_CALLS_PER_MINUTE": str(limit),
        "ORDERLEDGER_OUTBOX_POLL": "0.05",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "orderledger.cli", "--db", db, "outbox", "run",
         "--follow", "--destination", "wdt"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


class Backlog:
    """Messages not yet acknowledged, sampled from the delivery table."""

    def __init__(self, store: DeliveryStore) -> None:
        self.store = store
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.started = time.perf_counter()

    def now(self) -> int:
        counts = self.store.counts("wdt")
        return sum(n for state, n in counts.items() if state != "acknowledged")

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_SECONDS):
            self.samples.append((time.perf_counter() - self.started, self.now()))


def _acked_at(store: DeliveryStore) -> dict[str, float]:
    d = store.deliveries
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(d.c.order_no, d.c.acked_at).where(d.c.destination == "wdt")
        )
        return {r.order_no: r.acked_at for r in rows if r.acked_at is not None}


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[
        max(int(len(ordered) * 0.99) - 1, 0)
    ] * 1000


def _baseline(wdt_url: str, limit: int, trades: list[dict[str, Any]]) -> float:
    """The same trades pushed straight, 50 a call, paced at the same limit."""
    _control(wdt_url, "/_sim/reset", {})
    _control(wdt_url, "/_sim/limit", {"calls_per_minute": limit})
    client = WdtClient(
        WdtSettings(wdt_url, "s", "k", Secret(SECRET), calls_per_minute=limit)
    )
    started = time.perf_counter()
    for i in range(0, len(trades), BATCH):
        client.push_trades(trades[i : i + BATCH])
    return len(trades) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--calls-per-minute", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="2,000 orders")
    args = parser.parse_args()
    db = normalise_db_url(args.db)
    orders = 2_000 if args.quick else args.orders
    limit = args.calls_per_minute
    reset(db)
    sim, wdt_url = spawn_wdt_simulator(SECRET, "--calls-per-minute", str(limit))
    relay = _relay_process(db, wdt_url, limit)
    try:
        ledger = build_ledger(Settings(db_url=db))
        store = build_delivery_store(ledger)
        backlog = Backlog(store)
        sampler = threading.Thread(target=backlog.run, daemon=True)
        sampler.start()
        committed: dict[str, float] = {}
        burst_started = time.perf_counter()
        for n in range(orders):
            no = f"PEAK-{n:06d}"
            ledger.create(draft("cod", order_no=no), **WHO)
            committed[no] = time.time()
        burst_seconds = time.perf_counter() - burst_started
        deadline = time.perf_counter() + DRAIN_LIMIT_SECONDS
        while backlog.now() and time.perf_counter() < deadline:
            time.sleep(0.2)
        drained = time.perf_counter()
        left = backlog.now()
        # The trickle after the peak: is the relay back to normal?
        trickle: dict[str, float] = {}
        for n in range(int(TRICKLE_RATE * TRICKLE_SECONDS)):
            due = drained + n / TRICKLE_RATE
            time.sleep(max(0.0, due - time.perf_counter()))
            no = f"AFTER-{n:04d}"
            ledger.create(draft("cod", order_no=no), **WHO)
            trickle[no] = time.time()
        while backlog.now() and time.perf_counter() < deadline + 60:
            time.sleep(0.05)
        backlog.stop.set()
        acked = _acked_at(store)
        pushes = {t["tid"]: t["pushes"] for t in _control(wdt_url, "/_sim/state")}
        refused = _control(wdt_url, "/_sim/limit")["refused"]
        rss = {
            "bench": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "relay": _peak_rss_mb(relay.pid),
            "wdt_simulator": _peak_rss_mb(sim.pid),
        }
        trades = [json.loads(m["payload"]) for m in store.messages("wdt")]
        trades = [t for t in trades if str(t["tid"]).startswith("PEAK-")]
        ledger.close()
    finally:
        relay.terminate()
        relay.wait(60)
    try:
        baseline = _baseline(wdt_url, limit, trades)
    finally:
        sim.terminate()
        sim.wait(10)

    burst_lag = _percentiles([acked[k] - t for k, t in committed.items() if k in acked])
    after_lag = _percentiles([acked[k] - t for k, t in trickle.items() if k in acked])
    expected = set(committed) | set(trickle)
    lost = sorted(expected - set(pushes))
    duplicated = sorted(k for k, n in pushes.items() if n != 1)
    rate = orders / (drained - burst_started)  # one event per order
    dialect = db.split(":")[0].split("+")[0]
    peak_backlog = max((n for _, n in backlog.samples), default=0)
    drain = drained - burst_started
    print(
        f"{dialect}: burst of {orders} orders at {orders / burst_seconds:,.0f} "
        f"commands/s ({burst_seconds:.1f} s); WDT limit {limit} calls/min, relay "
        "paced at 90%"
    )
    print(
        f"backlog peak {peak_backlog}, drained {drain:.1f} s after the burst began "
        f"({left} left); {refused} calls refused by the limit"
    )
    print(
        "backlog over time (s: messages): "
        + ", ".join(
            f"{t:.0f}: {n}"
            for t, n in backlog.samples[:: max(len(backlog.samples) // 12, 1)]
        )
    )
    print(
        f"lag of the burst's orders p50 {burst_lag[0] / 1000:.1f} s, p99 "
        f"{burst_lag[1] / 1000:.1f} s; of the trickle after it p50 "
        f"{after_lag[0]:.0f} ms, p99 {after_lag[1]:.0f} ms"
    )
    print("peak RSS MB: " + ", ".join(f"{k} {v:.0f}" for k, v in rss.items()))
    print(
        f"lost {len(lost)}, pushed more than once {len(duplicated)}; baseline (one "
        f"client, same limit) {baseline:,.0f} trades/s"
    )
    print(json.dumps({
        "name": f"peak_{dialect}", "orders": orders, "calls_per_minute": limit,
        "burst_commands_per_s": round(orders / burst_seconds),
        "drain_seconds": round(drain, 1), "left": left,
        "peak_backlog": peak_backlog, "refused_calls": refused,
        "lag_burst_p50_s": round(burst_lag[0] / 1000, 1),
        "lag_burst_p99_s": round(burst_lag[1] / 1000, 1),
        "lag_after_p50_ms": round(after_lag[0], 1),
        "lag_after_p99_ms": round(after_lag[1], 1),
        "peak_rss_mb": {k: round(v) for k, v in rss.items()},
        "lost": len(lost), "duplicated": len(duplicated),
        "rate": round(rate), "baseline_rate": round(baseline),
        "ratio": round(rate / baseline, 3),
    }))  # fmt: skip
    if lost or duplicated or left:
        raise SystemExit(f"lost {lost[:5]}, duplicated {duplicated[:5]}, {left} left")


if __name__ == "__main__":
    main()
