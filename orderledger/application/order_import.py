"""Bulk import of orders (`orderledger order import FILE`).

Two passes, so a file is imported whole or not at all:
1. check: every row is parsed and validated exactly as `order create` does
   (OrderDraft.from_data), numbers must be unique in
   the file, and an order already in the ledger must be identical (then it
   is skipped: that is what makes a re-run resume). Every bad row is
   reported with its line number, and nothing is written.
2. write: the new orders are saved in batches, one transaction each (COPY
   or a multi-row insert, through the lean recorder). A crash loses at most
   the batch in flight; running the same file again skips what is in.

Rows are validated, and their events built, in worker processes: that is
where the time goes (docs/benchmarks.md).

Formats: JSON lines (one order per line, as `order create --file`), or CSV
with one row per order line (the order's columns repeated; rows of one
order are consecutive).
"""

from __future__ import annotations

import csv
import gc
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from itertools import islice, repeat
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from orderledger.application.who import Who
from orderledger.domain.draft import OrderDraft
from orderledger.domain.errors import InvalidInput, OrderLedgerError, first_line
from orderledger.domain.json_input import loads_strict
from orderledger.domain.personal import replace_personal
from orderledger.store.first_events import created_state, order_key_bytes
from orderledger.store.sealing_keys import RecordRow, SealingKeys, SubjectRow

if TYPE_CHECKING:  # `order show` imports the order group, this module with it
    from orderledger.application import OrderLedger
    from orderledger.application.catalog import CatalogSnapshot

BATCH = 2_000
CSV_ORDER_COLUMNS = (
    "order_no", "ordered_at", "customer", "contact", "phone", "payment",
    "receiver", "receiver_phone", "province", "city", "district", "address",
    "shipping_fee",
)  # fmt: skip
CSV_LINE_COLUMNS = (
    "sku", "name", "quantity", "unit_price", "spec", "brand", "category", "discount",
)  # fmt: skip


class Row(NamedTuple):
    """One order of the file (a tuple: rows go to the worker processes by
    pickle, where a dataclass costs several times more)."""

    line: int  # the first line of the file the order came from
    data: Any  # a JSON line as text, or a CSV order as plain data


@dataclass(frozen=True)
class BadRow:
    line: int
    order_no: str
    error: str


@dataclass
class ImportPlan:
    new: list[Prepared] = field(default_factory=list)
    already_in: int = 0
    bad: list[BadRow] = field(default_factory=list)


@dataclass(frozen=True)
class RowError:
    """A row the reader already knows is bad (it travels as a Row's data)."""

    order_no: str
    error: str


def read_rows(path: Path, fmt: str) -> Iterator[Row]:
    try:
        handle = path.open("rb")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}") from None
    with handle:
        lines = decoded_lines(handle, path)
        try:
            yield from (_jsonl(lines) if fmt == "jsonl" else _csv(lines))
        except csv.Error as error:
            raise InvalidInput(f"{path}: not valid CSV: {first_line(error)}") from None


