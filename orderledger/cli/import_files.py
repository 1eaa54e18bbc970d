"""What `order import` and `product import` share: the file and its
format, and how bad rows are reported (every one with its line number, then
exit 2 with nothing imported)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from orderledger.domain.errors import InvalidInput

SHOWN_BAD_ROWS = 50
F = TypeVar("F", bound=Callable[..., Any])


def import_file_options(func: F) -> F:
    """FILE and --format (default: from the file name)."""
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(["jsonl", "csv"]),
        help="Default: from the file name (.csv is CSV, anything else JSON lines).",
    )(func)
    return click.argument("file", type=click.Path(dir_okay=False, path_type=Path))(func)


def file_format(file: Path, fmt: str | None) -> str:
    return fmt or ("csv" if file.suffix.lower() == ".csv" else "jsonl")


def refuse_bad_rows(file: Path, bad: Sequence[tuple[int, str, str]]) -> None:
    """(line, order number or SKU, error) of each bad row, if any: listed
    on stderr (the first SHOWN_BAD_ROWS), then the import is refused."""
    if not bad:
        return
    for line, key, error in bad[:SHOWN_BAD_ROWS]:
        named = f" ({key})" if key else ""
        click.echo(f"line {line}{named}: {error}", err=True)
    more = len(bad) - SHOWN_BAD_ROWS
    if more > 0:
        click.echo(f"… and {more} more bad row(s)", err=True)
    raise InvalidInput(
        f"{len(bad)} bad row(s) in {file}: nothing was imported; fix them and "
        "run the import again"
    )
