"""The CLI through click's CliRunner: exit codes, stdout, stderr, the log untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from orderledger.cli import cli
from orderledger.cli.errors import (
    EXIT_NOT_FOUND,
    EXIT_REFUSED,
    EXIT_STORAGE,
    EXIT_USAGE,
)
from orderledger.cli.lazy import subcommands
from tests.factories import ORDER_TOTAL, order_data

CREATE = [
    "order", "create", "--customer", "张三", "--phone", "13800138000",
    "--address", "科技园南路 88 号", "--payment", "online",
    "--line", "TEA-001:西湖龙井:2:50.00", "--line", "CUP-010:茶杯:1:18.00",
    "--shipping-fee", "10.00",
]  # fmt: skip


@pytest.fixture
def db(db_url: str) -> str:
    return db_url


def run(db: str, *args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], input=input)


def run_json(db: str, *args: str) -> Any:
    result = run(db, "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def events_in(db: str) -> int:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM orderledger_events")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_create_prints_the_contract_fields_as_json(db: str) -> None:
    out = run_json(db, *CREATE, "--order-no", "W-1")

    assert out["order_no"] == "W-1"
    assert out["status"] == "未确认"
    assert out["payment"] == "online"
    assert out["total"] == ORDER_TOTAL
    assert out["version"] == 1
    assert out["customer"]["phone"] == "138****8000"


def test_a_whole_lifecycle_through_the_cli(db: str) -> None:
    run_json(db, *CREATE, "--order-no", "W-2")

    steps = [
        run(db, "order", "confirm", "W-2", "--by", "amy"),
        run(db, "order", "pay", "W-2", "--amount", ORDER_TOTAL, "--by", "amy"),
        run(
            db,
            "order",
            "ship",
            "W-2",
            "--carrier",
            "SF",
            "--tracking",
            "SF9",
            "--by",
            "bo",
        ),
        run(db, "order", "receive", "W-2", "--by", "张三", "--source", "website"),
    ]

    assert [r.exit_code for r in steps] == [0, 0, 0, 0]
    assert steps[-1].stdout.strip() == "W-2 received: now 已完成"
    shown = run_json(db, "order", "show", "W-2")
    assert (shown["status"], shown["version"]) == ("已完成", 5)
    history = run_json(db, "order", "history", "W-2")
    assert [(e["version"], e["type"], e["actor"]) for e in history] == [
        (1, "Created", history[0]["actor"]),
        (2, "Confirmed", "amy"),
        (3, "PaymentConfirmed", "amy"),
        (4, "Shipped", "bo"),
        (5, "ReceiptConfirmed", "张三"),
    ]
    assert all(e["time"] for e in history)


def test_json_may_follow_the_command_too(db: str) -> None:
    run(db, *CREATE, "--order-no", "W-3")

    result = run(db, "order", "show", "W-3", "--json")

    assert json.loads(result.stdout)["order_no"] == "W-3"


def test_create_from_a_json_file(db: str, tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text(
        json.dumps(order_data("postal", order_no="F-1"), ensure_ascii=False)
    )

    out = run_json(db, "order", "create", "--file", str(path))

    assert (out["order_no"], out["payment"], out["total"]) == (
        "F-1",
        "postal",
        ORDER_TOTAL,
    )


def test_human_output_shows_the_order_and_its_history(db: str) -> None:
    run(db, *CREATE, "--order-no", "W-4")
    run(db, "order", "cancel", "W-4", "--reason", "customer asked", "--by", "amy")

    shown = run(db, "order", "show", "W-4")
    history = run(db, "order", "history", "W-4")

    assert "订单 W-4  已作废" in shown.stdout
    assert "138****8000" in shown.stdout and "13800138000" not in shown.stdout
    assert "Cancelled" in history.stdout and "reason: customer asked" in history.stdout


# ---- bad input: one line on stderr, a non-zero exit, nothing appended --------


def _bad_file(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    return str(path)


BAD_CREATES: list[tuple[str, list[str], str]] = [
    ("zero quantity", ["--line", "A:a:0:1.00"], "quantity"),
    ("negative quantity", ["--line", "A:a:-2:1.00"], "quantity"),
    ("price not a number", ["--line", "A:a:1:abc"], "unit price"),
    ("price with three decimals", ["--line", "A:a:1:1.005"], "unit price"),
    ("price in exponent form", ["--line", "A:a:1:1E+2"], "unit price"),
    ("malformed line", ["--line", "A-a-1"], "SKU:NAME:QTY:PRICE"),
    ("unknown payment", ["--payment", "bitcoin"], "unknown payment method"),
    ("absurdly long name", ["--customer", "x" * 5000], "too long"),
]


@pytest.mark.parametrize(
    ("case", "extra", "message"), BAD_CREATES, ids=[c[0] for c in BAD_CREATES]
)
def test_bad_create_input_is_refused_and_appends_nothing(
    db: str, case: str, extra: list[str], message: str
) -> None:
    run(db, *CREATE, "--order-no", "OK-1")
    before = events_in(db)

    result = run(db, *CREATE, *extra, "--order-no", "BAD-1")

    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output and result.stdout == ""
    assert events_in(db) == before


def test_missing_required_fields_are_named(db: str) -> None:
    result = run(db, "order", "create", "--customer", "张三")

    assert result.exit_code == EXIT_USAGE
    assert "is required" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (
            json.dumps({**order_data(), "lines": [{"sku": "A"}]}).encode(),
            "give the line in full",
        ),
    ],
)
def test_a_bad_json_file_is_refused(
    db: str, tmp_path: Path, content: bytes, message: str
) -> None:
    run(db, *CREATE, "--order-no", "OK-1")
    before = events_in(db)

    result = run(db, "order", "create", "--file", _bad_file(tmp_path, content))

    assert result.exit_code == EXIT_USAGE
    assert message in result.stderr
    assert events_in(db) == before


def test_an_unknown_order_exits_not_found(db: str) -> None:
    run(db, *CREATE, "--order-no", "OK-1")
    before = events_in(db)

    results = [
        run(db, "order", "confirm", "NOPE"),
        run(db, "order", "show", "NOPE"),
        run(db, "order", "history", "NOPE"),
    ]

    assert [r.exit_code for r in results] == [EXIT_NOT_FOUND] * 3
    assert results[0].stderr == "error: order NOPE not found\n"
    assert events_in(db) == before


def test_an_illegal_step_exits_refused_and_names_what_is_allowed(db: str) -> None:
    run(db, *CREATE, "--order-no", "W-5")
    before = events_in(db)

    result = run(db, "order", "ship", "W-5", "--carrier", "SF", "--tracking", "1")

    assert result.exit_code == EXIT_REFUSED
    assert result.stderr == (
        "error: order W-5 is 未确认: cannot ship (only a confirmed order ships); "
        "allowed from here: modify, confirm, cancel\n"
    )
    assert events_in(db) == before


def test_order_pay_records_any_positive_amount_whatever_the_state(db: str) -> None:
    """The contract: `order pay NO --amount X` records any positive amount on
    any order that exists; a prepaid order not paid in full does not ship."""
    run(db, *CREATE, "--order-no", "W-6")
    early = run_json(db, "order", "pay", "W-6", "--amount", "28.00")  # unconfirmed
    run(db, "order", "confirm", "W-6")
    short = run(db, "order", "ship", "W-6", "--carrier", "SF", "--tracking", "1")
    rest = run_json(db, "order", "pay", "W-6", "--amount", "100.00")
    before = events_in(db)
    zero = run(db, "order", "pay", "W-6", "--amount", "0")
    nope = run(db, "order", "pay", "NOPE", "--amount", "1.00")

    assert (early["payment_status"], early["paid_amount"]) == ("part_paid", "28.00")
    assert short.exit_code == EXIT_REFUSED and "only once paid" in short.stderr
    assert (rest["status"], rest["paid_amount"]) == ("已支付", "128.00")
    assert zero.exit_code == EXIT_USAGE and nope.exit_code == EXIT_NOT_FOUND
    assert events_in(db) == before


def test_cancel_without_a_reason_is_a_usage_error(db: str) -> None:
    run(db, *CREATE, "--order-no", "W-7")
    before = events_in(db)

    result = run(db, "order", "cancel", "W-7")

    assert result.exit_code == EXIT_USAGE
    assert "--reason" in result.stderr
    assert events_in(db) == before


def test_a_create_with_a_taken_number_and_other_content_is_refused(db: str) -> None:
    run(db, *CREATE, "--order-no", "W-8")
    before = events_in(db)

    same = run(db, *CREATE, "--order-no", "W-8")
    other = run(db, *CREATE[:-2], "--shipping-fee", "0", "--order-no", "W-8")

    assert same.exit_code == 0 and "already exists (identical)" in same.stdout
    assert other.exit_code == EXIT_REFUSED
    assert "already exists with different content" in other.stderr
    assert events_in(db) == before


def test_modify_changes_only_an_unconfirmed_order(db: str) -> None:
    run(db, *CREATE, "--order-no", "W-9")

    changed = run_json(
        db, "order", "modify", "W-9", "--address", "新地址 2 号", "--reason", "moved"
    )
    run(db, "order", "confirm", "W-9")
    refused = run(db, "order", "modify", "W-9", "--phone", "13900000000")

    assert changed["address"]["detail"] == "新地址 2 号" and changed["changed"] is True
    assert refused.exit_code == EXIT_REFUSED
    history = run_json(db, "order", "history", "W-9")
    assert (
        history[1]["details"]["changes"]["address"]["after"]["detail"] == "新地址 2 号"
    )
    assert history[1]["reason"] == "moved"


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    result = run("postgresql://nobody@127.0.0.1:1/none", "order", "show", "X")

    assert result.exit_code == EXIT_STORAGE
    assert result.stderr.startswith("error: cannot open the database")
    assert "Traceback" not in result.output


def test_exit_codes_are_distinct_and_each_is_documented() -> None:
    from orderledger.cli import errors

    codes = {n: v for n, v in vars(errors).items() if n.startswith("EXIT_")}
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()

    assert len(set(codes.values())) == len(codes) and 0 not in codes.values()
    assert {n for n, v in codes.items() if f"\n| {v} |" not in docs} == set()


# ---- every command has help ----------------------------------------------------


def _all_commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in subcommands(group).items():
        if isinstance(command, click.Group):
            found += _all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize(
    "path", _all_commands(cli), ids=lambda p: " ".join(p) or "root"
)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])

    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    command: Any = cli
    for name in path:
        command = subcommands(command)[name]
    assert command.help and len(command.help.strip()) > 10


def _tamper(db: str, sql: str) -> None:
    engine = create_engine(db)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE orderledger_events SET topic = 'gone.module:Gone'",
        "UPDATE orderledger_events SET state = CAST('{\"cut' AS BYTEA)",
    ],
    ids=["unknown topic", "truncated state"],
)
def test_an_undecodable_stored_event_is_reported_not_a_traceback(
    db: str, sql: str
) -> None:
    run(db, *CREATE, "--order-no", "W-10")
    _tamper(db, sql if db.startswith("postgresql") else sql.replace("BYTEA", "BLOB"))

    results = [
        run(db, "order", "show", "W-10", "--from-log"),
        run(db, "order", "history", "W-10"),
    ]

    for result in results:
        assert result.exit_code == EXIT_STORAGE, result.output
        assert result.stderr.startswith(
            "error: a stored event can no longer be decoded"
        )
        assert "originator_version 1" in result.stderr or "gone.module" in result.stderr
        assert "Traceback" not in result.output


def test_an_unexpected_error_is_one_line_without_the_rest_of_its_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(_settings: object) -> None:
        raise RuntimeError("boom\n[parameters: 13800138000]")

    monkeypatch.setattr("orderledger.bootstrap.build_ledger", broken)

    result = run(f"sqlite:///{tmp_path}/x.db", "order", "show", "X")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: internal error (RuntimeError: boom)")
    assert "13800138000" not in result.output and "Traceback" not in result.output
