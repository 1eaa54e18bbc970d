"""Read commands on the projections, and the projections commands, via CliRunner."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from orderledger.bootstrap import build_ledger
from orderledger.cli.errors import EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_USAGE
from orderledger.config import Settings
from orderledger.domain.values import Source
from tests.cli.test_cli import CREATE, run, run_json
from tests.factories import draft


def create(db: str, no: str, *extra: str) -> None:
    result = run(db, *CREATE, "--order-no", no, *extra)
    assert result.exit_code == 0, result.stderr


def test_order_list_prints_the_contract_fields(db_url: str) -> None:
    create(db_url, "L-1", "--ordered-at", "2026-11-01T09:00:00")
    create(db_url, "L-2", "--ordered-at", "2026-11-05T09:00:00")
    run(db_url, "order", "confirm", "L-2")

    everything = run_json(db_url, "order", "list")
    confirmed = run_json(db_url, "order", "list", "--status", "已确认")
    by_code = run_json(db_url, "order", "list", "--status", "unconfirmed")
    in_range = run_json(
        db_url, "order", "list", "--since", "2026-11-01", "--until", "2026-11-01"
    )
    by_product = run_json(db_url, "order", "list", "--product", "龙井", "--limit", "1")

    assert [(o["order_no"], o["status"]) for o in everything] == [
        ("L-2", "已确认"),
        ("L-1", "未确认"),
    ]
    assert [o["order_no"] for o in confirmed] == ["L-2"]
    assert [o["order_no"] for o in by_code] == ["L-1"]
    assert [o["order_no"] for o in in_range] == ["L-1"]
    assert [o["order_no"] for o in by_product] == ["L-2"]
    assert everything[0]["phone"] == "138****8000"
    assert {"total", "payment", "customer", "ordered_at"} <= set(everything[0])


def test_order_list_refuses_bad_filters(db_url: str) -> None:
    create(db_url, "L-3")

    bad_status = run(db_url, "order", "list", "--status", "lost")
    bad_time = run(db_url, "order", "list", "--since", "last tuesday")
    bad_limit = run(db_url, "order", "list", "--limit", "0")

    assert (
        bad_status.exit_code == EXIT_USAGE
        and "unknown status 'lost'" in bad_status.stderr
    )
    assert (
        bad_time.exit_code == EXIT_USAGE
        and "--since must be an ISO time" in bad_time.stderr
    )
    assert bad_limit.exit_code == EXIT_USAGE


def test_order_show_reads_the_view_and_says_when_it_lags(db_url: str) -> None:
    create(db_url, "V-1")
    ledger = build_ledger(Settings(db_url=db_url))
    ledger.confirm("V-1", actor="bypass", source=Source.OPS)  # no catch-up after this
    ledger.create(draft(order_no="V-2"), actor="bypass", source=Source.OPS)
    ledger.close()

    lagging = run(db_url, "--json", "order", "show", "V-1")
    unseen = run(db_url, "--json", "order", "show", "V-2")
    run(db_url, "projections", "catch-up")
    current = run_json(db_url, "order", "show", "V-1")
    missing = run(db_url, "order", "show", "NOPE")

    assert lagging.exit_code == 0
    assert "view lags the log by 1 event(s) of V-1" in lagging.stderr
    assert json.loads(lagging.stdout)["status"] == "已确认"
    assert json.loads(lagging.stdout)["source"] == "log"
    assert json.loads(unseen.stdout)["source"] == "log"
    assert (current["source"], current["status"], current["version"]) == (
        "view",
        "已确认",
        2,
    )
    assert missing.exit_code == EXIT_NOT_FOUND


def test_stats_by_every_dimension(db_url: str) -> None:
    create(db_url, "S-1", "--ordered-at", "2026-11-01T09:00:00")
    create(db_url, "S-2", "--ordered-at", "2026-11-02T09:00:00")
    run(db_url, "order", "cancel", "S-2", "--reason", "test")

    by_status = run_json(db_url, "stats", "--by", "status", "--until", "2026-11-30")
    by_day = run_json(db_url, "stats", "--by", "day", "--since", "2026-11-01")
    by_product = run_json(db_url, "stats", "--by", "product")
    by_category = run_json(db_url, "stats", "--by", "category")
    human = run(db_url, "stats", "--by", "brand")

    assert sorted((r["status"], r["orders"]) for r in by_status) == [
        ("已作废", 1),
        ("未确认", 1),
    ]
    assert by_day == [
        {
            "day": "2026-11-01",
            "orders": 1,
            "amount": "128.00",
            "voided": 0,
            "refunded": "0.00",
            "refunded_sales": "0.00",
            "refunded_voided": "0.00",
            "net": "128.00",
        },
        {
            "day": "2026-11-02",
            "orders": 1,
            "amount": "0.00",
            "voided": 1,
            "refunded": "0.00",
            "refunded_sales": "0.00",
            "refunded_voided": "0.00",
            "net": "0.00",
        },
    ]
    assert [(r["product"], r["quantity"], r["amount"]) for r in by_product] == [
        ("CUP-010", 1, "18.00"),
        ("TEA-001", 2, "100.00"),
    ]
    assert by_category == [
        {"category": "", "orders": 1, "name": "", "quantity": 3, "amount": "118.00"}
    ]
    assert human.exit_code == 0 and "voided orders are left out" in human.stdout


def test_projections_status_prints_the_contract_fields(db_url: str) -> None:
    create(db_url, "P-1")

    rows = run_json(db_url, "projections", "status")

    assert [r["name"] for r in rows] == [
        "order_status",
        "erp_status",
        "search",
        "statistics",
    ]
    for r in rows:
        assert r["position"] == r["head"] and r["lag_events"] == 0
        assert {"lag_seconds", "generation", "stale"} <= set(r)


def test_projections_rebuild_switches_or_refuses_on_differences(db_url: str) -> None:
    create(db_url, "B-1")
    create(db_url, "B-2")

    clean = run(db_url, "projections", "rebuild", "search")
    _tamper(
        db_url, "UPDATE olp_order_status_g1 SET total_cents = 1 WHERE order_no = 'B-2'"
    )
    refused = run(db_url, "projections", "rebuild", "order_status")
    forced = run(db_url, "--json", "projections", "rebuild", "order_status", "--force")
    after = run_json(db_url, "order", "show", "B-2")

    assert clean.exit_code == 0 and "switched: generation 2 is live" in clean.stdout
    assert refused.exit_code == EXIT_REFUSED
    assert "olp_order_status B-2 (" in refused.stdout
    assert "changed (total_cents: 1 -> 12800)" in refused.stdout
    assert "NOT switched" in refused.stdout
    assert forced.exit_code == 0 and json.loads(forced.stdout)[0]["switched"] is True
    assert after["total"] == "128.00" and after["source"] == "view"


def test_projections_follow_stops_after_max_seconds(db_url: str) -> None:
    create(db_url, "F-1")

    result = run(
        db_url, "projections", "follow", "--poll", "0.1", "--max-seconds", "0.5"
    )

    assert result.exit_code == 0
    assert "following the log" in result.stderr


def _tamper(db: str, sql: str) -> None:
    engine = create_engine(db)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def test_an_interrupted_rebuild_says_how_to_resume(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(db_url, "I-1")

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("orderledger.cli.projections.rebuild", interrupted)
    result = run(db_url, "projections", "rebuild", "search")

    assert result.exit_code == 130
    assert "rebuild interrupted" in result.stderr and "again to resume" in result.stderr
