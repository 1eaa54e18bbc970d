"""`audit history|erp|export` through the CLI."""

from __future__ import annotations

import csv
import io
import json

from orderledger.audit.export import FIELDS
from orderledger.cli.errors import EXIT_NOT_FOUND, EXIT_USAGE
from tests.cli.test_cli import CREATE, run, run_json


def lifecycle(db: str, no: str) -> None:
    assert run(db, *CREATE, "--order-no", no).exit_code == 0
    run(db, "order", "confirm", no, "--by", "amy")
    run(db, "order", "pay", no, "--amount", "128.00", "--by", "amy")


def test_history_as_of_shows_what_was_known_then(db_url: str) -> None:
    lifecycle(db_url, "AH-1")
    confirmed_at = run_json(db_url, "order", "history", "AH-1")[1]["time"]

    then = run_json(db_url, "audit", "history", "AH-1", "--as-of", confirmed_at)
    now = run_json(db_url, "audit", "history", "AH-1")
    erp = run_json(db_url, "audit", "erp", "AH-1", "--as-of", confirmed_at)
    missing = run(db_url, "audit", "history", "NOPE")

    assert (then["state"]["status"], len(then["timeline"])) == ("已确认", 2)
    assert [e["actor"] for e in then["timeline"]][1] == "amy"
    assert (now["state"]["status"], len(now["timeline"])) == ("已支付", 3)
    assert erp["expected"]["erp_label"] == "待审核" and erp["expected"][
        "wdt_codes"
    ] == [10]
    assert erp["observed"] is None
    assert missing.exit_code == EXIT_NOT_FOUND


def test_export_is_complete_and_stable_in_json_and_csv(db_url: str) -> None:
    lifecycle(db_url, "AX-1")
    lifecycle(db_url, "AX-2")

    first = run(db_url, "audit", "export", "AX-1", "--format", "json").stdout
    second = run(db_url, "audit", "export", "AX-1", "--format", "json").stdout
    as_csv = run(
        db_url, "audit", "export", "--since", "2000-01-01", "--format", "csv"
    ).stdout

    records = json.loads(first)
    assert first == second
    assert [(r["order_no"], r["version"], r["type"]) for r in records] == [
        ("AX-1", 1, "Created"),
        ("AX-1", 2, "Confirmed"),
        ("AX-1", 3, "PaymentConfirmed"),
    ]
    assert records[1]["chain_prev"] == records[0]["chain_hash"]
    table = list(csv.DictReader(io.StringIO(as_csv)))
    assert tuple(table[0]) == FIELDS and len(table) == 6
    assert {r["order_no"] for r in table} == {"AX-1", "AX-2"}


def test_audit_commands_refuse_bad_usage(db_url: str) -> None:
    lifecycle(db_url, "AU-1")

    neither = run(db_url, "audit", "export")
    both = run(db_url, "audit", "export", "AU-1", "--since", "2026-01-01")
    bad_time = run(db_url, "audit", "history", "AU-1", "--as-of", "yesterday")
    unknown = run(db_url, "audit", "verify", "NOPE")

    assert neither.exit_code == EXIT_USAGE and both.exit_code == EXIT_USAGE
    assert (
        bad_time.exit_code == EXIT_USAGE
        and "--as-of must be an ISO time" in bad_time.stderr
    )
    # docs/cli.md: an unknown order is "not found" (4), as everywhere else
    assert unknown.exit_code == EXIT_NOT_FOUND and "NOPE not found" in unknown.stderr
