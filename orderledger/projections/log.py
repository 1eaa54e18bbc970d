"""Reading the notification log in pages, straight from the events table.

The projections need a handful of fields per event, so they read the stored
JSON themselves instead of building domain objects: it is several times faster
and keeps a rebuild of millions of events within reach.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Row, Select, Table, Text, cast, func, literal, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from orderledger.domain.errors import StorageError
from orderledger.store.pooled import dropped
from orderledger.store.safe_head import horizon_for


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    position: int  # the notification id
    order_key: str  # the order's id as 32 hex digits
    version: int
    type: str  # "Created", "Confirmed", …
    data: dict[str, Any]

    @property
    def timestamp(self) -> str:
        return str(plain(self.data["timestamp"]))


def plain(value: Any) -> Any:
    """Unwrap eventsourcing's transcoded values ({"_type_": …, "_data_": …})."""
    if isinstance(value, dict) and "_type_" in value and "_data_" in value:
        return value["_data_"]
    return value


@cache
def event_type(topic: str) -> str:
    """'orderledger.order:Shipped.v1' -> 'Shipped'."""
    name = topic.rpartition(":")[2]
    return name.rpartition(".v")[0] or name


def order_key_column(conn: Connection, events: Table) -> ColumnElement[Any]:
    """The originator id as 32 lower-case hex digits, computed by the database
    (converting a UUID object per row in Python cost a fifth of a rebuild)."""
    if conn.dialect.name == "postgresql":
        return func.replace(cast(events.c.originator_id, Text), "-", "")
    return func.lower(func.hex(events.c.originator_id))


def _columns(conn: Connection, events: Table, *extra: Any) -> Select[Any]:
    return select(
        events.c.id,
        order_key_column(conn, events),
        events.c.originator_version,
        events.c.topic,
        events.c.state,
        *extra,
    )


def _logged(row: Row[Any]) -> LoggedEvent:
    return LoggedEvent(
        position=row[0],
        order_key=row[1],
        version=row[2],
        type=event_type(row[3]),
        data=_decode(row[0], row[4]),
    )


def read_part(
    conn: Connection,
    events: Table,
    after: int,
    limit: int,
    stop: int | None,
    owns: Callable[[str], bool],
) -> tuple[list[LoggedEvent], int | None]:
    """Events with notification id > after (and <= stop), in id order, up to
    the safe head (an event still being committed below it is never skipped),
    keeping only those of the orders `owns` (a partition's, or all), and the
    last position read (None: nothing left). The others are skipped before
    they are decoded: that is most of the work a partition worker saves.

    Ids may have holes (a rolled-back insert leaves one): nothing here assumes
    they are contiguous.
    """
    rows = _page_rows(conn, events, after, limit, stop)
    if not rows:
        return [], None
    return [_logged(row) for row in rows if owns(row[1])], int(rows[-1][0])


def _page_rows(
    conn: Connection, events: Table, after: int, limit: int, stop: int | None
) -> Sequence[Row[Any]]:
    if conn.dialect.name == "postgresql":
        safe = safe_head(conn, events)
        if safe <= after:
            return []
        stop = safe if stop is None else min(stop, safe)
    query = _columns(conn, events).where(events.c.id > after)
    if stop is not None:
        query = query.where(events.c.id <= stop)
    return conn.execute(query.order_by(events.c.id).limit(limit)).all()


OrderCursor = tuple[Any, int]  # (originator id as stored, version)


def read_by_order(
    conn: Connection,
    events: Table,
    after: OrderCursor | None,
    limit: int,
    originator: Any = None,
) -> tuple[list[LoggedEvent], OrderCursor | None]:
    """Events order by order (each order's in version order), after the
    cursor, and the cursor to read on from: a replay that holds one order at
    a time. `originator` restricts it to one order."""
    # The raw id is read only here: converting it per row is what read_part
    # avoids for the rebuild's sake.
    query = _columns(conn, events, events.c.originator_id)
    if originator is not None:
        query = query.where(events.c.originator_id == originator)
    if after is not None:
        query = query.where(
            tuple_(events.c.originator_id, events.c.originator_version)
            > tuple_(
                literal(after[0], events.c.originator_id.type),
                literal(after[1], events.c.originator_version.type),
            )
        )
    rows = conn.execute(
        query.order_by(events.c.originator_id, events.c.originator_version).limit(limit)
    ).all()
    cursor = (rows[-1][5], rows[-1][2]) if rows else None
    return [_logged(row) for row in rows], cursor


def _decode(position: int, state: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(state)
    except orjson.JSONDecodeError as error:
        raise StorageError(
            f"the stored event at position {position} cannot be decoded ({error}); "
            "run the audit tools and restore it from a backup"
        ) from None
    if not isinstance(data, dict):
        raise StorageError(f"the stored event at position {position} is not an object")
    return data


def head(conn: Connection, events: Table) -> int:
    """The highest id in the log (an event below it may still be committing)."""
    return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)


def safe_head(conn: Connection, events: Table) -> int:
    """The highest id up to which the log can be read without skipping a late
    commit (orderledger/store/safe_head.py)."""
    if conn.dialect.name != "postgresql":
        return head(conn, events)
    horizon = horizon_for(str(conn.engine.url), events.fullname)
    try:
        return horizon.safe_head(conn.connection)
    except Exception:
        # SQLAlchemy never saw the raw cursor fail: tell it a dropped
        # connection is gone rather than let its reset fail (store/pooled.py).
        if dropped(conn.connection):
            conn.engine.pool._invalidate(conn.connection, _checkin=False)
            conn.invalidate()
        raise


def count_after(conn: Connection, events: Table, position: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(events).where(events.c.id > position)
        ).scalar_one()
    )


def first_time_after(conn: Connection, events: Table, position: int) -> str | None:
    """The time of the oldest event not yet past `position`, for lag in seconds."""
    row = conn.execute(
        select(events.c.state)
        .where(events.c.id > position)
        .order_by(events.c.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return str(plain(orjson.loads(row[0])["timestamp"]))


def keys_of(page: Sequence[LoggedEvent]) -> list[str]:
    return list(dict.fromkeys(e.order_key for e in page))
