"""`orderledger order import FILE`: all or nothing, line numbers, resuming."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orderledger.cli.errors import EXIT_USAGE
from tests.cli.test_cli import events_in, run, run_json
from tests.factories import order_data


def jsonl(path: Path, orders: list[Any]) -> Path:
    path.write_text(
        "".join(
            (o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)) + "\n"
            for o in orders
        ),
        encoding="utf-8",
    )
    return path


def numbered(n: int, payment: str = "online") -> dict[str, Any]:
    return order_data(payment, order_no=f"IM-{n}")


def test_a_jsonl_file_is_imported_and_a_rerun_resumes(
    db_url: str, tmp_path: Path
) -> None:
    orders = [numbered(i, ("online", "cod")[i % 2]) for i in range(6)]
    half = jsonl(tmp_path / "half.jsonl", orders[:3])
    full = jsonl(tmp_path / "full.jsonl", orders)
    # The first half went in before a crash; the full file is run again.
    first = run_json(db_url, "order", "import", str(half))
    # Batches of 2: the rows after the first batch are checked by worker
    # processes, and written two by two.
    second = run_json(db_url, "order", "import", str(full), "--batch", "2")
    third = run_json(db_url, "order", "import", str(full))
    shown = run_json(db_url, "order", "show", "IM-5")
    verified = run(db_url, "audit", "verify", "--all")

    assert (first["imported"], first["already_in"]) == (3, 0)
    assert (second["imported"], second["already_in"]) == (3, 3)
    assert (third["imported"], third["already_in"]) == (0, 6)
    assert events_in(db_url) == 6
    assert (shown["status"], shown["payment"], shown["total"]) == (
        "未确认",
        "cod",
        "128.00",
    )
    assert verified.exit_code == 0, verified.output


def test_bad_rows_are_listed_by_line_and_nothing_is_imported(
    db_url: str, tmp_path: Path
) -> None:
    run_json(db_url, "order", "import", str(jsonl(tmp_path / "a.jsonl", [numbered(1)])))
    other = order_data("cod", order_no="IM-1")  # same number, different content
    rows = [
        numbered(2),
        {**numbered(3), "payment": "bitcoin"},
        "{not json",
        numbered(2),
        {**numbered(4), "lines": [{"sku": "A", "name": "a", "quantity": 0,
                                   "unit_price": "1.00"}]},
        other,
        {k: v for k, v in numbered(5).items() if k != "order_no"},
        numbered(6),
    ]  # fmt: skip
    before = events_in(db_url)

    bad_file = str(jsonl(tmp_path / "bad.jsonl", rows))
    result = run(db_url, "order", "import", bad_file, "--batch", "3")

    assert result.exit_code == EXIT_USAGE
    errors = result.stderr.splitlines()
    assert errors[0].startswith("line 2 (IM-3): unknown payment method")
    assert errors[1].startswith("line 3: not valid JSON")
    assert errors[2] == "line 4 (IM-2): repeats line 1"
    assert errors[3].startswith("line 5 (IM-4): line 1 quantity")
    assert errors[4] == "line 6 (IM-1): already in the ledger with different content"
    assert errors[5] == "line 7: order_no is required in an import"
    assert "6 bad row(s)" in errors[-1] and "nothing was imported" in errors[-1]
    assert events_in(db_url) == before


def test_a_csv_file_with_several_lines_per_order(db_url: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text(
        "order_no,ordered_at,customer,phone,payment,address,shipping_fee,"
        "sku,name,quantity,unit_price,discount\n"
        "CSV-1,2026-11-01T10:00:00,张三,13800138000,online,文三路 1 号,10.00,"
        "TEA-001,龙井,2,50.00,\n"
        "CSV-1,2026-11-01T10:00:00,张三,13800138000,online,文三路 1 号,10.00,"
        "CUP-010,杯,1,19.90,1.90\n"
        "CSV-2,,李四,13912345678,cod,建国路 1 号,0,POT-002,壶,1,420.00,20.00\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("order_no,sku\nX,Y\n", encoding="utf-8")

    result = run_json(db_url, "order", "import", str(csv_file))
    one = run_json(db_url, "order", "show", "CSV-1")
    two = run_json(db_url, "order", "show", "CSV-2")
    refused = run(db_url, "order", "import", str(bad))

    assert (result["format"], result["imported"]) == ("csv", 2)
    assert (one["total"], len(one["lines"])) == ("128.00", 2)
    assert one["ordered_at"].startswith("2026-11-01T10:00:00+08:00")
    assert two["total"] == "400.00"
    assert refused.exit_code == EXIT_USAGE
    assert "lacks column(s): name, quantity, unit_price" in refused.stderr
