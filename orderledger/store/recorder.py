"""A leaner event recorder: eventsourcing-sqlalchemy's, with the hot paths on
the database driver.

Profiles of a command (docs/benchmarks.md) showed the ORM session, flush and
unit of work costing more than the database. Here `insert_events`,
`select_events` and `select_notifications` go straight to the pooled DBAPI
connection:
- PostgreSQL: one round trip sends `NOTIFY …; INSERT … VALUES (…), (…)
  RETURNING id`, a second commits. No table lock: two writers commit side by
  side. Ids may then become visible out of order, so every read by position
  (`select_notifications` here, the projections' pages) stops at the safe
  head (orderledger/store/safe_head.py) and never skips a late commit.
- SQLite: the same INSERT … RETURNING under the datastore's write lock.
Everything else (tracking, process recorder, tables) is eventsourcing-
sqlalchemy's own; calls made inside one of its transactions go to its code
too. eventsourcing's recorder test suites run against these classes
(tests/persistence/test_recorder_contract.py).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, PersistenceError, StoredEvent
from eventsourcing_sqlalchemy.datastore import (
    SQLAlchemyDatastore,
    exception_classes,
    transactions,
)
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import (
    SQLAlchemyAggregateRecorder,
    SQLAlchemyApplicationRecorder,
    SQLAlchemyProcessRecorder,
)
from sqlalchemy import Engine

from orderledger.domain.errors import StorageError
from orderledger.store import requests
from orderledger.store.ddl import create_tables
from orderledger.store.pooled import pooled
from orderledger.store.requests import Request, row_statement
from orderledger.store.safe_head import horizon_for
from orderledger.store.sealing_keys import RecordRow, SubjectRow
from orderledger.store.vault import (
    RECORD_COLUMNS,
    RECORDS,
    SUBJECT_COLUMNS,
    SUBJECTS,
    records_statements,
    subjects_statements,
    vault_rows,
)

FirstEvent = tuple[bytes, str, bytes]  # originator id (16 bytes), topic, state

# Rows per INSERT statement: four parameters each stays under SQLite's
# 32,766 bound variables; larger batches are several statements, one commit.
CHUNK = 2_000


def _in_orm_transaction() -> bool:
    try:
        transactions.get()
    except LookupError:
        return False
    return True


def _needs_orm(kwargs: dict[str, Any]) -> bool:
    """Tracking records, or a surrounding ORM transaction, stay with the
    original code (`tracking=None` is what every plain save passes)."""
    return any(v is not None for v in kwargs.values()) or _in_orm_transaction()


def _no_vault_records(stored_events: Sequence[StoredEvent]) -> None:
    """eventsourcing's own insert path would drop the vault records; orders
    are never written through it."""
    if any(vault_rows(stored_events)):
        raise StorageError("personal data is written only by the lean recorder")


def _translated(error: Exception) -> PersistenceError:
    """A driver error as eventsourcing's exception of the same DB-API name."""
    for cls in type(error).__mro__:
        mapped = exception_classes.get(cls.__name__)
        if mapped is not None:
            return mapped(str(error))
    return PersistenceError(str(error))


