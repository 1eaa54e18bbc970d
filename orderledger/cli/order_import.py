"""`orderledger order import FILE`: many orders at once, all or nothing."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from orderledger.application.order_import import BATCH, Importer, read_rows
from orderledger.application.who import Who
from orderledger.cli.context import CliContext, pass_cli, write_options
from orderledger.cli.orders import order_group
from orderledger.domain.errors import InvalidInput
from orderledger.domain.values import Source, parse_text

SHOWN_BAD_ROWS = 50


@order_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    help="Default: from the file name (.csv is CSV, anything else JSON lines).",
)
@click.option(
    "--batch", type=click.IntRange(1, 50_000), default=BATCH, show_default=True
)
@write_options()
@pass_cli
def import_command(
    cli: CliContext,
    file: Path,
    fmt: str | None,
    batch: int,
    actor: str,
    source: str,
    reason: str,
) -> None:
    """Import orders from JSON lines or CSV, each validated as `order create`
    validates it. Any bad row: every one is listed with its line number and
    nothing is imported (exit 2). Orders already in the ledger with the same
    content are skipped, so running the same file again resumes it."""
    fmt = fmt or ("csv" if file.suffix.lower() == ".csv" else "jsonl")
    parse_text(actor, "actor", max_len=64)
    parse_text(reason, "reason", required=False, max_len=500)
    who = Who(actor=actor, source=Source(source), reason=reason)
    products = cli.catalog().snapshot(allow_unknown=cli.settings.allow_unknown_skus)
    importer = Importer(
        cli.ledger(), cli.settings.tz, who, batch=batch, products=products
    )
    started = time.perf_counter()
    plan = importer.check(read_rows(file, fmt))
    if plan.bad:
        for bad in plan.bad[:SHOWN_BAD_ROWS]:
            no = f" ({bad.order_no})" if bad.order_no else ""
            click.echo(f"line {bad.line}{no}: {bad.error}", err=True)
        more = len(plan.bad) - SHOWN_BAD_ROWS
        if more > 0:
            click.echo(f"… and {more} more bad row(s)", err=True)
        raise InvalidInput(
            f"{len(plan.bad)} bad row(s) in {file}: nothing was imported; fix "
            "them and run the import again"
        )
    bar: Any = click.progressbar(
        length=len(plan.new), label="importing", file=sys.stderr
    )
    with bar:
        written = importer.write(plan, progress=bar.update)
    seconds = time.perf_counter() - started
    result = {
        "file": str(file),
        "format": fmt,
        "imported": written,
        "already_in": plan.already_in,
        "seconds": round(seconds, 3),
        "orders_per_second": round(written / seconds) if seconds else None,
    }
    cli.after_write()
    cli.emit(
        result,
        lambda r: (
            f"imported {r['imported']} order(s), {r['already_in']} already in "
            f"the ledger, in {r['seconds']} s"
        ),
    )
