"""`audit verify --all` throughput against a raw scan of the same rows.

    python -m bench.verify --db postgresql://postgres@127.0.0.1/bench [--quick]
    python -m bench.verify --db sqlite:////tmp/verify.db --quick --personal-data

Generates a chained log (the application's own stored events, batched), then
times a raw `SELECT … ORDER BY originator_id, originator_version` over all
rows, and the full verification (decode, canonical form, SHA-256, links).
Prints one JSON object last with name, rate, baseline_rate, ratio.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from sqlalchemy import select

from bench.loggen import ensure_log
from bench.relay import reset
from bench.vault_compare import add_option, ledger_for, result
from orderledger.application import OrderLedger
from orderledger.audit.verify import verify
from orderledger.bootstrap import build_ledger, build_projections
from orderledger.config import Settings, normalise_db_url


def rates(ledger: OrderLedger, url: str, events: int) -> tuple[float, float, int]:
    """(verify events/s, raw scan rows/s, events) over a log of `events`."""
    store = build_projections(ledger, Settings(db_url=url))
    table: Any = store.events
    ensure_log(ledger, events)
    started = time.perf_counter()
    with store.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(
            select(
                table.c.originator_id,
                table.c.originator_version,
                table.c.topic,
                table.c.state,
            ).order_by(table.c.originator_id, table.c.originator_version)
        )
        rows = sum(1 for _ in result)
    raw_rate = rows / (time.perf_counter() - started)
    started = time.perf_counter()
    report = verify(store.engine, table)
    rate = report.events / (time.perf_counter() - started)
    assert report.ok, report.findings[:3]
    return rate, raw_rate, report.events


def vault_ratio(url: str, events: int) -> dict[str, Any]:
    """Verification of a log with personal data sealed against one without."""
    found: dict[bool, float] = {}
    for vault in (False, True):
        reset(url)
        ledger = ledger_for(url, vault=vault)
        found[vault], _, _ = rates(ledger, url, events)
        ledger.close()
        print(f"{'with' if vault else 'without'} the vault: {found[vault]:,.0f}/s")
    return result("audit_verify_personal_data", url, found[True], found[False])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 events")
    add_option(parser)
    args = parser.parse_args()
    url = normalise_db_url(args.db)
    events = 20_000 if args.quick else args.events
    if args.personal_data:
        print(json.dumps(vault_ratio(url, events)))
        return
    ledger = build_ledger(Settings(db_url=url))
    rate, raw_rate, verified = rates(ledger, url, events)
    dialect = url.split(":")[0].split("+")[0]
    ratio = rate / raw_rate
    print(f"{dialect}: verify {rate:,.0f} events/s over {verified} events")
    print(f"{dialect}: raw scan {raw_rate:,.0f} rows/s; ratio {ratio:.0%}")
    summary = {"name": f"audit_verify_{dialect}", "rate": round(rate),
               "baseline_rate": round(raw_rate), "ratio": round(ratio, 3)}  # fmt: skip
    print(json.dumps({**summary, "events": verified}))
    ledger.close()


if __name__ == "__main__":
    main()