class _DriverPaths:
    """The driver-level insert and select shared by the recorder classes."""

    datastore: SQLAlchemyDatastore
    events_record_cls: Any
    _has_autoincrementing_ids: bool

    tables: Any

    def create_table(self) -> None:
        """eventsourcing-sqlalchemy's table creation, safe when two processes
        start on a new database at once (store/ddl.py): the orders' or the
        catalog's tables, made by whichever command comes first."""
        engine: Any = self.datastore.engine
        create_tables(engine, list(self.tables))

    def _setup_driver_paths(self, channel: str | None) -> None:
        engine = self.datastore.engine
        assert engine is not None
        table = self.events_record_cls.__table__
        self._pg = engine.dialect.name == "postgresql"
        self._mark = "%s" if self._pg else "?"
        self._name = table.fullname
        self._channel = channel
        # The column's own conversion for this dialect (a uuid string on
        # PostgreSQL, 16 bytes on SQLite), exactly as the ORM would store it.
        bind = table.c.originator_id.type._cached_bind_processor(engine.dialect)
        self._bind_id = bind or str
        self._has_ids = self._has_autoincrementing_ids

    def _engine(self) -> Engine:
        engine = self.datastore.engine
        assert isinstance(engine, Engine), "a scoped session is not supported here"
        return engine

    def _driver_insert(
        self,
        stored_events: Sequence[StoredEvent],
        request: Request | None = None,
        records: Sequence[RecordRow] = (),
        subjects: Sequence[SubjectRow] = (),
    ) -> list[int]:
        """Insert the events in one commit, with the vault records of their
        personal data and the row of the HTTP request that caused them, if
        any (store/vault.py, store/requests.py)."""
        datastore = self.datastore
        if not datastore._tried_init_sqlite_wal_mode:
            datastore.init_sqlite_wal_mode()
        # What goes in with the events, first: the vault's rows, the request.
        statements = self._vault_statements(stored_events, records, subjects)
        if request is not None:
            last = stored_events[-1]
            statements.append(
                row_statement(
                    self._mark,
                    request,
                    UUID(str(last.originator_id)).hex,
                    last.originator_version,
                )
            )
        statements += [
            self._insert_statement(stored_events[i : i + CHUNK], first=i == 0)
            for i in range(0, len(stored_events), CHUNK)
        ]
        if self._pg and len(stored_events) <= CHUNK:
            # One round trip: the driver fills in every statement's values and
            # the server returns the ids of the last one, the events' INSERT.
            statements = [
                ("; ".join(sql for sql, _ in statements),
                 [value for _, params in statements for value in params])
            ]  # fmt: skip
        lock = datastore.write_lock
        if lock is not None:
            lock.acquire()
        try:
            with pooled(self._engine()) as raw:
                ids: list[int] = []
                cursor = raw.cursor()
                try:
                    for sql, params in statements:
                        cursor.execute(sql, params)
                        if self._has_ids and cursor.description is not None:
                            ids += (r[0] for r in cursor.fetchall())
                finally:
                    cursor.close()
                self._before_commit()
                raw.commit()
            if request is not None:
                request.recorded = True
        except PersistenceError:
            raise
        except Exception as error:
            raise _translated(error) from error
        finally:
            if lock is not None:
                lock.release()
        return sorted(ids)

    def _vault_statements(
        self,
        stored_events: Sequence[StoredEvent],
        records: Sequence[RecordRow],
        subjects: Sequence[SubjectRow],
    ) -> list[tuple[str, list[Any]]]:
        """The personal values these events refer to, and the customers new
        to the vault, stored with them (store/vault.py)."""
        riding = vault_rows(stored_events)
        return [
            *subjects_statements(self._mark, [*subjects, *riding[1]]),
            *records_statements(self._mark, [*records, *riding[0]]),
        ]

    def _before_commit(self) -> None:
        """Nothing; a test holds the transaction open here (late commits)."""

    def _insert_statement(
        self, events: Sequence[StoredEvent], *, first: bool
    ) -> tuple[str, list[Any]]:
        m = self._mark
        params: list[Any] = []
        for e in events:
            params += [
                self._bind_id(e.originator_id),
                e.originator_version,
                e.topic,
                e.state,
            ]
        sql = (
            f"INSERT INTO {self._name} (originator_id, originator_version, topic, "
            f"state) VALUES {', '.join([f'({m}, {m}, {m}, {m})'] * len(events))}"
        )
        if self._has_ids:
            sql += " RETURNING id"
            if self._pg and first and self._channel:
                sql = f"NOTIFY {self._channel}; " + sql
        return sql, params

    def _read(self, sql: str, params: list[Any]) -> list[Any]:
        """Rows of one query, in a read transaction ended at once."""
        try:
            with pooled(self._engine()) as raw:
                cursor = raw.cursor()
                try:
                    cursor.execute(sql, params)
                    return list(cursor.fetchall())
                finally:
                    cursor.close()
        except Exception as error:
            raise _translated(error) from error

    def select_events(
        self,
        originator_id: UUID | str,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        if _in_orm_transaction():
            orm: Any = super()  # the eventsourcing-sqlalchemy recorder after us
            events: list[StoredEvent] = orm.select_events(
                originator_id, gt, lte, desc, limit
            )
            return events
        return self._driver_select(originator_id, gt, lte, desc, limit)

    def _driver_select(
        self,
        originator_id: UUID | str,
        gt: int | None,
        lte: int | None,
        desc: bool,
        limit: int | None,
    ) -> list[StoredEvent]:
        m = self._mark
        sql = (
            f"SELECT originator_version, topic, state FROM {self._name} "
            f"WHERE originator_id = {m}"
        )
        params: list[Any] = [self._bind_id(originator_id)]
        if gt is not None:
            sql += f" AND originator_version > {m}"
            params.append(gt)
        if lte is not None:
            sql += f" AND originator_version <= {m}"
            params.append(lte)
        sql += " ORDER BY originator_version" + (" DESC" if desc else "")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._read(sql, params)
        uuid = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        return [StoredEvent(uuid, v, t, bytes(s)) for v, t, s in rows]


class LeanAggregateRecorder(_DriverPaths, SQLAlchemyAggregateRecorder):
    """Snapshots (and any aggregate-only store)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_driver_paths(channel=None)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if _needs_orm(kwargs) or not stored_events:
            _no_vault_records(stored_events)
            return super().insert_events(stored_events, **kwargs)
        self._driver_insert(stored_events)
        return None


class LeanApplicationRecorder(_DriverPaths, SQLAlchemyApplicationRecorder):
    """The order log: events with notification ids."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_driver_paths(channel=self.channel_name)

    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        session: Any = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        if session is not None or _needs_orm(kwargs) or not stored_events:
            _no_vault_records(stored_events)
            return super().insert_events(stored_events, session=session, **kwargs)
        return self._driver_insert(stored_events, requests.current())

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """eventsourcing's notifications, up to the safe head on PostgreSQL,
        read through the driver (the ORM query was a sixth of the relay's
        time to turn events into messages)."""
        if _in_orm_transaction():
            return super().select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )
        if self._pg:
            safe = self._safe_head()
            stop = safe if stop is None else min(stop, safe)
        m = self._mark
        sql = (
            "SELECT id, originator_id, originator_version, topic, state "
            f"FROM {self._name} WHERE 1 = 1"
        )
        params: list[Any] = []
        if start is not None:
            sql += f" AND id {'>=' if inclusive_of_start else '>'} {m}"
            params.append(start)
        if stop is not None:
            sql += f" AND id <= {m}"
            params.append(stop)
        if topics:
            sql += f" AND topic IN ({', '.join([m] * len(topics))})"
            params += list(topics)
        sql += f" ORDER BY id LIMIT {int(limit)}"
        return [
            Notification(
                id=i, originator_id=_uuid(o), originator_version=v, topic=t,
                state=bytes(s),
            )
            for i, o, v, t, s in self._read(sql, params)
        ]  # fmt: skip

    def _safe_head(self) -> int:
        """How far the log can be read without skipping a late commit
        (PostgreSQL; orderledger/store/safe_head.py)."""
        engine = self._engine()
        try:
            with pooled(engine) as raw:
                return horizon_for(str(engine.url), self._name).safe_head(raw)
        except StorageError:
            raise  # the horizon's own, already clear
        except Exception as error:
            raise _translated(error) from error

    def insert_first_events(
        self,
        rows: Sequence[FirstEvent],
        records: Sequence[RecordRow] = (),
        subjects: Sequence[SubjectRow] = (),
    ) -> None:
        """Many new originators' first events at once, no ids returned (a bulk
        import): (the originator id's 16 bytes, topic, state) each, so that
        no UUID or StoredEvent objects are made per row. On PostgreSQL: the
        same NOTIFY, then a binary COPY, which the server parses in half the
        time of text COPY (docs/benchmarks.md). `records`: the vault records
        of their personal data, in the same transaction."""
        if not self._pg or not rows:
            self._driver_insert(
                [
                    StoredEvent(UUID(bytes=key), 1, topic, state)
                    for key, topic, state in rows
                ],
                records=records,
                subjects=subjects,
            )
            return
        data = io.BytesIO(binary_copy(rows))
        copy = (
            f"COPY {self._name} (originator_id, originator_version, topic, state) "
            "FROM STDIN WITH (FORMAT binary)"
        )
        try:
            with pooled(self._engine()) as raw:
                cursor: Any = raw.cursor()
                try:
                    cursor.execute(f"NOTIFY {self._channel};")
                    cursor.copy_expert(copy, data)
                    # The vault's rows too (each once: Importer.write).
                    for table, columns, copied in (
                        (SUBJECTS, SUBJECT_COLUMNS, subjects),
                        (RECORDS, RECORD_COLUMNS, records),
                    ):
                        if copied:
                            cursor.copy_expert(
                                f"COPY {table} ({columns}) FROM STDIN "
                                "WITH (FORMAT binary)",
                                io.BytesIO(binary_copy_rows(copied)),
                            )
                finally:
                    cursor.close()
                raw.commit()
        except Exception as error:
            raise _translated(error) from error

    def select_first_events(
        self, originator_ids: Sequence[UUID | bytes]
    ) -> list[StoredEvent]:
        """Version 1 of each of these originators that exists (one query).
        An id may be given as its 16 bytes (an import checks thousands at
        once, and making UUID objects for them showed in its profile)."""
        if not originator_ids:
            return []
        m = self._mark
        sql = (
            f"SELECT originator_id, originator_version, topic, state FROM "
            f"{self._name} WHERE originator_version = 1 AND originator_id IN "
            f"({', '.join([m] * len(originator_ids))})"
        )
        rows = self._read(sql, [self._bind_key(i) for i in originator_ids])
        return [StoredEvent(_uuid(oid), v, t, bytes(s)) for oid, v, t, s in rows]

    def _bind_key(self, key: UUID | bytes) -> Any:
        if not isinstance(key, bytes):
            return self._bind_id(key)
        # PostgreSQL reads 32 hex digits as a uuid; SQLite stores the 16 bytes.
        return key.hex() if self._pg else key


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)
# Per row: 4 fields; uuid (16 bytes); bigint (8); the topic's length.
_COPY_ROW = struct.Struct("!hi16siqi")
_FIELD_COUNT = {n: struct.pack("!h", n) for n in range(16)}
_LENGTH = struct.Struct("!i").pack
_DOUBLE = struct.Struct("!id").pack  # its length (8), then the value


