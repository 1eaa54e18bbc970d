"""`orderledger return …` through the CLI: the flow, JSON, and every refusal
with its exit code and nothing appended."""

from __future__ import annotations

import pytest

from orderledger.cli.errors import EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_USAGE
from tests.cli.test_cli import CREATE, events_in, run, run_json


def delivered(db: str, no: str) -> None:
    run(db, *CREATE, "--order-no", no)
    run(db, "order", "confirm", no)
    run(db, "order", "pay", no, "--amount", "128.00")
    run(db, "order", "ship", no, "--carrier", "SF", "--tracking", "SF1")


def test_apply_review_receive_refund_and_show(db_url: str) -> None:
    delivered(db_url, "CR-1")
    opened = run_json(
        db_url, "return", "apply", "CR-1", "--line", "TEA-001:2", "--reason", "碎了"
    )
    run(db_url, "return", "review", "CR-1", "AS1", "--approve")
    run(db_url, "return", "receive", "CR-1", "AS1", "--accept", "TEA-001:1",
        "--reject", "TEA-001:1", "--reason", "one was used")  # fmt: skip
    refunded = run_json(
        db_url, "return", "refund", "CR-1", "AS1", "--amount", "50.00",
        "--reference", "ALI-R1",
    )  # fmt: skip
    shown = run_json(db_url, "return", "show", "CR-1")
    human = run(db_url, "return", "show", "CR-1")
    history = run(db_url, "order", "history", "CR-1")
    listed = run_json(db_url, "order", "list", "--order-no", "CR-1")

    assert opened["case_id"] == "AS1"
    assert refunded["refund_id"] == "RF1"
    (case,) = shown["after_sales"]
    assert (case["state"], case["state_label"], case["refunded"]) == (
        "closed",
        "已完成",
        "50.00",
    )
    assert case["accepted"] == [{"line": 1, "quantity": 1, "sku": "TEA-001"}]
    assert shown["refunded_amount"] == "50.00"
    assert "AS1 退货 已完成" in human.stdout
    assert "refund RF1 of 50.00 for AS1" in history.stdout
    assert (listed[0]["refunded_amount"], listed[0]["after_sales"]) == (
        "50.00",
        "售后完成",
    )


REFUSALS = [
    (["apply", "CR-2", "--line", "TEA-001:3", "--reason", "x"], EXIT_REFUSED,
     "only 2 of 2"),
    (["apply", "CR-2", "--line", "TEA-001:1"], EXIT_USAGE, "--reason"),
    (["apply", "CR-2", "--line", "TEA-001", "--reason", "x"], EXIT_USAGE, "SKU:QTY"),
    (["apply", "CR-2", "--line", "GONE:1", "--reason", "x"], EXIT_USAGE,
     "no line with SKU"),
    (["apply", "NOPE", "--line", "TEA-001:1", "--reason", "x"], EXIT_NOT_FOUND,
     "not found"),
    (["review", "CR-2", "AS9", "--approve"], EXIT_USAGE, "no after-sales case"),
    (["refund", "CR-2", "--amount", "10.00"], EXIT_REFUSED, "needs a received"),
    (["refund", "CR-2", "AS1", "--amount", "-1"], EXIT_USAGE, "amount"),
    (["ship", "CR-2", "AS1", "--carrier", "SF", "--tracking", "1"], EXIT_USAGE,
     "no after-sales case"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "message"), REFUSALS)
def test_refusals_exit_clearly_and_append_nothing(
    db_url: str, args: list[str], code: int, message: str
) -> None:
    delivered(db_url, "CR-2")
    before = events_in(db_url)

    result = run(db_url, "return", *args)

    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert events_in(db_url) == before


def test_order_list_finds_orders_by_after_sales_state(db_url: str) -> None:
    for no in ("CL-1", "CL-2", "CL-3"):
        delivered(db_url, no)
    run(db_url, "return", "apply", "CL-1", "--line", "TEA-001:1", "--reason", "x")
    run(db_url, "return", "apply", "CL-2", "--line", "TEA-001:1", "--reason", "x")
    run(db_url, "return", "review", "CL-2", "AS1", "--reject", "--reason", "late")

    def listed(which: str) -> list[str]:
        found = run_json(db_url, "order", "list", "--after-sales", which)
        return sorted(o["order_no"] for o in found)

    assert listed("open") == ["CL-1"]
    assert listed("closed") == ["CL-2"]
    assert listed("any") == ["CL-1", "CL-2"]
    assert run(db_url, "order", "list", "--after-sales", "soon").exit_code == 2


def test_refund_limits_through_the_cli(db_url: str) -> None:
    delivered(db_url, "CR-3")
    run(db_url, "return", "apply", "CR-3", "--line", "TEA-001:2", "--reason", "x")
    run(db_url, "return", "review", "CR-3", "AS1", "--approve")
    run(db_url, "return", "receive", "CR-3", "AS1", "--accept", "TEA-001:2")
    before = events_in(db_url)

    refund = ("return", "refund", "CR-3", "AS1", "--amount")
    beyond_case = run(db_url, *refund, "100.01")
    no_reason = run(db_url, *refund, "110.00", "--override")
    beyond_paid = run(db_url, *refund, "128.01", "--override", "--reason", "fee")
    rejected_without_reason = run(db_url, "return", "review", "CR-3", "AS1", "--reject")

    assert beyond_case.exit_code == EXIT_REFUSED
    assert "case AS1 still owes (100.00" in beyond_case.stderr
    assert no_reason.exit_code == EXIT_USAGE and "needs a reason" in no_reason.stderr
    assert beyond_paid.exit_code == EXIT_REFUSED
    assert "more than paid and not yet refunded (128.00)" in beyond_paid.stderr
    assert rejected_without_reason.exit_code == EXIT_REFUSED
    assert events_in(db_url) == before
