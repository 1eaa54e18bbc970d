"""Commands over HTTP against the same commands through OrderLedger directly.

    python -m bench.api --db postgresql://postgres@127.0.0.1/bench [--quick]
    python -m bench.api --db postgresql://postgres@127.0.0.1/bench --clients 8

A real `orderledger serve` with `--workers` processes on a free loopback port;
`--clients` threads, each with its own keep-alive httpx client, drive full
order flows (create as the website; confirm, pay, ship, receive as the back
office: five commands, each with an Idempotency-Key). Rate = commands per
second over HTTP, all clients together, at full speed.

Baseline, same run: the same flows through `OrderLedger` in this process, as
many threads as clients (the cost of the ledger and the database alone).
Ratio = rate / baseline_rate. Then latency: the clients paced to
`--paced-rate` commands per second in total, p50 and p99 of each request.
Prints one JSON object last: name, rate, baseline_rate, ratio, p50_ms, p99_ms,
paced_rate.
"""

from __future__ import annotations

import argparse
import json
import statistics as stats
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from bench.loggen import DERIVED, drop_tables
from orderledger.bootstrap import build_ledger
from orderledger.config import Settings, normalise_db_url
from orderledger.domain.values import Delivery, Source
from tests.api.conftest import new_token, start_server
from tests.factories import ORDER_TOTAL, draft

STEPS = 5  # commands per order
WHO: dict[str, Any] = {"actor": "bench", "source": Source.BACK_OFFICE}
TEA = [{"sku": "TEA-001", "name": "西湖龙井", "quantity": 2, "unit_price": "50.00"}]


def reset(db: str) -> None:
    ledger = build_ledger(Settings(db_url=db))
    drop_tables(ledger.recorder.datastore.engine, ("orderledger_", "api_", *DERIVED))  # type: ignore[attr-defined]
    ledger.close()


def in_threads(clients: int, work: Callable[[int], None]) -> float:
    """Seconds for `clients` threads each running work(its index)."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def baseline(db: str, clients: int, orders: int) -> float:
    """Commands per second through OrderLedger, `clients` threads."""
    ledger = build_ledger(Settings(db_url=db))
    ledger.create(draft("online", order_no="BASE-warm"), **WHO)

    def flows(c: int) -> None:
        for i in range(orders):
            no = f"BASE-{c}-{i}"
            ledger.create(draft("online", order_no=no), **WHO)
            ledger.confirm(no, **WHO)
            ledger.confirm_payment(no, Decimal(ORDER_TOTAL), **WHO)
            ledger.ship(no, Delivery("SF", f"SF{i}"), **WHO)
            ledger.confirm_receipt(no, **WHO)

    elapsed = in_threads(clients, flows)
    ledger.close()
    return clients * orders * STEPS / elapsed


class HttpFlows:
    def __init__(self, url: str, web: str, office: str) -> None:
        self.url, self.web, self.office = url, web, office
        self.latencies: list[float] = []
        self.lock = threading.Lock()

    def run(self, prefix: str, orders: int, interval: float = 0.0) -> None:
        """`orders` full flows; with `interval`, one command every `interval`
        seconds at most (pacing)."""
        web = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.web}"}
        )
        office = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.office}"}
        )
        own: list[float] = []
        next_at = time.perf_counter()
        try:
            for i in range(orders):
                no = f"{prefix}-{i}"
                create = {"order_no": no, "customer": "张三", "phone": "13800138000",
                          "address": "科技园南路 88 号", "payment": "online",
                          "shipping_fee": "28.00", "lines": TEA}  # fmt: skip
                steps = [
                    (web, "/orders", create),
                    (office, f"/orders/{no}/confirm", {}),
                    (office, f"/orders/{no}/pay", {"amount": ORDER_TOTAL}),
                    (office, f"/orders/{no}/ship", {"carrier": "SF", "tracking": no}),
                    (office, f"/orders/{no}/receive", {}),
                ]  # fmt: skip
                for n, (client, path, body) in enumerate(steps):
                    if interval:
                        time.sleep(max(0.0, next_at - time.perf_counter()))
                        next_at += interval
                    started = time.perf_counter()
                    answer = client.post(
                        path, json=body, headers={"Idempotency-Key": f"{no}-{n}"}
                    )
                    own.append(time.perf_counter() - started)
                    if answer.status_code not in (200, 201):
                        raise RuntimeError(
                            f"{path}: {answer.status_code} {answer.text}"
                        )
        finally:
            web.close()
            office.close()
        with self.lock:
            self.latencies += own


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1/test")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--orders", type=int, default=60, help="per client")
    parser.add_argument("--paced-rate", type=float, default=200.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    db = normalise_db_url(args.db)
    orders = 15 if args.quick else args.orders

    reset(db)
    base = baseline(db, args.clients, orders)
    web = new_token(db, "website", "bench-web")
    office = new_token(db, "back_office", "bench-office")
    url, server = start_server(db, workers=args.workers)
    try:
        flows = HttpFlows(url, web, office)
        flows.run("HTTP-warm", 2)
        flows.latencies.clear()
        elapsed = in_threads(args.clients, lambda c: flows.run(f"HTTP-{c}", orders))
        rate = args.clients * orders * STEPS / elapsed
        flows.latencies.clear()
        per_client = args.clients / args.paced_rate  # seconds between commands
        paced_orders = max(4, orders // 2)
        in_threads(
            args.clients,
            lambda c: flows.run(f"PACED-{c}", paced_orders, interval=per_client),
        )
        latencies = flows.latencies
    finally:
        server.terminate()
        server.wait(10)
    result = {
        "name": "api",
        "database": db.split("://")[0],
        "workers": args.workers,
        "clients": args.clients,
        "commands": args.clients * orders * STEPS,
        "rate": round(rate, 1),
        "baseline_rate": round(base, 1),
        "ratio": round(rate / base, 3),
        "paced_rate": args.paced_rate,
        "p50_ms": round(stats.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
