"""Bulk import of orders (`orderledger order import FILE`).

Two passes, so a file is imported whole or not at all:
1. check: every row is parsed and validated exactly as `order create` does
   (OrderDraft, then the aggregate's own checks), numbers must be unique in
   the file, and an order already in the ledger must be identical (then it
   is skipped: that is what makes a re-run resume). Every bad row is
   reported with its line number, and nothing is written.
2. write: the new orders are saved in batches, one transaction each (one
   multi-row insert through the lean recorder). A crash loses at most the
   batch in flight; running the same file again skips what is in.

Formats: JSON lines (one order per line, as `order create --file`), or CSV
with one row per order line (the order's columns repeated; rows of one
order are consecutive).
"""

from __future__ import annotations

import csv
import gc
import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from orderledger.application import OrderLedger
from orderledger.bulk_events import created_event
from orderledger.domain.draft import OrderDraft
from orderledger.domain.errors import InvalidInput, OrderLedgerError, first_line
from orderledger.domain.order import order_id
from orderledger.domain.values import Source

BATCH = 2_000
# Amounts stay exact: a JSON number with a fraction becomes a Decimal (one
# decoder for the file: json.loads would build one per line).
_DECODER = json.JSONDecoder(parse_float=Decimal)
CSV_ORDER_COLUMNS = (
    "order_no", "ordered_at", "customer", "contact", "phone", "payment",
    "receiver", "receiver_phone", "province", "city", "district", "address",
    "shipping_fee",
)  # fmt: skip
CSV_LINE_COLUMNS = (
    "sku", "name", "quantity", "unit_price", "spec", "brand", "category", "discount",
)  # fmt: skip


@dataclass(frozen=True)
class Row:
    line: int  # the first line of the file the order came from
    data: Any  # the order as plain data, or the error reading it


@dataclass(frozen=True)
class BadRow:
    line: int
    order_no: str
    error: str


@dataclass
class ImportPlan:
    new: list[tuple[int, OrderDraft, UUID]] = field(default_factory=list)
    already_in: int = 0
    bad: list[BadRow] = field(default_factory=list)


def read_rows(path: Path, fmt: str) -> Iterator[Row]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}") from None
    with handle:
        try:
            yield from (_jsonl(handle) if fmt == "jsonl" else _csv(handle))
        except UnicodeDecodeError as error:
            raise InvalidInput(
                f"{path} is not UTF-8 (bad byte at offset {error.start})"
            ) from None


def _jsonl(lines: Iterable[str]) -> Iterator[Row]:
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            yield Row(number, _DECODER.decode(text))
        except json.JSONDecodeError as error:
            yield Row(number, InvalidInput(f"not valid JSON: {error.msg}"))


def _csv(handle: Iterable[str]) -> Iterator[Row]:
    reader = csv.DictReader(handle)
    missing = set(CSV_ORDER_COLUMNS[:1] + CSV_LINE_COLUMNS[:4]) - set(
        reader.fieldnames or ()
    )
    if missing:
        raise InvalidInput(f"the CSV lacks column(s): {', '.join(sorted(missing))}")
    current: dict[str, Any] | None = None
    first = 0
    for record in reader:
        number = reader.line_num
        no = (record.get("order_no") or "").strip()
        if current is not None and no == current["order_no"]:
            current["lines"].append(_csv_line(record))
            continue
        if current is not None:
            yield Row(first, current)
        current, first = _csv_order(record), number
    if current is not None:
        yield Row(first, current)


def _csv_order(r: dict[str, str]) -> dict[str, Any]:
    def get(key: str) -> str:
        return (r.get(key) or "").strip()

    phone = get("phone")
    return {
        "order_no": get("order_no"),
        "ordered_at": get("ordered_at"),
        "customer": {
            "name": get("customer"),
            "contact": get("contact"),
            "phone": phone,
        },
        "payment": get("payment"),
        "address": {
            "receiver": get("receiver") or get("customer"),
            "phone": get("receiver_phone") or phone,
            "province": get("province"),
            "city": get("city"),
            "district": get("district"),
            "detail": get("address"),
        },
        "shipping_fee": get("shipping_fee") or "0",
        "lines": [_csv_line(r)],
    }


