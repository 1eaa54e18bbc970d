"""`order refuse` (拒收) through the CLI: the contract, and every refusal with
its exit code and nothing appended."""

from __future__ import annotations

import pytest

from orderledger.cli.errors import EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_USAGE
from tests.cli.test_cli import CREATE, events_in, run, run_json


def shipped_cod(db: str, no: str) -> None:
    args = [a if a != "online" else "cod" for a in CREATE]
    run(db, *args, "--order-no", no)
    run(db, "order", "confirm", no)
    run(db, "order", "ship", no, "--carrier", "SF", "--tracking", f"SF-{no}")


def test_refused_in_full_voids_the_order(db_url: str) -> None:
    shipped_cod(db_url, "RJ-1")

    shown = run_json(db_url, "order", "refuse", "RJ-1", "--reason", "不要了")
    human = run(db_url, "order", "show", "RJ-1")
    history = run(db_url, "order", "history", "RJ-1")

    assert (shown["status"], shown["payment_status"]) == ("已作废", "unpaid")
    assert shown["refused"] == [
        {"line": 1, "sku": "TEA-001", "quantity": 2},
        {"line": 2, "sku": "CUP-010", "quantity": 1},
    ]
    assert shown["allowed_actions"] == []
    assert "refused   at the door (拒收): TEA-001 x2, CUP-010 x1" in human.stdout
    assert "nothing kept: voided" in history.stdout


def test_accepted_in_part_is_worth_the_kept_lines_and_completes_on_payment(
    db_url: str,
) -> None:
    shipped_cod(db_url, "RJ-2")

    kept = run_json(
        db_url,
        "order",
        "refuse",
        "RJ-2",
        "--accept",
        "TEA-001:1",
        "--reason",
        "一盒坏了",
    )
    short = run(db_url, "order", "pay", "RJ-2", "--amount", "59.99")
    paid = run_json(db_url, "order", "pay", "RJ-2", "--amount", "0.01")
    returned_twice = run(
        db_url, "return", "apply", "RJ-2", "--line", "TEA-001:2", "--reason", "x"
    )

    assert (kept["status"], kept["total"]) == ("已收货", "60.00")  # 50 + shipping
    assert kept["refused"] == [
        {"line": 1, "sku": "TEA-001", "quantity": 1},
        {"line": 2, "sku": "CUP-010", "quantity": 1},
    ]
    assert short.exit_code == 0
    assert (paid["status"], paid["paid_amount"]) == ("已完成", "60.00")
    # only what was kept can come back later
    assert returned_twice.exit_code == EXIT_REFUSED
    assert "only 1 of 1 delivered" in returned_twice.stderr


REFUSALS = [
    (["RJ-3", "--reason", "x"], EXIT_REFUSED, "only a shipped order"),
    (["RJ-4"], EXIT_USAGE, "--reason"),
    (["RJ-4", "--reason", "x", "--accept", "GONE:1"], EXIT_USAGE, "no line with SKU"),
    (["RJ-4", "--reason", "x", "--accept", "TEA-001:3"], EXIT_USAGE,
     "only 2 were shipped"),
    (["RJ-4", "--reason", "x", "--accept", "TEA-001:2", "--accept", "CUP-010:1"],
     EXIT_USAGE, "nothing was refused"),
    (["RJ-4", "--reason", "x", "--accept", "TEA-001"], EXIT_USAGE, "SKU:QTY"),
    (["NOPE", "--reason", "x"], EXIT_NOT_FOUND, "not found"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "message"), REFUSALS)
def test_bad_refusals_exit_clearly_and_append_nothing(
    db_url: str, args: list[str], code: int, message: str
) -> None:
    run(db_url, *CREATE, "--order-no", "RJ-3")  # not shipped
    shipped_cod(db_url, "RJ-4")
    before = events_in(db_url)

    result = run(db_url, "order", "refuse", *args)

    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert events_in(db_url) == before