def decoded_lines(handle: Iterable[bytes], path: Path) -> Iterator[str]:
    """The file's lines as text; a byte that is not UTF-8 is named by its line."""
    for number, raw in enumerate(handle, 1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise InvalidInput(
                f"{path} is not UTF-8 (bad byte on line {number}, column "
                f"{error.start + 1})"
            ) from None


def _jsonl(lines: Iterable[str]) -> Iterator[Row]:
    """Each line as text: decoding it is part of the work done in parallel."""
    for number, text in enumerate(lines, 1):
        if text.strip():
            yield Row(number, text)


def _csv(handle: Iterable[str]) -> Iterator[Row]:
    reader = csv.DictReader(handle)
    missing = set(CSV_ORDER_COLUMNS[:1] + CSV_LINE_COLUMNS[:4]) - set(
        reader.fieldnames or ()
    )
    if missing:
        raise InvalidInput(f"the CSV lacks column(s): {', '.join(sorted(missing))}")
    current: dict[str, Any] | None = None
    first = 0
    fields: tuple[str, ...] = ()
    for record in reader:
        number = reader.line_num
        no = (record.get("order_no") or "").strip()
        if current is not None and no == current["order_no"]:
            # The order's columns repeat on each of its rows (or are left
            # blank): a row that says otherwise is not silently merged.
            differ = _disagreeing(fields, _order_fields(record))
            if differ:
                current = None  # the rest of this order's rows go with it
                yield Row(number, RowError(no, _disagreement(differ, first)))
            if current is not None:
                current["lines"].append(_csv_line(record))
            continue
        if current is not None:
            yield Row(first, current)
        current, first, fields = _csv_order(record), number, _order_fields(record)
    if current is not None:
        yield Row(first, current)


_ORDER_FIELDS = CSV_ORDER_COLUMNS[1:]


def _order_fields(record: dict[str, str]) -> tuple[str, ...]:
    return tuple((record.get(k) or "").strip() for k in _ORDER_FIELDS)


def _disagreeing(first: tuple[str, ...], this: tuple[str, ...]) -> list[str]:
    if this == first or not any(this):
        return []
    return [k for k, a, b in zip(_ORDER_FIELDS, first, this, strict=True) if a != b]


def _disagreement(columns: list[str], first_line_no: int) -> str:
    return (
        f"this row of the order disagrees with its first row (line {first_line_no}) "
        f"on {', '.join(columns)}: an order's columns must repeat on each of its rows"
    )


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


def _finish(storing: tuple[Future[None], int], progress: Callable[[int], None]) -> int:
    """Wait for a batch in flight (its error, if any, is raised here)."""
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


class Prepared(NamedTuple):
    """A checked row, ready to store: its `Created` event, which also says
    what to compare with an order of the same number already in the ledger.
    A tuple, because it crosses from the worker processes by pickle: a
    dataclass holding a StoredEvent cost several times more there."""

    line: int
    order_no: str
    key: bytes  # the order id's 16 bytes
    state: bytes  # the stored `Created` event
    record: RecordRow | None = None  # its personal data, for the vault
    subject: SubjectRow | None = None  # its customer, when new to the vault


def prepare(
    rows: list[Row],
    tz: tzinfo,
    who: Who,
    keys: SealingKeys | None = None,
    products: CatalogSnapshot | None = None,
) -> list[Prepared | BadRow]:
    """Validate rows as `order create` does and build their events, their
    personal data sealed with `keys` (run in worker processes; everything
    returned is plain data): each order gets a subject of its own in the
    vault, as `order create` gives it."""
    out: list[Prepared | BadRow] = []
    for row in rows:
        data = row.data
        no = ""
        try:
            if isinstance(data, RowError):
                no = data.order_no
                raise InvalidInput(data.error)
            if isinstance(data, str):
                data = loads_strict(data)
            if isinstance(data, dict):
                no = str(data.get("order_no") or "")
            draft = OrderDraft.from_data(data, tz, products)
            if draft.order_no is None:
                raise InvalidInput("order_no is required in an import")
        except OrderLedgerError as error:
            out.append(BadRow(row.line, no, first_line(error)))
            continue
        now = datetime.now(UTC)
        key = order_key_bytes(draft.order_no)
        state, subject, record = created_state(
            draft,
            key_hex=key.hex(),
            ordered_at=draft.ordered_at or now,
            timestamp=now,
            actor=who.actor,
            source=who.source,
            reason=who.reason,
            keys=keys,
        )
        row_of_subject = None if subject is None else subject.row
        out.append(
            Prepared(row.line, draft.order_no, key, state, record, row_of_subject)
        )
    return out


def _prepare_columns(
    columns: tuple[list[int], list[Any]],
    tz: tzinfo,
    who: Who,
    keys: SealingKeys | None,
    products: CatalogSnapshot | None,
) -> list[Prepared | BadRow]:
    """`prepare` for rows sent as two lists (line numbers, data): a worker
    process receives them by pickle, where a list of tuples costs about
    three times more."""
    lines, data = columns
    rows = [Row(n, d) for n, d in zip(lines, data, strict=True)]
    with _collector_paused():  # as in the main process: nothing here cycles
        return prepare(rows, tz, who, keys, products)


def _vault_rows_of(events: list[Prepared]) -> tuple[list[RecordRow], list[SubjectRow]]:
    """The vault rows of a batch. No two orders of an import share one:
    each order has a subject of its own (`prepare`) and its record is keyed
    by it, and a number repeated in the file is refused (`Importer._admit`);
    PostgreSQL copies them with COPY, which has no ON CONFLICT."""
    records = [p.record for p in events if p.record is not None]
    subjects = [p.subject for p in events if p.subject is not None]
    return records, subjects


def content_key(content: dict[str, Any]) -> bytes:
    """An order's content as bytes that are equal when the content is."""
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


class Importer:
    def __init__(
        self,
        ledger: OrderLedger,
        tz: tzinfo,
        who: Who,
        *,
        batch: int = BATCH,
        workers: int = 0,
        products: CatalogSnapshot | None = None,
    ) -> None:
        """`workers`: processes that validate rows (0: one per CPU; 1: none,
        everything in this process). `products`: the catalog the lines take
        their values from (without it, every line is given in full)."""
        self.products = products
        self.ledger, self.tz, self.who, self.batch = ledger, tz, who, batch
        self.workers = workers or os.cpu_count() or 1
        # The workers seal each row's personal data themselves.
        vault = ledger.vault
        self.keys = None if vault is None else vault.sealing_keys()

    def check(self, rows: Iterable[Row]) -> ImportPlan:
        # Hundreds of thousands of long-lived events make every cyclic garbage
        # collection pass slower (nothing here forms cycles): pause it.
        with _collector_paused(), ExitStack() as stack:
            plan = ImportPlan()
            seen: dict[str, int] = {}
            for prepared in self._prepared(rows, stack):
                self._admit(prepared, plan, seen)
            plan.bad.sort(key=lambda bad: bad.line)
            return plan

    def _prepared(
        self, rows: Iterable[Row], stack: ExitStack
    ) -> Iterator[list[Prepared | BadRow]]:
        """Checked rows chunk by chunk, in file order. The first chunk is done
        here; only a file with more starts the worker processes."""
        chunks = _batches(rows, self.batch)
        first = next(chunks, None)
        if first is None:
            return
        check = (self.tz, self.who, self.keys, self.products)
        yield prepare(first, *check)
        if self.workers <= 1:
            yield from (prepare(chunk, *check) for chunk in chunks)
            return
        pool = stack.enter_context(
            ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        )
        columns = (([r.line for r in c], [r.data for r in c]) for c in chunks)
        yield from pool.map(
            _prepare_columns,
            columns,
            repeat(self.tz),
            repeat(self.who),
            repeat(self.keys),
            repeat(self.products),
            chunksize=1,
        )

    def _admit(
        self, chunk: list[Prepared | BadRow], plan: ImportPlan, seen: dict[str, int]
    ) -> None:
        """Unique numbers in the file; an order already in the ledger must be
        the same (then it is skipped)."""
        fresh: list[Prepared] = []
        for item in chunk:
            if isinstance(item, BadRow):
                plan.bad.append(item)
            elif item.order_no in seen:
                first = seen[item.order_no]
                plan.bad.append(
                    BadRow(item.line, item.order_no, f"repeats line {first}")
                )
            else:
                seen[item.order_no] = item.line
                fresh.append(item)
        existing = self.ledger.created_contents([p.key for p in fresh])
        new: list[Prepared] = []
        for item in fresh:
            stored = existing.get(item.key)
            if stored is None:
                new.append(item)
            elif self._same_content(stored, item):
                plan.already_in += 1
            else:
                plan.bad.append(
                    BadRow(item.line, item.order_no,
                           "already in the ledger with different content")
                )  # fmt: skip
        plan.new += new

    def _same_content(self, stored: dict[str, Any], item: Prepared) -> bool:
        """Only on a re-run: what is stored against what would be, field by
        field of the stored content (`created_contents` gives its shape),
        the personal data of both opened."""
        would_be = orjson.loads(item.state)
        if self.keys is not None and item.record and item.subject:
            values = self.keys.opened(item.subject, item.record)
            replace_personal(would_be, lambda path, value: values.get(path, value))
        return content_key(stored) == content_key({k: would_be[k] for k in stored})

    def write(
        self, plan: ImportPlan, progress: Callable[[int], None] = lambda n: None
    ) -> int:
        """Store the new orders batch by batch; how many were written.

        Batches are stored by writer threads, each in its transaction: on
        PostgreSQL two at a time (appends take no table lock, so the server
        works on both at once), on SQLite one, its single writer. A failure
        stops the import (the other batch in flight may still commit); a
        crash loses at most the batches in flight, and a re-run skips every
        order already in."""
        written = 0
        in_flight = 2 if self.ledger.recorder_is_postgres() else 1
        storing: deque[tuple[Future[None], int]] = deque()
        with ThreadPoolExecutor(in_flight, thread_name_prefix="import-write") as pool:
            for events in _batches(plan.new, self.batch):
                if len(storing) == in_flight:
                    written += _finish(storing.popleft(), progress)
                orders = [(p.key, p.state) for p in events]
                records, subjects = _vault_rows_of(events)
                writing = pool.submit(
                    self.ledger.append_created, orders, records, subjects
                )
                storing.append((writing, len(orders)))
            while storing:
                written += _finish(storing.popleft(), progress)
        return written