def _csv_line(r: dict[str, str]) -> dict[str, Any]:
    line = {k: (r.get(k) or "").strip() for k in CSV_LINE_COLUMNS}
    return {k: v for k, v in line.items() if v or k in CSV_LINE_COLUMNS[:4]}


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _finish(
    storing: tuple[Future[None], int] | None, progress: Callable[[int], None]
) -> int:
    """Wait for the batch in flight (its error, if any, is raised here)."""
    if storing is None:
        return 0
    future, count = storing
    future.result()
    progress(count)
    return count


@contextmanager
def _collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Importer:
    def __init__(self, ledger: OrderLedger, tz: tzinfo, *, batch: int = BATCH) -> None:
        self.ledger, self.tz, self.batch = ledger, tz, batch

    def check(self, rows: Iterable[Row]) -> ImportPlan:
        # Hundreds of thousands of long-lived drafts make every cyclic garbage
        # collection pass slower (nothing here forms cycles): pause it.
        with _collector_paused():
            return self._check(rows)

    def _check(self, rows: Iterable[Row]) -> ImportPlan:
        plan = ImportPlan()
        seen: dict[str, int] = {}
        for chunk in _batches(rows, self.batch):
            parsed: list[tuple[int, OrderDraft]] = []
            for row in chunk:
                draft = self._parse(row, plan)
                if draft is None:
                    continue
                assert draft.order_no is not None
                if draft.order_no in seen:
                    first = seen[draft.order_no]
                    plan.bad.append(
                        BadRow(row.line, draft.order_no, f"repeats line {first}")
                    )
                    continue
                seen[draft.order_no] = row.line
                parsed.append((row.line, draft))
            self._against_the_ledger(parsed, plan)
        plan.bad.sort(key=lambda bad: bad.line)
        return plan

    def _parse(self, row: Row, plan: ImportPlan) -> OrderDraft | None:
        no = str(row.data.get("order_no") or "") if isinstance(row.data, dict) else ""
        try:
            if isinstance(row.data, Exception):
                raise row.data
            # The whole of `order create`'s validation of an order's content
            # (who, from where and why are checked once for the file).
            draft = OrderDraft.from_data(row.data, self.tz)
            if draft.order_no is None:
                raise InvalidInput("order_no is required in an import")
        except OrderLedgerError as error:
            plan.bad.append(BadRow(row.line, no, first_line(error)))
            return None
        return draft

    def _against_the_ledger(
        self, parsed: list[tuple[int, OrderDraft]], plan: ImportPlan
    ) -> None:
        keys = [order_id(str(d.order_no)) for _, d in parsed]
        existing = self.ledger.created_contents(keys)
        for (line, draft), key in zip(parsed, keys, strict=True):
            stored = existing.get(key)
            if stored is None:
                plan.new.append((line, draft, key))
            elif stored == draft.content():
                plan.already_in += 1
            else:
                plan.bad.append(BadRow(line, str(draft.order_no),
                    "already in the ledger with different content"))  # fmt: skip

    def write(
        self,
        plan: ImportPlan,
        *,
        actor: str,
        source: Source,
        reason: str,
        progress: Callable[[int], None] = lambda n: None,
    ) -> int:
        """Save the new orders batch by batch; how many were written."""
        with _collector_paused():
            return self._write(plan, actor, source, reason, progress)

    def _write(
        self,
        plan: ImportPlan,
        actor: str,
        source: Source,
        reason: str,
        progress: Callable[[int], None],
    ) -> int:
        written = 0
        # Each batch is stored by a second thread while this one builds the
        # next: the database and the Python work overlap. One batch in flight
        # at a time, in file order; a failure stops before the next one.
        with ThreadPoolExecutor(1, thread_name_prefix="import-write") as writer:
            storing: tuple[Future[None], int] | None = None
            for chunk in _batches(plan.new, self.batch):
                events = [
                    self._event(draft, key, actor, source, reason)
                    for _, draft, key in chunk
                ]
                written += _finish(storing, progress)
                storing = (
                    writer.submit(self.ledger.append_created, events),
                    len(chunk),
                )
            written += _finish(storing, progress)
        return written

    @staticmethod
    def _event(
        draft: OrderDraft, key: UUID, actor: str, source: Source, reason: str
    ) -> StoredEvent:
        now = datetime.now(UTC)
        return created_event(
            draft,
            key=key,
            ordered_at=draft.ordered_at or now,
            timestamp=now,
            actor=actor,
            source=source,
            reason=reason,
        )
