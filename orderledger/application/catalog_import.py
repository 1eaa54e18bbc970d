"""Reading `product import FILE`: JSON lines (one product per line, as
`product add` takes it) or CSV (columns sku, name, price and optionally spec,
brand, category, type). Every bad row is reported with its line number, and
then nothing is imported."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from orderledger.application.order_import import decoded_lines
from orderledger.domain.catalog import ProductDraft
from orderledger.domain.errors import InvalidInput, OrderLedgerError, first_line
from orderledger.domain.json_input import loads_strict

CSV_REQUIRED = ("sku", "name", "price")


@dataclass(frozen=True)
class BadProduct:
    line: int
    sku: str
    error: str


def read_products(
    path: Path, fmt: str
) -> tuple[list[tuple[int, ProductDraft]], list[BadProduct]]:
    """Every row checked as `product add` checks it: (line, product) of the
    good ones, and the bad ones with their line numbers. A SKU twice in the
    file is bad on its second line."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}") from None
    good: list[tuple[int, ProductDraft]] = []
    bad: list[BadProduct] = []
    first: dict[str, int] = {}
    with handle:
        lines = decoded_lines(handle, path)
        rows = _jsonl(lines) if fmt == "jsonl" else _csv(lines, path)
        for number, data in rows:
            sku = str(data.get("sku") or "") if isinstance(data, dict) else ""
            try:
                if isinstance(data, InvalidInput):
                    raise data
                draft = ProductDraft.from_data(data)
            except OrderLedgerError as error:
                bad.append(BadProduct(number, sku, first_line(error)))
                continue
            if draft.sku in first:
                bad.append(
                    BadProduct(number, draft.sku, f"repeats line {first[draft.sku]}")
                )
                continue
            first[draft.sku] = number
            good.append((number, draft))
    return good, bad


def _jsonl(lines: Iterable[str]) -> Iterator[tuple[int, object]]:
    for number, text in enumerate(lines, 1):
        if text.strip():
            try:
                yield number, loads_strict(text)
            except InvalidInput as error:  # reported with its line, as the rest
                yield number, error


def _csv(lines: Iterable[str], path: Path) -> Iterator[tuple[int, object]]:
    reader = csv.DictReader(lines)
    try:
        missing = set(CSV_REQUIRED) - set(reader.fieldnames or ())
        if missing:
            raise InvalidInput(f"the CSV lacks column(s): {', '.join(sorted(missing))}")
        for record in reader:
            row = {k: (v or "").strip() for k, v in record.items() if k}
            yield reader.line_num, {k: v for k, v in row.items() if v}
    except csv.Error as error:
        raise InvalidInput(f"{path}: not valid CSV: {first_line(error)}") from None
