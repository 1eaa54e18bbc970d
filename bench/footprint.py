"""What grows with the log: disk per event, and how long a rebuild and a full
verification take per million events (for docs/capacity.md).

    python -m bench.footprint --db postgresql://postgres@127.0.0.1/bench
    python -m bench.footprint --db postgresql://… --events 1000000
    python -m bench.footprint --db sqlite:////tmp/footprint.db [--quick]

Generates the log (loggen.py: the application's own events, every order of
its own customer, so the vault holds a key and a record per order), builds
every view and the WDT outbox's delivery rows, then measures the space each
part takes (PostgreSQL: pg_total_relation_size, indexes included; SQLite:
the dbstat table, or the file) and times one view's rebuild and `audit
verify --all` over the whole log. Prints the parts in bytes per event and,
last, one JSON object with name, bytes_per_event, the parts, and the rates
(`rate` = verify events/s, `baseline_rate` = a raw scan of the same rows,
`ratio`), so the usual reader of these lines finds its fields.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from sqlalchemy import Engine, select, text

from bench.loggen import drop_tables, ensure_log
from orderledger.audit.verify import verify
from orderledger.bootstrap import build_ledger, build_projections, build_relay
from orderledger.config import Secret, Settings, WdtSettings, normalise_db_url
from orderledger.outbox.relay import RelayPolicy
from orderledger.projections.rebuild import start_or_resume, switch

PARTS = {  # table name prefix -> what it holds
    "orderledger_events": "the log",
    "orderledger_snapshots": "snapshots",
    "vault_": "the vault (keys and sealed personal data)",
    "olp_": "the four views",
    "outbox_": "the outbox's delivery rows (WDT)",
}


def _sizes(engine: Engine) -> dict[str, int]:
    """Bytes per table, indexes included."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname = current_schema()"
            ))  # fmt: skip
            return {name: int(size) for name, size in rows}
        conn.exec_driver_sql("VACUUM")
        try:
            rows = conn.execute(text(
                "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s "
                "LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1"
            ))  # fmt: skip
            return {name: int(size) for name, size in rows}
        except Exception:  # a SQLite built without dbstat: the whole file only
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            return {"orderledger_events": int(pages) * int(size)}


def _grouped(sizes: dict[str, int]) -> dict[str, int]:
    return {
        label: sum(s for name, s in sizes.items() if name.startswith(prefix))
        for prefix, label in PARTS.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 events")
    args = parser.parse_args()
    url = normalise_db_url(args.db)
    events = 20_000 if args.quick else args.events
    settings = Settings(db_url=url)
    ledger = build_ledger(settings)
    engine: Any = ledger.recorder.datastore.engine  # type: ignore[attr-defined]
    if not ensure_log(ledger, events):
        drop_tables(engine, ("olp_", "outbox_"))
    store = build_projections(ledger, settings)
    store.catch_up_all()
    # The WDT messages, as the relay makes them (nothing is sent).
    wdt = WdtSettings("http://127.0.0.1:9", "s", "k", Secret("unused"))
    relay = build_relay(ledger, "wdt", wdt=wdt, u8=None,
                        policy=RelayPolicy(page_size=2000))  # fmt: skip
    while relay.enqueue():
        pass
    relay.close()
    head = store.head()
    parts = _grouped(_sizes(engine))
    total = sum(parts.values())

    generation = start_or_resume(store, "order_status", restart=True)
    started = time.perf_counter()
    store.catch_up("order_status", generation, page_size=2000,
                   built_version=store.projections["order_status"].version)  # fmt: skip
    rebuild_s = time.perf_counter() - started
    switch(store, "order_status", generation)

    e = store.events
    started = time.perf_counter()
    with engine.connect() as conn:
        scanned = sum(1 for _ in conn.execution_options(yield_per=2000).execute(
            select(e.c.originator_id, e.c.originator_version, e.c.topic, e.c.state)
            .order_by(e.c.originator_id, e.c.originator_version)))  # fmt: skip
    scan_s = time.perf_counter() - started
    started = time.perf_counter()
    report = verify(engine, e)
    verify_s = time.perf_counter() - started
    ledger.close()

    dialect = url.split(":")[0].split("+")[0]
    print(f"{dialect}: {head:,} events, {total / 2**20:,.0f} MB in all, "
          f"{total / head:,.0f} bytes per event")  # fmt: skip
    for label, size in parts.items():
        print(f"  {label:<45} {size / head:>7,.0f} bytes/event")
    print(f"rebuild of order_status {head / rebuild_s:,.0f} events/s; audit verify "
          f"--all {head / verify_s:,.0f} events/s (raw scan {scanned / scan_s:,.0f} "
          f"rows/s); chains intact: {report.ok}")  # fmt: skip
    print(json.dumps({
        "name": f"footprint_{dialect}", "events": head,
        "bytes_per_event": round(total / head),
        "parts_bytes_per_event": {k: round(v / head) for k, v in parts.items()},
        "rebuild_events_per_s": round(head / rebuild_s),
        "rate": round(head / verify_s), "baseline_rate": round(scanned / scan_s),
        "ratio": round((head / verify_s) / (scanned / scan_s), 3),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
