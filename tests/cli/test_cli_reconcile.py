"""`erp poll`, `reconcile` and `order show`'s ERP section through the CLI."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from orderledger.cli.errors import EXIT_NOT_FOUND, EXIT_USAGE
from orderledger.sim.server import SimServer
from tests.cli.test_cli import CREATE, events_in, run, run_json
from tests.simfixtures import control

CLASSES = {"missing_in_erp", "erp_behind", "erp_ahead", "cancel_blocked", "unknown"}


@pytest.fixture
def env(erp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in erp_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ORDERLEDGER_OUTBOX_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("ORDERLEDGER_RECONCILE_SLA_MINUTES", "0")
    return erp_env


def test_a_day_of_mismatches_reported_applied_and_settled(
    db_url: str, env: dict[str, str], wdt_server: SimServer, tmp_path: Path
) -> None:
    for no in ("K-1", "K-2", "K-3"):
        run(db_url, *CREATE, "--order-no", no, "--payment", "cod")
    run(db_url, "order", "confirm", "K-2")
    control(wdt_server, "/_sim/fault", {"mode": "reject", "key": "K-3"})
    run(db_url, "outbox", "run", "--destination", "wdt")
    control(wdt_server, "/_sim/advance", {"tid": "K-1", "step": "review"})
    control(wdt_server, "/_sim/advance", {"tid": "K-2", "step": "review"})
    run(db_url, "order", "cancel", "K-2", "--reason", "customer asked")
    run(db_url, "outbox", "run", "--destination", "wdt")
    time.sleep(2)  # the poll reads up to a second ago: let these changes settle
    polled = run(db_url, "erp", "poll")
    csv_path = tmp_path / "report.csv"

    dry = run_json(db_url, "reconcile", "--csv", str(csv_path))
    before = events_in(db_url)
    applied = run_json(db_url, "reconcile", "--apply")
    after = events_in(db_url)
    again = run_json(db_url, "reconcile", "--apply")
    human = run(db_url, "reconcile")
    shown = run_json(db_url, "order", "show", "K-2")

    assert polled.exit_code == 0, polled.output
    assert "website followed the ERP on 1 order(s)" in polled.stdout  # K-1 reviewed
    assert set(dry["counts"]) == CLASSES
    assert dry["counts"]["cancel_blocked"] == dry["counts"]["missing_in_erp"] == 1
    assert dry["applied"] is False
    by_order = {o["order_no"]: o for o in applied["orders"]}
    assert by_order["K-2"]["action"] == "intercept"
    assert by_order["K-3"]["action"] == "repush"
    assert after > before
    assert events_in(db_url) == after  # the second --apply changed nothing
    assert [t["order_no"] for t in again["open_tasks"]] == ["K-2"]
    with csv_path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["order_no"]: r["mismatch"] for r in rows} == {
        "K-2": "cancel_blocked",
        "K-3": "missing_in_erp",
    }
    assert "open tasks for a person (1):" in human.stdout
    assert "cancel_blocked" in human.stdout
    assert shown["erp"]["observed"]["erp_label"] == "待打单"
    assert shown["erp"]["observed"]["intercepted"] is True
    assert shown["erp"]["expected"]["erp_label"] == "已取消"
    assert shown["erp"]["pushed"]["platform_status"] == 90
    assert shown["erp"]["open_task"]["kind"] == "intercept"
    from_log = run_json(db_url, "order", "show", "K-2", "--from-log")
    assert from_log["erp"] == shown["erp"]
    listed = run_json(db_url, "order", "list", "--mismatch")
    assert [(o["order_no"], o["erp_expected"], o["erp_observed"]) for o in listed] == [
        ("K-2", "已取消", "待打单")
    ]
    assert listed[0]["open_task"] == "intercept"
    assert "ERP expected 已取消, is 待打单(55)  MISMATCH  task intercept" in (
        run(db_url, "order", "list", "--mismatch").stdout
    )


def test_reconcile_one_order_and_refusals(
    db_url: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(db_url, *CREATE, "--order-no", "K-9")
    one = run_json(db_url, "reconcile", "--order", "K-9")
    missing = run(db_url, "reconcile", "--order", "NOPE", "--apply")
    monkeypatch.setenv("ORDERLEDGER_ERP_FIRST_CANCEL", "whenever")
    before = events_in(db_url)
    bad = run(db_url, "reconcile", "--apply")

    assert one["checked"] == 1
    assert one["counts"]["missing_in_erp"] == 1  # never pushed, SLA 0
    assert missing.exit_code == EXIT_NOT_FOUND
    assert "order NOPE not found" in missing.stderr
    assert bad.exit_code == EXIT_USAGE
    assert "whenever" in bad.stderr
    assert events_in(db_url) == before


def test_show_without_erp_observation_says_so(db_url: str) -> None:
    run(db_url, *CREATE, "--order-no", "K-5")
    shown = run(db_url, "order", "show", "K-5")
    data = json.loads(run(db_url, "--json", "order", "show", "K-5").stdout)

    assert "observed nothing yet" in shown.stdout
    assert data["erp"]["observed"] is None
    assert data["erp"]["expected"]["wdt_codes"] == [10]
    assert data["erp"]["pushed"]["platform_status"] == 10