def binary_copy(rows: Sequence[FirstEvent]) -> bytes:
    """PostgreSQL's binary COPY format of (originator_id uuid,
    originator_version bigint, topic text, state bytea) rows, version 1."""
    parts = [_COPY_HEADER]
    encoded: dict[str, bytes] = {}
    for key, topic, state in rows:
        if len(key) != 16:  # struct would pad or cut it without a word
            raise ValueError(f"an originator id is 16 bytes, not {len(key)}")
        name = encoded.get(topic) or encoded.setdefault(topic, topic.encode())
        parts += (
            _COPY_ROW.pack(4, 16, key, 8, 1, len(name)),
            name,
            struct.pack("!i", len(state)),
            state,
        )
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


def binary_copy_rows(rows: Sequence[Sequence[str | bytes | float]]) -> bytes:
    """PostgreSQL's binary COPY format of rows of text, bytea and double
    precision values (the vault's rows)."""
    parts = [_COPY_HEADER]
    add = parts.append  # (half the time of `struct.pack` per value, in its profile)
    for row in rows:
        add(_FIELD_COUNT[len(row)])
        for value in row:
            if isinstance(value, float):
                add(_DOUBLE(8, value))
                continue
            data = value.encode() if isinstance(value, str) else value
            add(_LENGTH(len(data)))
            add(data)
    add(_COPY_TRAILER)
    return b"".join(parts)


def _uuid(value: Any) -> UUID:
    """A stored originator id read by the driver: 16 bytes (SQLite) or text."""
    if isinstance(value, bytes | memoryview):
        return UUID(bytes=bytes(value))
    return value if isinstance(value, UUID) else UUID(str(value))


class LeanFactory(SQLAlchemyFactory):
    """eventsourcing-sqlalchemy's factory, making the lean recorders."""

    aggregate_recorder_class = LeanAggregateRecorder
    application_recorder_class = LeanApplicationRecorder
    process_recorder_class = SQLAlchemyProcessRecorder
