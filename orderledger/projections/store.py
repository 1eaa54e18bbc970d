"""Running projections: catch-up in pages, tracking, following the log.

One transaction per page: it first claims the page by moving the tracking
position with a conditional UPDATE (… WHERE position = <the one we read>),
then writes the view rows. A second runner on the same projection finds the
position moved, writes nothing and reads on from the new position, so no
event is ever applied twice (eventsourcing-sqlalchemy's own tracking insert
lets both commit on PostgreSQL).

Ids in the log can have holes (a rolled-back insert leaves one); pages are read
by `id > position`, never by counting, and only up to the safe head
(orderledger/store/safe_head.py), so an event that commits late below a position
already read is never skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from functools import cached_property
from typing import Any

from sqlalchemy import (
    Engine,
    MetaData,
    Table,
    delete,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from orderledger.domain.errors import InvalidInput, StorageError, first_line
from orderledger.projections.definitions import PROJECTIONS, Projection, Tables
from orderledger.projections.fold import Row, fold
from orderledger.projections.log import (
    LoggedEvent,
    head,
    keys_of,
    read_part,
    safe_head,
)
from orderledger.projections.partitions import Cursor, SplitMeanwhile, Tracking
from orderledger.projections.schema import (
    partitions_table,
    poisoned_table,
    registry_table,
    tracking_table,
)
from orderledger.store.bulk_rows import REFUSED_ROW, insert_rows
from orderledger.store.ddl import create_tables
from orderledger.store.listen import LogListener
from orderledger.store.vault import Vault

Progress = Callable[[int, int], None]  # (events in the page, position reached)
PAGE_SIZE = 500


class StaleProjection(StorageError):
    """A view generation was built by other projection code: rebuild it."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class ProjectionStore:
    def __init__(
        self,
        engine: Engine,
        events: Table,
        tz: tzinfo,
        *,
        channel: str = "",
        projections: dict[str, Projection] | None = None,
        vault: Vault | None = None,
    ) -> None:
        self.engine = engine
        # The views hold personal data as sealed references and blind
        # indexes only; the vault opens them for a read that shows them.
        self.vault = vault
        self.events = events
        self.tz = tz
        self.channel = channel
        self.projections = projections or PROJECTIONS
        self.metadata = MetaData()
        self.registry = registry_table(self.metadata)
        self.tracking = tracking_table(self.metadata)
        self.poisoned = poisoned_table(self.metadata)
        self.positions = Tracking(
            self.tracking, partitions_table(self.metadata), now_iso
        )
        self._tables: dict[tuple[str, int], Tables] = {}
        self._ready = False

    def unseal(self, data: Any) -> Any:
        """`data` with its sealed personal values opened (in place)."""
        return data if self.vault is None else self.vault.unseal(data)

    def phone_index(self, phone: str) -> str:
        """What the views hold for this phone (nothing without a vault)."""
        return "" if self.vault is None else self.vault.phone_index(phone)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    # ---- set-up and the registry -------------------------------------------

    def ensure(self) -> None:
        """Create what is missing: the registry, tracking, generation 1 of each view."""
        if self._ready:
            return
        create_tables(
            self.engine,
            [self.registry, self.tracking, self.positions.partitions, self.poisoned],
        )
        for name, projection in self.projections.items():
            if self.registry_row(name) is None:
                self.ensure_generation(name, 1)
                try:
                    with self.engine.begin() as conn:
                        conn.execute(
                            insert(self.registry).values(
                                name=name,
                                live_generation=1,
                                live_version=projection.version,
                                switched_at=now_iso(),
                            )
                        )
                except IntegrityError:
                    pass  # another process registered it first
        self._ready = True

    def tables(self, name: str, generation: int) -> Tables:
        key = (name, generation)
        if key not in self._tables:
            self._tables[key] = self.projections[name].tables(
                self.metadata, generation, trigram=self.trigram
            )
        return self._tables[key]

    @cached_property
    def trigram(self) -> bool:
        """Whether PostgreSQL's pg_trgm is there (made if this role may):
        text searched for what it contains is then indexed."""
        if self.engine.dialect.name != "postgresql":
            return False
        try:
            with self.engine.begin() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except SQLAlchemyError:
            pass  # not allowed here: searches scan instead
        with self.engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
            ).first()
        return found is not None

    def registry_row(self, name: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(self.registry).where(self.registry.c.name == name)
            ).first()
        return None if row is None else dict(row._mapping)

    def is_stale(self, name: str) -> bool:
        """Built by another version of its projection (an upgrade changed its
        columns or derivation): read it only after `projections rebuild`."""
        self.ensure()
        built = (self.registry_row(name) or {}).get("live_version")
        return built is not None and built != self.projections[name].version

    def live_generation(self, name: str) -> int:
        self.ensure()
        row = self.registry_row(name)
        assert row is not None and row["live_generation"] is not None
        return int(row["live_generation"])

    def live_tables(self, name: str) -> Tables:
        """The tables a read queries. A stale view (built by older projection
        code) is still read while it has every column this code asks for;
        one that lacks some waits for `projections rebuild`."""
        self.ensure()
        row = self.registry_row(name)  # one read: the generation and its version
        assert row is not None and row["live_generation"] is not None
        tables = self.tables(name, int(row["live_generation"]))
        built = row.get("live_version")
        code = self.projections[name].version
        if built is not None and built != code and not self._has_columns(tables):
            raise StaleProjection(
                f"view {name} was built by projection version {built}, this code "
                f"is version {code}: run `orderledger projections rebuild {name}`"
            )
        return tables

    def _has_columns(self, tables: Tables) -> bool:
        found = inspect(self.engine)
        for table in tables.all():
            have = {c["name"] for c in found.get_columns(table.name)}
            if not {c.name for c in table.columns} <= have:
                return False
        return True

    def ensure_generation(self, name: str, generation: int) -> None:
        """Create a generation's tables and its tracking row, if missing."""
        create_tables(self.engine, self.tables(name, generation).all())
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(self.tracking).values(
                        name=name,
                        generation=generation,
                        position=0,
                        updated_at=now_iso(),
                    )
                )
        except IntegrityError:
            pass

    def drop_generation(self, name: str, generation: int) -> None:
        for table in reversed(self.tables(name, generation).all()):
            table.drop(self.engine, checkfirst=True)
        with self.engine.begin() as conn:
            for table in (self.tracking, self.poisoned):
                conn.execute(
                    delete(table).where(
                        table.c.name == name, table.c.generation == generation
                    )
                )
            self.positions.drop(conn, name, generation)

    # ---- positions ---------------------------------------------------------

    def position(
        self, name: str, generation: int, conn: Connection | None = None
    ) -> int:
        """How far the generation is applied for every order: its position,
        or the lowest of its partitions' while it is split."""
        if conn is None:
            with self.engine.connect() as own:
                return self.position(name, generation, own)
        parts = self.positions.parts(conn, name, generation)
        if parts:
            return min(int(p.position) for p in parts)
        found = self.positions.position(conn, Cursor(name, generation))
        assert found is not None, f"no tracking row for {name} g{generation}"
        return found

    def parts(self, name: str, generation: int) -> int:
        """How many partitions the generation is split into (0: tracked whole)."""
        with self.engine.connect() as conn:
            found = self.positions.parts(conn, name, generation)
        return int(found[0].parts) if found else 0

    def head(self) -> int:
        with self.engine.connect() as conn:
            return head(conn, self.events)

    def split(self, name: str, generation: int, parts: int) -> int:
        """Split the generation for `parts` workers (partitions.py); one split
        already keeps its parts. Returns the parts in effect."""
        self.ensure()
        with self.engine.begin() as conn:
            return self.positions.split(conn, name, generation, parts)

    def merge(self, name: str, generation: int) -> bool:
        """Track the generation whole again, if its partitions stand together."""
        try:
            with self.engine.begin() as conn:
                return self.positions.merge(conn, name, generation)
        except SplitMeanwhile:
            return False  # a partition moved on while this looked

    # ---- catching up -------------------------------------------------------

    def catch_up(
        self,
        name: str,
        generation: int | None = None,
        *,
        stop: int | None = None,
        page_size: int = PAGE_SIZE,
        progress: Progress | None = None,
        built_version: str | None = None,
    ) -> int:
        """Apply every event after the tracked position (up to `stop`).

        Returns how many events this call applied. Safe to run beside another
        runner of the same projection: each page is applied exactly once. A
        generation split for workers (partitions.py) is caught up partition
        by partition, to one common position, and then tracked whole again.
        """
        generation = self._current(name, generation, built_version)
        try:
            # Tracked whole (the usual case): nothing more to ask. A split
            # shows at the first page claimed (partitions never fall behind
            # the whole position they were split at).
            return self._run(Cursor(name, generation), stop, page_size, progress)
        except SplitMeanwhile as split:
            applied = split.applied
        with self.engine.connect() as conn:
            parts = self.positions.parts(conn, name, generation)
            target = safe_head(conn, self.events) if stop is None else stop
        for row in parts:
            cursor = Cursor(name, generation, row.part, row.parts)
            applied += self._run(cursor, target, page_size, progress)
        self.merge(name, generation)
        return applied

    def catch_up_part(
        self,
        name: str,
        generation: int,
        part: int,
        parts: int,
        *,
        stop: int | None = None,
        page_size: int = PAGE_SIZE,
        progress: Progress | None = None,
    ) -> int:
        """One worker's share: the events of partition `part` of a split
        generation, up to `stop`."""
        return self._run(
            Cursor(name, generation, part, parts), stop, page_size, progress
        )

    def _current(self, name: str, generation: int | None, built: str | None) -> int:
        """The generation to apply to (default: the live one), refused if
        other projection code built it."""
        self.ensure()
        version = self.projections[name].version
        row = self.registry_row(name) or {}
        if generation is None:
            generation, built = int(row["live_generation"]), row.get("live_version")
        if built is not None and built != version:
            raise StaleProjection(
                f"view {name} (generation {generation}) was built by projection "
                f"version {built}, this code is version {version}: "
                f"run `orderledger projections rebuild {name}`"
            )
        return generation

    def _run(
        self,
        cursor: Cursor,
        stop: int | None,
        page_size: int,
        progress: Progress | None,
    ) -> int:
        """Claim and apply pages for one cursor until the log (or `stop`) is
        reached or its partition is merged back; a whole-view cursor that
        finds the view split raises SplitMeanwhile (its claim rolled back)."""
        projection = self.projections[cursor.name]
        tables = self.tables(cursor.name, cursor.generation)
        applied = 0
        while True:
            with self.engine.connect() as conn:
                start = self.positions.position(conn, cursor)
                if start is None:
                    return applied  # the partition was merged back meanwhile
                page, last = read_part(
                    conn, self.events, start, page_size, stop, cursor.owns
                )
                if last is None and start > head(conn, self.events):
                    raise StorageError(
                        f"view {cursor.name} is at position {start}, past the head "
                        "of the log: was the event store replaced? Rebuild the "
                        "views with `orderledger projections rebuild --force`"
                    )
            if last is None:
                return applied
            try:
                with self.engine.begin() as conn:
                    if not self.positions.claim(conn, cursor, start, last):
                        continue  # another runner took this page: read on
                    if page:
                        self._apply(conn, projection, cursor.generation, tables, page)
            except SplitMeanwhile:
                # Rolled back; the caller goes on partition by partition.
                raise SplitMeanwhile(applied) from None
            applied += len(page)
            if progress is not None:
                progress(len(page), last)

    def catch_up_all(self, *, progress: Progress | None = None) -> int:
        return sum(self.catch_up(name, progress=progress) for name in self.projections)

    def catch_up_share(self, part: int, parts: int) -> int:
        """Worker `part` of `parts` following: its partition of every live
        view, splitting a view tracked whole (partitions.py)."""
        applied = 0
        for name in self.projections:
            generation = self._current(name, None, None)
            if self.parts(name, generation) != parts:
                in_effect = self.split(name, generation, parts)
                if in_effect != parts:
                    # Not a fault to retry: this follower was started wrong.
                    raise InvalidInput(
                        f"view {name} is split into {in_effect} partitions, not "
                        f"{parts}: follow with --workers {in_effect}, or stop its "
                        "workers and run `orderledger projections catch-up` to "
                        "track it whole again"
                    )
            cursor = Cursor(name, generation, part, parts)
            applied += self._run(cursor, None, PAGE_SIZE, None)
        return applied

    def _apply(
        self,
        conn: Connection,
        projection: Projection,
        generation: int,
        tables: Tables,
        page: list[LoggedEvent],
    ) -> None:
        """Fold the page into the touched orders' rows and write them.

        An event the view cannot take (an error in the fold, or a row the
        database refuses) poisons its order in this view: the failure is
        recorded in `olp_poisoned`, the order's row is left out and so is
        every later event of it, and every other order goes on."""
        main = tables.main
        keys = keys_of(page)
        poisoned = self._poisoned_keys(conn, projection.name, generation, keys)
        rows: dict[str, Row] = {
            r.order_key: dict(r._mapping)
            for r in conn.execute(select(main).where(main.c.order_key.in_(keys)))
        }
        existing = list(rows)
        children: dict[str, list[dict[str, Any]]] = {}
        failures: dict[str, tuple[LoggedEvent, str]] = {}
        for event in page:
            key = event.order_key
            if key in poisoned or key in failures:
                continue
            try:
                row = fold(rows.get(key), event, self.tz)
                replaced = projection.on_event(row, event)
            except Exception as error:  # one order's event must not stop the view
                failures[key] = (event, f"{type(error).__name__}: {first_line(error)}")
                continue
            rows[key] = row
            if replaced is not None:
                children[key] = replaced
        if existing:
            conn.execute(delete(main).where(main.c.order_key.in_(existing)))
        if tables.child is not None:
            # Orders created in this page have no child rows yet: skip them.
            stale = [k for k in existing if k in children or k in failures]
            if stale:
                conn.execute(
                    delete(tables.child).where(tables.child.c.order_key.in_(stale))
                )
        good = [k for k in keys if k not in failures and k in rows]
        for key, reason in self._write_rows(conn, tables, rows, children, good):
            failures[key] = (_last_event_of(page, key), reason)
        for event, reason in failures.values():
            self._poison(conn, projection.name, generation, event, rows, reason)

    def _write_rows(
        self,
        conn: Connection,
        tables: Tables,
        rows: dict[str, Row],
        children: dict[str, list[dict[str, Any]]],
        keys: list[str],
    ) -> list[tuple[str, str]]:
        """Insert the orders' rows (and child rows) all at once; if the
        database refuses the page, one order at a time, to find the orders it
        refuses: those are returned with the database's reason."""

        def write(some: list[str]) -> None:
            insert_rows(conn, tables.main, [rows[k] for k in some])
            if tables.child is not None:
                lines = [r for k in some for r in children.get(k, ())]
                insert_rows(conn, tables.child, lines)

        try:
            with conn.begin_nested():
                write(keys)
            return []
        except REFUSED_ROW:
            pass  # a lost connection is not caught: it is no order's fault
        refused = []
        for key in keys:
            try:
                with conn.begin_nested():
                    write([key])
            except REFUSED_ROW as error:
                refused.append((key, f"the view refused the row: {first_line(error)}"))
        return refused

    def _poisoned_keys(
        self, conn: Connection, name: str, generation: int, keys: list[str]
    ) -> set[str]:
        p = self.poisoned
        return set(
            conn.execute(
                select(p.c.order_key).where(
                    p.c.name == name,
                    p.c.generation == generation,
                    p.c.order_key.in_(keys),
                )
            ).scalars()
        )

    def _poison(
        self,
        conn: Connection,
        name: str,
        generation: int,
        event: LoggedEvent,
        rows: dict[str, Row],
        error: str,
    ) -> None:
        row = rows.get(event.order_key) or {}
        order_no = row.get("order_no") or event.data.get("order_no") or ""
        conn.execute(
            insert(self.poisoned).values(
                name=name,
                generation=generation,
                order_key=event.order_key,
                order_no=str(order_no)[:64],
                position=event.position,
                event_type=event.type[:64],
                error=error[:500],
                recorded_at=now_iso(),
            )
        )

    def poisoned_orders(self, name: str, generation: int) -> list[dict[str, Any]]:
        """The orders the view skips, with the event that failed and why."""
        p = self.poisoned
        with self.engine.connect() as conn:
            found = conn.execute(
                select(p)
                .where(p.c.name == name, p.c.generation == generation)
                .order_by(p.c.position)
            )
            return [
                {
                    k: r._mapping[k]
                    for k in ("order_no", "position", "event_type", "error")
                }
                for r in found
            ]

    # ---- following ---------------------------------------------------------

    def follow(
        self,
        stop: threading.Event,
        *,
        poll_seconds: float = 1.0,
        on_round: Callable[[int], None] | None = None,
        share: tuple[int, int] | None = None,
    ) -> None:
        """Catch up, then wait for new events, until `stop` is set; with
        `share` = (part, parts), only that partition of every view.

        On PostgreSQL the wait ends as soon as the event store NOTIFYs an
        insert (LISTEN); `poll_seconds` is then only a safety net. On SQLite
        it polls every `poll_seconds`.
        """
        listener = LogListener(self.engine, self.channel) if self.is_postgres else None
        try:
            while not stop.is_set():
                applied = (
                    self.catch_up_all()
                    if share is None
                    else self.catch_up_share(*share)
                )
                if on_round is not None:
                    on_round(applied)
                if listener is not None:
                    listener.wait(poll_seconds, stop)
                else:
                    stop.wait(poll_seconds)
        finally:
            if listener is not None:
                listener.close()


def _last_event_of(page: list[LoggedEvent], key: str) -> LoggedEvent:
    return next(e for e in reversed(page) if e.order_key == key)
