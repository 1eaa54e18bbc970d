"""The main job: `orderledger demo`, a realistic day against the simulators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from orderledger.cli.errors import EXIT_USAGE
from orderledger.cli.main import cli
from tests.cli.test_cli import CREATE, events_in, run


def test_the_day_ends_with_tasks_for_a_person_and_nothing_unexplained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORDERLEDGER_DB", raising=False)
    result = CliRunner().invoke(cli, ["demo"])
    db = f"sqlite:///{tmp_path / 'orderledger-demo.db'}"
    report = json.loads(run(db, "--json", "reconcile").stdout)
    verified = run(db, "audit", "verify")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "the relay keeps retrying with backoff" in out
    assert "website followed the ERP" in out
    assert "a chipped cup back, 39.90 refunded" in out
    # the new flows of issue 15, each backed by an event or a simulator state
    assert "paid at checkout: recorded before the back office confirms" in out
    assert "2.00 short (bank fee), part paid" in out
    assert "shipped by the back office: WDT marks it shipped outside (95)" in out
    assert "at the door (拒收): CUP-010 x2" in out
    assert "website followed the ERP: SO" in out and "-EX1 ship exchange" in out
    assert "missing_in_erp: repush -> re-pushed" in out
    assert "U8 10 document(s)" in out  # 3 completed orders x 3, and the credit
    assert "unexplained differences: 0" in out
    assert "database: sqlite:///orderledger-demo.db" in out
    assert report["counts"] == {
        "missing_in_erp": 0,
        "erp_behind": 0,
        "erp_ahead": 0,  # WDT cancelled one on its own: the website followed
        "cancel_blocked": 1,  # voided after WDT's review: intercepted
        "unknown": 0,
    }
    assert [t["kind"] for t in report["open_tasks"]] == ["intercept"]
    # "ops corrects H's address" is an event, recorded before the re-push
    listed = json.loads(run(db, "--json", "order", "list").stdout)
    (h,) = [o["order_no"] for o in listed if o["order_no"].endswith("-H")]
    history = json.loads(run(db, "--json", "order", "history", h).stdout)
    types = [e["type"] for e in history]
    assert types.index("Modified") < types.index("ErpResyncRequested")
    assert verified.exit_code == 0, verified.output
    # Run again: a fresh demo database, the same story.
    again = CliRunner().invoke(cli, ["demo"])
    assert again.exit_code == 0, again.output
    assert (
        events_in(db) == events_in(db) and "unexplained differences: 0" in again.stdout
    )


def test_the_demo_refuses_a_database_that_holds_orders(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'mine.db'}"
    run(db, *CREATE, "--order-no", "MINE-1")
    before = events_in(db)
    refused = run(db, "demo")

    assert refused.exit_code == EXIT_USAGE
    assert "needs an empty database" in refused.stderr
    assert events_in(db) == before
