"""`orderledger product …`: the catalog (docs/catalog.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from orderledger.application.catalog_import import read_products
from orderledger.application.who import Who
from orderledger.cli.context import CliContext, json_option, pass_cli, write_options
from orderledger.cli.import_files import (
    file_format,
    import_file_options,
    refuse_bad_rows,
)
from orderledger.domain.catalog import CODE_KINDS, ProductDraft, parse_changes
from orderledger.domain.errors import InvalidInput
from orderledger.domain.values import Source


@click.group("product")
def product_group() -> None:
    """The product catalog: products, and the brands, categories and types
    they refer to by stable code."""


def _who(actor: str, source: str, reason: str) -> Who:
    return Who(actor, Source(source), reason)


def _product_line(p: dict[str, Any]) -> str:
    state = "" if p["active"] else "  (retired)"
    spec = f" [{p['spec']}]" if p["spec"] else ""
    return (
        f"{p['sku']}{spec}  {p['name']}  {p['price']}  brand {p['brand'] or '-'}"
        f"  category {p['category'] or '-'}  type {p['type'] or '-'}{state}"
    )


_FIELD_HELP = "A code or a name of the list; a new value is added to the list."


@product_group.command("add")
@click.option("--sku", required=True, help="The SKU (WDT's goods number).")
@click.option("--name", required=True, help="The product's name.")
@click.option("--price", required=True, help="Unit price, like 59.00.")
@click.option("--spec", default="", help="Spec (WDT's spec number).")
@click.option("--brand", default="", help=f"Brand. {_FIELD_HELP}")
@click.option("--category", default="", help=f"Category. {_FIELD_HELP}")
@click.option("--type", "type_", default="", help=f"Type. {_FIELD_HELP}")
@write_options()
@pass_cli
def add(
    cli: CliContext, /, actor: str, source: str, reason: str, type_: str, **given: str
) -> None:
    """Add a product to the catalog."""
    draft = ProductDraft.from_data({**given, "type": type_})
    view = cli.catalog().add_product(draft, _who(actor, source, reason))
    cli.emit(view, lambda p: f"added {_product_line(p)}")


@product_group.command("update")
@click.argument("sku")
@click.option("--name", help="The product's name.")
@click.option("--price", help="Unit price.")
@click.option("--spec", help="Spec.")
@click.option("--brand", help=f"Brand. {_FIELD_HELP}")
@click.option("--category", help=f"Category. {_FIELD_HELP}")
@click.option("--type", "type_", help=f"Type. {_FIELD_HELP}")
@write_options()
@pass_cli
def update(
    cli: CliContext,
    /,
    sku: str,
    actor: str,
    source: str,
    reason: str,
    type_: str | None,
    **given: str | None,
) -> None:
    """Change fields of a product (those given); orders already taken keep
    the values they were taken with."""
    changes = parse_changes({**given, "type": type_})
    view = cli.catalog().update_product(sku, changes, _who(actor, source, reason))
    cli.emit(view, lambda p: f"updated {_product_line(p)}")


@product_group.command("retire")
@click.argument("sku")
@write_options(reason_required=True)
@pass_cli
def retire(cli: CliContext, sku: str, actor: str, source: str, reason: str) -> None:
    """No longer sold: new orders refuse the SKU; its history stays."""
    view = cli.catalog().retire_product(sku, _who(actor, source, reason))
    cli.emit(view, lambda p: f"retired {_product_line(p)}")


@product_group.command("show")
@click.argument("sku")
@json_option
@pass_cli
def show(cli: CliContext, sku: str) -> None:
    """One product, its brand, category and type by name and code."""
    cli.emit(cli.catalog().product(sku), _product_line)


@product_group.command("history")
@click.argument("sku")
@json_option
@pass_cli
def history(cli: CliContext, sku: str) -> None:
    """Every change of a product: version, time, who, from where, why, what."""
    events = cli.catalog().history(sku, cli.settings.tz)

    def human(rows: list[dict[str, Any]]) -> str:
        return "\n".join(
            f"v{e['version']:<3} {e['time']}  {e['type']:<8} by {e['actor']} via "
            f"{e['source']}: {_changed(e)}"
            + (f"  reason: {e['reason']}" if e["reason"] else "")
            for e in rows
        )

    cli.emit(events, human)


def _changed(entry: dict[str, Any]) -> str:
    details = entry["details"]
    if entry["type"] == "Updated":
        return ", ".join(f"{k} → {v}" for k, v in details["changes"].items())
    if entry["type"] == "Created":
        return f"{details['name']} at {details['unit_price']}"
    return str(entry["type"]).lower()


@product_group.command("list")
@click.option("--all", "include_retired", is_flag=True, help="Retired ones too.")
@click.option("--brand", help="Only this brand (code or name).")
@click.option("--category", help="Only this category (code or name).")
@click.option("--type", "type_", help="Only this type (code or name).")
@json_option
@pass_cli
def list_products(
    cli: CliContext, /, include_retired: bool, type_: str | None, **given: str | None
) -> None:
    """The catalog, by SKU."""
    catalog = cli.catalog()
    wanted = {
        kind: _known_code(cli, kind, value)
        for kind, value in {**given, "type": type_}.items()
        if value
    }
    rows = [
        p
        for p in catalog.products(include_retired=include_retired)
        if all(p[f"{kind}_code"] == code for kind, code in wanted.items())
    ]
    cli.emit(rows, lambda rs: "\n".join(map(_product_line, rs)) or "(no products)")


def _known_code(cli: CliContext, kind: str, value: str) -> str:
    code = cli.catalog().resolve_code(kind, value)
    if code is None:
        raise InvalidInput(f"no {kind} is called {value!r}")
    return code


@product_group.command("import")
@import_file_options
@write_options()
@pass_cli
def import_products(
    cli: CliContext, file: Path, fmt: str | None, actor: str, source: str, reason: str
) -> None:
    """Add or update many products, all or nothing: any bad row is listed
    with its line number and nothing is imported (exit 2). A product
    already in the catalog is updated where it differs; running the same
    file again changes nothing."""
    fmt = file_format(file, fmt)
    rows, bad = read_products(file, fmt)
    refuse_bad_rows(file, [(b.line, b.sku, b.error) for b in bad])
    outcome = cli.catalog().import_products(rows, _who(actor, source, reason))
    result = {
        "file": str(file),
        "format": fmt,
        "added": len(outcome.added),
        "updated": len(outcome.updated),
        "unchanged": outcome.unchanged,
    }
    cli.emit(
        result,
        lambda r: (
            f"{r['added']} product(s) added, {r['updated']} updated, "
            f"{r['unchanged']} unchanged"
        ),
    )


def _code_list_group(kind: str) -> click.Group:
    """`product brand|category|type list|add|rename`: one of the lists."""
    group = click.Group(kind, help=f"The {kind}s: stable codes and their names.")

    @group.command("list", help=f"Every {kind}: code and current name.")
    @json_option
    @pass_cli
    def list_codes(cli: CliContext) -> None:
        rows = [{"code": c, "name": n} for c, n in cli.catalog().codes(kind).items()]
        cli.emit(
            rows,
            lambda rs: (
                "\n".join(f"{r['code']}  {r['name']}" for r in rs) or f"(no {kind}s)"
            ),
        )

    @group.command("add")
    @click.argument("code")
    @click.argument("name")
    @write_options()
    @pass_cli
    def add_code(
        cli: CliContext, code: str, name: str, actor: str, source: str, reason: str
    ) -> None:
        """Add an entry with a code of its own."""
        names = cli.catalog().add_code(kind, code, name, _who(actor, source, reason))
        cli.emit({"code": code, "name": names[code]}, lambda r: f"{kind} {code} added")

    @group.command("rename")
    @click.argument("code")
    @click.argument("name")
    @write_options()
    @pass_cli
    def rename_code(
        cli: CliContext, code: str, name: str, actor: str, source: str, reason: str
    ) -> None:
        """Rename an entry: its code stays, and statistics with it."""
        names = cli.catalog().rename_code(kind, code, name, _who(actor, source, reason))
        cli.emit(
            {"code": code, "name": names[code]},
            lambda r: f"{kind} {code} is now called {r['name']}",
        )

    return group


for _kind in CODE_KINDS:
    product_group.add_command(_code_list_group(_kind))
