"""Bulk import (`order import`): events per second against a raw bulk insert.

    python -m bench.import_orders --db postgresql://postgres@127.0.0.1/bench [--quick]
    python -m bench.import_orders --db sqlite:////tmp/import.db [--quick]
    python -m bench.import_orders --db sqlite:////tmp/import.db --personal-data

A JSON-lines file of N orders (1 to 3 lines each, all three payment methods)
is imported through the same code as the CLI command (check every row, then
write in batches of 2,000): rate = orders (one `Created` event each) per
second, reading and validating included. Baseline, same run: the stored
events the import wrote, inserted again into a table of the same shape with
raw multi-row INSERTs of 2,000 rows and a commit per batch (no parsing, no
validation, no domain).
With `--personal-data` the baseline is the same import without the
personal-data vault (every order of a new customer: a new key each), on a
fresh database each time, the two alternated twice.
Prints one JSON object last with name, rate, baseline_rate and ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.relay import reset
from bench.vault_compare import add_option, ledger_for, result
from orderledger.application import OrderLedger
from orderledger.application.order_import import Importer, read_rows
from orderledger.application.who import Who
from orderledger.bootstrap import build_ledger
from orderledger.config import Settings, normalise_db_url
from orderledger.domain.values import Source

PAYMENTS = ("online", "postal", "cod")


def write_file(path: Path, orders: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for n in range(orders):
            lines = [
                {
                    "sku": f"SKU-{rng.randint(0, 49):03d}",
                    "name": f"商品{n % 50}",
                    "quantity": rng.randint(1, 5),
                    "unit_price": f"{rng.randint(100, 99_999) / 100:.2f}",
                }
                for _ in range(rng.randint(1, 3))
            ]
            unique = {line["sku"]: line for line in lines}
            order = {
                "order_no": f"IMP-{n:08d}",
                "ordered_at": "2026-11-01T10:00:00+08:00",
                "customer": {"name": "张三", "phone": f"138{n % 10**8:08d}"},
                "payment": PAYMENTS[n % 3],
                "address": {
                    "receiver": "张三", "phone": "13800138000", "province": "广东省",
                    "city": "深圳市", "district": "南山区", "detail": f"{n} 号",
                },
                "shipping_fee": "10.00",
                "lines": list(unique.values()),
            }  # fmt: skip
            out.write(json.dumps(order, ensure_ascii=False) + "\n")


def raw_rate(eng: Any, db: str) -> float:
    """Copy the imported rows with raw multi-row INSERTs, 2,000 per commit."""
    with eng.connect() as conn:
        rows = conn.execute(
            text("SELECT originator_id, originator_version, topic, state "
                 "FROM orderledger_events ORDER BY id")
        ).all()  # fmt: skip
    raw = eng.raw_connection()
    cur = raw.cursor()
    pg = db.startswith("postgresql")
    cur.execute("DROP TABLE IF EXISTS bench_raw_copy")
    cur.execute(
        "CREATE TABLE bench_raw_copy (id "
        + ("bigserial" if pg else "INTEGER")
        + " PRIMARY KEY, originator_id "
        + ("uuid" if pg else "BLOB")
        + " NOT NULL, originator_version int NOT NULL, topic text NOT NULL, "
        "state " + ("bytea" if pg else "BLOB") + " NOT NULL, "
        "UNIQUE (originator_id, originator_version))"
    )
    raw.commit()
    mark = "%s" if pg else "?"
    started = time.perf_counter()
    for i in range(0, len(rows), 2000):
        chunk = rows[i : i + 2000]
        values = ", ".join([f"({mark}, {mark}, {mark}, {mark})"] * len(chunk))
        params = [value for row in chunk for value in row]
        cur.execute(
            "INSERT INTO bench_raw_copy (originator_id, originator_version, topic, "
            f"state) VALUES {values}",
            params,
        )
        raw.commit()
    elapsed = time.perf_counter() - started
    cur.execute("DROP TABLE bench_raw_copy")
    raw.commit()
    raw.close()
    return len(rows) / elapsed


def import_file(ledger: OrderLedger, path: Path) -> tuple[int, float, float]:
    """(orders written, seconds in all, seconds checking) of one import."""
    importer = Importer(ledger, ledger.tz, Who("bench", Source.OPS, ""))
    started = time.perf_counter()
    plan = importer.check(read_rows(path, "jsonl"))
    checked = time.perf_counter() - started
    assert not plan.bad, plan.bad[:3]
    written = importer.write(plan)
    return written, time.perf_counter() - started, checked


def vault_ratio(db: str, path: Path) -> dict[str, Any]:
    """The import with the personal-data vault against without it."""
    rates: dict[bool, list[float]] = {True: [], False: []}
    for vault in (False, True, False, True):
        reset(db)
        ledger = ledger_for(db, vault=vault)
        written, elapsed, _ = import_file(ledger, path)
        ledger.close()
        rates[vault].append(written / elapsed)
        print(f"{'with' if vault else 'without'} the vault: {written / elapsed:,.0f}/s")
    rate, plain = (sum(rates[v]) / 2 for v in (True, False))
    return result("import-personal-data", db, rate, plain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="A run under a minute.")
    add_option(parser)
    args = parser.parse_args()
    db = normalise_db_url(args.db)
    orders = 20_000 if args.quick else args.orders
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.jsonl"
        write_file(path, orders)
        if args.personal_data:
            print(json.dumps(vault_ratio(db, path)))
            return
        reset(db)
        ledger = build_ledger(Settings(db_url=db))
        written, elapsed, checked = import_file(ledger, path)
    rate = written / elapsed
    print(
        f"imported {written:,} orders in {elapsed:.1f} s ({rate:,.0f} events/s; "
        f"checking took {checked:.1f} s)"
    )
    baseline = raw_rate(ledger.recorder.datastore.engine, db)  # type: ignore[attr-defined]
    ledger.close()
    result = {
        "name": "import", "rate": round(rate), "baseline_rate": round(baseline),
        "ratio": round(rate / baseline, 3), "orders": written,
        "check_seconds": round(checked, 2), "db": db.split(":")[0],
        "baseline": "raw multi-row INSERT of the same rows, 2,000 per commit",
    }  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
