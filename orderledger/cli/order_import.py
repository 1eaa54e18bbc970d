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
from orderledger.cli.import_files import (
    file_format,
    import_file_options,
    refuse_bad_rows,
)
from orderledger.cli.orders import order_group
from orderledger.domain.values import Source, parse_text


@order_group.command("import")
@import_file_options
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
    fmt = file_format(file, fmt)
    parse_text(actor, "actor", max_len=64)
    parse_text(reason, "reason", required=False, max_len=500)
    who = Who(actor=actor, source=Source(source), reason=reason)
    products = cli.catalog().snapshot(allow_unknown=cli.settings.allow_unknown_skus)
    importer = Importer(
        cli.ledger(), cli.settings.tz, who, batch=batch, products=products
    )
    started = time.perf_counter()
    plan = importer.check(read_rows(file, fmt))
    refuse_bad_rows(file, [(b.line, b.order_no, b.error) for b in plan.bad])
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
