"""The product catalog at the command line (docs/catalog.md): products with
brand, category and type by stable code, orders taking their lines from it,
statistics by brand, category and type, `product import` all or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from orderledger.cli import cli
from orderledger.cli.errors import EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_USAGE

REFUSE = {"ORDERLEDGER_UNKNOWN_SKUS": "refuse"}
ORDER = ("order", "create", "--customer", "张三", "--phone", "13800138000",
         "--address", "科技园南路 88 号", "--payment", "online")  # fmt: skip
TEA = ("product", "add", "--sku", "TEA-1", "--name", "西湖龙井", "--brand", "狮峰",
       "--category", "茶叶", "--type", "实物", "--price", "59.00",
       "--spec", "250g")  # fmt: skip


def run(db: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], env=env or REFUSE)


def ok(db: str, *args: str, env: dict[str, str] | None = None) -> Any:
    result = run(db, "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def catalog_events(db: str) -> int:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM catalog_events")).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_product_is_shown_with_the_fields_it_was_added_with(db_url: str) -> None:
    ok(db_url, *TEA)

    shown = ok(db_url, "product", "show", "TEA-1")

    assert {k: shown[k] for k in ("sku", "name", "brand", "category", "type")} == {
        "sku": "TEA-1", "name": "西湖龙井", "brand": "狮峰", "category": "茶叶",
        "type": "实物",
    }  # fmt: skip
    assert (shown["price"], shown["spec"], shown["active"]) == ("59.00", "250g", True)


def test_an_order_from_skus_records_the_catalog_values_of_its_time(
    db_url: str,
) -> None:
    ok(db_url, *TEA)
    ok(db_url, "product", "add", "--sku", "CUP-1", "--name", "茶杯", "--brand",
       "景德", "--category", "茶具", "--type", "实物", "--price", "20")  # fmt: skip

    order = ok(db_url, *ORDER, "--order-no", "C-1", "--line", "TEA-1:2",
               "--line", "CUP-1:1:18.50")  # fmt: skip
    ok(db_url, "product", "update", "TEA-1", "--price", "65.00", "--name", "龙井")
    ok(db_url, "product", "brand", "rename", "狮峰", "狮峰山")
    shown = ok(db_url, "order", "show", "C-1")

    tea, cup = shown["lines"]
    assert (tea["name"], tea["unit_price"], tea["spec"]) == (
        "西湖龙井",
        "59.00",
        "250g",
    )
    assert (tea["brand"], tea["category"], tea["type"]) == ("狮峰", "茶叶", "实物")
    assert (cup["unit_price"], cup["brand"]) == ("18.50", "景德")  # a given price wins
    assert order["total"] == shown["total"] == "136.50"


def test_a_sku_the_catalog_does_not_know_is_refused_unless_allowed(
    db_url: str,
) -> None:
    ok(db_url, *TEA)

    refused = run(db_url, *ORDER, "--line", "TEA-2:茶:1:10")
    retired = ok(db_url, "product", "retire", "TEA-1", "--reason", "停产")
    refused_retired = run(db_url, *ORDER, "--line", "TEA-1:1")
    allowed = ok(db_url, *ORDER, "--line", "TEA-2:茶:1:10",
                 env={"ORDERLEDGER_UNKNOWN_SKUS": "allow"})  # fmt: skip

    assert refused.exit_code == EXIT_USAGE
    assert "TEA-2 is not in the catalog" in refused.stderr
    assert "unknown_skus = allow" in refused.stderr
    assert retired["active"] is False
    assert (
        refused_retired.exit_code == EXIT_USAGE and "retired" in refused_retired.stderr
    )
    assert allowed["lines"][0]["name"] == "茶" and allowed["lines"][0]["type"] == ""
    assert len(ok(db_url, "order", "list")) == 1  # only the allowed one


def test_bad_product_commands_record_nothing(db_url: str) -> None:
    ok(db_url, *TEA)
    before = catalog_events(db_url)

    again = run(db_url, *TEA)
    bad_price = run(db_url, "product", "add", "--sku", "X-1", "--name", "x",
                    "--price", "1E+2")  # fmt: skip
    bad_sku = run(db_url, "product", "add", "--sku", "X 1", "--name", "x",
                  "--price", "1")  # fmt: skip
    nothing = run(db_url, "product", "update", "TEA-1")
    same = run(db_url, "product", "update", "TEA-1", "--price", "59.00")
    missing = run(db_url, "product", "show", "NOPE")
    no_goods = run(db_url, *ORDER, "--line", "TEA-1:0")
    bad_line_price = run(db_url, *ORDER, "--line", "TEA-1:1:-3")
    bad_type = run(db_url, "product", "add", "--sku", "X-2", "--name", "x",
                   "--price", "1", "--type", "x" * 40)  # fmt: skip

    assert again.exit_code == EXIT_REFUSED and "already in the catalog" in again.stderr
    assert bad_price.exit_code == EXIT_USAGE and "price" in bad_price.stderr
    assert bad_sku.exit_code == EXIT_USAGE and "SKU" in bad_sku.stderr
    assert nothing.exit_code == EXIT_USAGE and "nothing to update" in nothing.stderr
    assert same.exit_code == EXIT_REFUSED
    assert missing.exit_code == EXIT_NOT_FOUND
    assert no_goods.exit_code == EXIT_USAGE and "quantity" in no_goods.stderr
    assert bad_line_price.exit_code == EXIT_USAGE
    assert "unit price" in bad_line_price.stderr
    assert len(ok(db_url, "order", "list")) == 0
    assert bad_type.exit_code == EXIT_USAGE and "code" in bad_type.stderr
    assert catalog_events(db_url) == before


def test_stats_by_brand_category_and_type_with_filters_survive_a_rename(
    db_url: str,
) -> None:
    ok(db_url, *TEA)
    ok(db_url, "product", "add", "--sku", "CUP-1", "--name", "茶杯", "--brand",
       "景德", "--category", "茶具", "--type", "实物", "--price", "20")  # fmt: skip
    ok(db_url, "product", "add", "--sku", "CARD-1", "--name", "礼品卡", "--brand",
       "狮峰", "--category", "礼品", "--type", "虚拟", "--price", "100")  # fmt: skip
    ok(db_url, *ORDER, "--order-no", "S-1", "--line", "TEA-1:2", "--line", "CUP-1:1")
    ok(db_url, "product", "brand", "rename", "狮峰", "狮峰山")
    ok(db_url, *ORDER, "--order-no", "S-2", "--line", "TEA-1:1", "--line", "CARD-1:1")
    ok(db_url, *ORDER, "--order-no", "S-3", "--line", "CUP-1:3")
    ok(db_url, "order", "cancel", "S-3", "--reason", "不要了")

    by_brand = ok(db_url, "stats", "--by", "brand")
    by_type = ok(db_url, "stats", "--by", "type", "--brand", "狮峰山")
    by_category = ok(db_url, "stats", "--by", "category", "--type", "实物")
    by_day = ok(db_url, "stats", "--by", "day", "--category", "茶叶")

    # one row per brand across the rename, named as it is now; S-3 voided
    assert [(r["brand"], r["name"], r["orders"], r["amount"]) for r in by_brand] == [
        ("景德", "景德", 1, "20.00"),
        ("狮峰", "狮峰山", 2, "277.00"),
    ]
    assert [(r["type"], r["quantity"], r["amount"]) for r in by_type] == [
        ("实物", 3, "177.00"),
        ("虚拟", 1, "100.00"),
    ]
    assert [(r["category"], r["amount"]) for r in by_category] == [
        ("茶具", "20.00"),
        ("茶叶", "177.00"),
    ]
    assert [(r["orders"], r["quantity"], r["amount"]) for r in by_day] == [
        (2, 3, "177.00")
    ]


def test_product_import_is_all_or_nothing_and_a_rerun_changes_nothing(
    db_url: str, tmp_path: Path
) -> None:
    good = tmp_path / "products.csv"
    good.write_text(
        "sku,name,price,spec,brand,category,type\n"
        "TEA-1,西湖龙井,59.00,250g,狮峰,茶叶,实物\n"
        "CUP-1,茶杯,20,,景德,茶具,实物\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"sku": "A-1", "name": "a", "price": "1"}\n'
        '{"sku": "A-2", "name": "b", "price": "-1"}\n'
        "not json\n"
        '{"sku": "A-1", "name": "c", "price": "2"}\n',
        encoding="utf-8",
    )

    refused = run(db_url, "product", "import", str(bad))
    first = ok(db_url, "product", "import", str(good))
    again = ok(db_url, "product", "import", str(good))
    good.write_text(
        "sku,name,price\nTEA-1,西湖龙井,62.00\nPOT-1,茶壶,80\n", encoding="utf-8"
    )
    changed = ok(db_url, "product", "import", str(good))

    assert refused.exit_code == EXIT_USAGE
    assert [line.split(":")[0] for line in refused.stderr.splitlines()[:3]] == [
        "line 2 (A-2)", "line 3", "line 4 (A-1)",
    ]  # fmt: skip
    assert "repeats line 1" in refused.stderr
    assert (first["added"], again["added"], again["unchanged"]) == (2, 0, 2)
    assert (changed["added"], changed["updated"]) == (1, 1)
    listed = ok(db_url, "product", "list", "--brand", "景德")
    assert [p["sku"] for p in listed] == ["CUP-1"]
    tea = ok(db_url, "product", "show", "TEA-1")
    # a column the file does not have is left as it was
    assert (tea["price"], tea["brand"], tea["spec"]) == ("62.00", "狮峰", "250g")
    assert run(db_url, "product", "show", "A-1").exit_code == EXIT_NOT_FOUND


def test_audit_verify_covers_the_catalog_and_names_an_altered_product(
    db_url: str,
) -> None:
    ok(db_url, *TEA)
    ok(db_url, "product", "update", "TEA-1", "--price", "65.00")
    clean = ok(db_url, "audit", "verify", "--all")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        event_id, state = conn.execute(
            text(
                "SELECT id, state FROM catalog_events "
                "WHERE topic = 'orderledger.catalog:ProductUpdated.v1'"
            )
        ).one()
        altered = json.loads(bytes(state))
        altered["changes"]["unit_price"] = "6.50"  # someone lowers a price
        conn.execute(
            text("UPDATE catalog_events SET state = :s WHERE id = :i"),
            {"s": json.dumps(altered).encode(), "i": event_id},
        )
    engine.dispose()

    broken = run(db_url, "--json", "audit", "verify", "--all")

    assert clean["catalog"]["ok"] is True and clean["catalog"]["events"] >= 2
    assert broken.exit_code == 8
    found = json.loads(broken.stdout)["catalog"]["findings"]
    assert [(f["order_no"], f["version"], f["kind"]) for f in found] == [
        ("TEA-1", 2, "content_edited")
    ]


def test_order_import_takes_its_lines_from_the_catalog_row_by_row(
    db_url: str, tmp_path: Path
) -> None:
    ok(db_url, *TEA)
    phone = "13800138000"
    order = {
        "customer": {"name": "张三", "phone": phone},
        "payment": "cod",
        "address": {"receiver": "张三", "phone": phone, "detail": "路"},
    }
    rows = [
        {**order, "order_no": "IM-1", "lines": [{"sku": "TEA-1", "quantity": 2}]},
        {**order, "order_no": "IM-2", "lines": [{"sku": "GONE", "quantity": 1}]},
    ]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))

    refused = run(db_url, "order", "import", str(path))
    path.write_text(json.dumps(rows[0], ensure_ascii=False))
    imported = ok(db_url, "order", "import", str(path))
    line = ok(db_url, "order", "show", "IM-1")["lines"][0]

    assert refused.exit_code == EXIT_USAGE
    assert (
        "line 2 (IM-2)" in refused.stderr
        and "GONE is not in the catalog" in refused.stderr
    )
    assert imported["imported"] == 1
    assert (line["name"], line["brand"], line["type_code"]) == (
        "西湖龙井",
        "狮峰",
        "实物",
    )


def test_a_products_history_says_who_changed_what_and_why(db_url: str) -> None:
    ok(db_url, *TEA)
    ok(db_url, "product", "update", "TEA-1", "--price", "65.00", "--by", "amy",
       "--reason", "调价")  # fmt: skip
    ok(db_url, "product", "retire", "TEA-1", "--reason", "停产")

    history = ok(db_url, "product", "history", "TEA-1")

    assert [(e["version"], e["type"]) for e in history] == [
        (1, "Created"), (2, "Updated"), (3, "Retired"),
    ]  # fmt: skip
    assert history[1]["details"]["changes"] == {"unit_price": "65.00"}
    assert (history[1]["actor"], history[1]["reason"]) == ("amy", "调价")
    assert run(db_url, "product", "history", "NOPE").exit_code == EXIT_NOT_FOUND
