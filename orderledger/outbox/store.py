"""The delivery ledger: one row per message per destination, and tracking.

Rows are written in the same transaction that moves the destination's log
position, so a crash at any instant loses no message; a row marked `sent`
whose answer was never recorded is simply sent again (WDT updates a known
tid, U8 ignores a known biz_id).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from orderledger.store.bulk_rows import insert_rows, update_rows
from orderledger.store.ddl import create_tables

PENDING, SENT, ACKED, PARKED, DEAD = "pending", "sent", "acknowledged", "parked", "dead"
# Replaced by a resync that carries the order's whole current state: never
# sent (again), and it blocks nothing.
SUPERSEDED = "superseded"
UNDELIVERED = (PENDING, SENT)
BLOCKING = (PARKED, DEAD)  # an order with one of these waits for a person


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass(frozen=True)
class Delivery:
    id: int
    order_key: str
    order_no: str
    position: int
    kind: str
    remote_key: str
    payload: str
    attempts: int


class DeliveryStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        md = MetaData()
        self.tracking = Table(
            "outbox_tracking",
            md,
            Column("destination", String(16), primary_key=True),
            Column("position", BigInteger, nullable=False),
            Column("updated_at", String(32)),
        )
        self.deliveries = Table(
            "outbox_deliveries",
            md,
            Column(
                "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
            ),
            Column("destination", String(16), nullable=False),
            Column("order_key", String(32), nullable=False),
            Column("order_no", String(40), nullable=False),
            Column(
                "position", BigInteger, nullable=False
            ),  # the event's notification id
            Column("seq", Integer, nullable=False),  # n-th message of that event
            Column("version", Integer, nullable=False),
            Column("event_type", String(40), nullable=False),
            Column("event_time", String(40), nullable=False),
            Column("kind", String(20), nullable=False),
            Column("remote_key", String(120), nullable=False),  # tid / biz_id
            Column("payload", Text, nullable=False),
            Column("state", String(16), nullable=False),
            # 1 while pending or sent: lets the next batch come straight off
            # an index in position order, however long the ledger grows.
            Column("open", Integer, nullable=False, default=1),
            Column("attempts", Integer, nullable=False, default=0),
            Column("last_error", Text),
            Column("remote_id", String(120)),
            Column("created_at", Float, nullable=False),
            Column("sent_at", Float),
            Column("acked_at", Float),
            Column("next_attempt_at", Float, nullable=False, default=0.0),
            UniqueConstraint(
                "destination", "position", "seq", name="uq_outbox_message"
            ),
        )
        d = self.deliveries
        Index("ix_outbox_open", d.c.destination, d.c.open, d.c.position, d.c.seq)
        Index("ix_outbox_state", d.c.destination, d.c.state)
        Index("ix_outbox_order", d.c.destination, d.c.order_key)
        self.metadata = md
        self._ready = False

    def ensure(self, destinations: Iterable[str]) -> None:
        if not self._ready:
            create_tables(self.engine, [self.tracking, self.deliveries])
            self._ready = True
        for destination in destinations:
            try:
                with self.engine.begin() as conn:
                    if self._position(conn, destination) is None:
                        conn.execute(
                            insert(self.tracking).values(
                                destination=destination,
                                position=0,
                                updated_at=_iso(time.time()),
                            )
                        )
            except IntegrityError:
                pass  # another process inserted it first

    # ---- the position ------------------------------------------------------

    def _position(self, conn: Any, destination: str) -> int | None:
        value = conn.execute(
            select(self.tracking.c.position).where(
                self.tracking.c.destination == destination
            )
        ).scalar()
        return None if value is None else int(value)

    def position(self, destination: str) -> int:
        with self.engine.connect() as conn:
            return self._position(conn, destination) or 0

    def enqueue(
        self,
        destination: str,
        old: int,
        new: int,
        rows: Sequence[dict[str, Any]],
        supersede: Sequence[tuple[str, str, int]] = (),
    ) -> bool:
        """Move the position from old to new and add the rows, atomically.
        False (and nothing written) if the position was not `old` any more.

        `supersede`: (order key, kind, position) of resync messages in these
        rows; the order's undelivered messages of that kind from before them
        (pending, sent, parked or dead) are superseded in the same
        transaction: the resync sends the state they would have sent, as it
        is now."""
        with self.engine.begin() as conn:
            d = self.deliveries
            for order_key, kind, position in supersede:
                conn.execute(
                    update(d)
                    .where(
                        d.c.destination == destination,
                        d.c.order_key == order_key,
                        d.c.kind == kind,
                        d.c.position < position,
                        d.c.state.in_((*UNDELIVERED, *BLOCKING)),
                    )
                    .values(
                        state=SUPERSEDED,
                        open=0,
                        last_error=f"superseded by the resync at {position}",
                    )
                )
            moved = conn.execute(
                update(self.tracking)
                .where(
                    self.tracking.c.destination == destination,
                    self.tracking.c.position == old,
                )
                .values(position=new, updated_at=_iso(time.time()))
            ).rowcount
            if moved != 1:
                return False
            insert_rows(conn, self.deliveries, rows)
        return True

    # ---- choosing what to send --------------------------------------------

    def next_batch(
        self, destination: str, size: int, now: float, scan: int = 1000
    ) -> list[Delivery]:
        """Up to `size` messages that may go now: the oldest undelivered message
        of each order, unless it waits for a retry or the order is blocked."""
        d = self.deliveries
        blocked = select(d.c.order_key).where(
            d.c.destination == destination, d.c.state.in_(BLOCKING)
        )
        query = (
            select(d.c.id, d.c.order_key, d.c.order_no, d.c.position, d.c.kind,
                   d.c.remote_key, d.c.payload, d.c.attempts, d.c.next_attempt_at)
            .where(d.c.destination == destination, d.c.open == 1,
                   d.c.order_key.not_in(blocked))
            .order_by(d.c.position, d.c.seq)
            .limit(scan)
        )  # fmt: skip
        seen: set[str] = set()
        batch: list[Delivery] = []
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                if row.order_key in seen:
                    continue
                seen.add(row.order_key)
                if row.next_attempt_at <= now:
                    batch.append(Delivery(*row[:8]))
                    if len(batch) == size:
                        break
        return batch

    def next_due(self, destination: str) -> float | None:
        """When the earliest waiting message may be retried (None: none waits)."""
        d = self.deliveries
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.min(d.c.next_attempt_at)).where(
                    d.c.destination == destination, d.c.open == 1
                )
            ).scalar()

    # ---- recording what happened -----------------------------------------

    def _set(self, ids: Sequence[int], **values: Any) -> None:
        if ids:
            with self.engine.begin() as conn:
                conn.execute(
                    update(self.deliveries)
                    .where(self.deliveries.c.id.in_(ids))
                    .values(**values)
                )

    def mark_sent(self, ids: Sequence[int], now: float) -> None:
        d = self.deliveries
        self._set(ids, state=SENT, sent_at=now, attempts=d.c.attempts + 1)

    def record(
        self,
        *,
        acknowledged: Sequence[tuple[int, str]] = (),
        parked: Sequence[tuple[int, str]] = (),
        retries: Sequence[tuple[int, str, str, float]] = (),
        now: float,
    ) -> None:
        """A batch's outcomes in one transaction: (id, remote id) acknowledged,
        (id, error) parked, (id, state, error, next attempt) to retry."""
        d = self.deliveries
        with self.engine.begin() as conn:
            update_rows(
                conn,
                d,
                "id",
                [
                    {
                        "id": i,
                        "state": ACKED,
                        "open": 0,
                        "remote_id": r,
                        "acked_at": now,
                    }
                    for i, r in acknowledged
                ],
            )
            update_rows(
                conn,
                d,
                "id",
                [
                    {"id": i, "state": PARKED, "open": 0, "last_error": e}
                    for i, e in parked
                ],
            )
            update_rows(
                conn,
                d,
                "id",
                [
                    {
                        "id": i,
                        "state": st,
                        "open": int(st == PENDING),
                        "last_error": e,
                        "next_attempt_at": at,
                    }
                    for i, st, e, at in retries
                ],
            )

    def release(self, destination: str, order_no: str | None) -> int:
        """Parked or dead messages back to pending (all, or one order's)."""
        d = self.deliveries
        condition = and_(d.c.destination == destination, d.c.state.in_(BLOCKING))
        if order_no is not None:
            condition = and_(condition, d.c.order_no == order_no)
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    update(d)
                    .where(condition)
                    .values(state=PENDING, open=1, next_attempt_at=0.0, attempts=0)
                ).rowcount
            )

    def replay(
        self,
        destination: str,
        *,
        order_no: str | None = None,
        since: str | None = None,
        from_position: int | None = None,
    ) -> int:
        """Send the chosen messages again, in their original order."""
        d = self.deliveries
        condition = d.c.destination == destination
        if order_no is not None:
            condition = and_(condition, d.c.order_no == order_no)
        if since is not None:
            condition = and_(condition, d.c.event_time >= since)
        if from_position is not None:
            condition = and_(condition, d.c.position >= from_position)
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    update(d)
                    .where(condition)
                    .values(state=PENDING, open=1, next_attempt_at=0.0)
                ).rowcount
            )

    # ---- reporting -----------------------------------------------------------

    def counts(self, destination: str) -> dict[str, int]:
        d = self.deliveries
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(d.c.state, func.count())
                .where(d.c.destination == destination)
                .group_by(d.c.state)
            ).all()
        return {state: int(n) for state, n in rows}

    def oldest_undelivered(self, destination: str) -> float | None:
        d = self.deliveries
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.min(d.c.created_at)).where(
                    d.c.destination == destination, d.c.open == 1
                )
            ).scalar()

    def blocked(self, destination: str | None = None) -> list[dict[str, Any]]:
        d = self.deliveries
        query = select(
            d.c.destination, d.c.order_no, d.c.position, d.c.version, d.c.event_type,
            d.c.kind, d.c.state, d.c.attempts, d.c.last_error,
        ).where(d.c.state.in_(BLOCKING))  # fmt: skip
        if destination is not None:
            query = query.where(d.c.destination == destination)
        with self.engine.connect() as conn:
            return [
                dict(r._mapping) for r in conn.execute(query.order_by(d.c.position))
            ]

    def last_message(
        self, destination: str, order_key: str, *, kind: str | None = None
    ) -> dict[str, Any] | None:
        """The order's latest message to `destination` (of `kind`), if any."""
        d = self.deliveries
        condition = and_(d.c.destination == destination, d.c.order_key == order_key)
        if kind is not None:
            condition = and_(condition, d.c.kind == kind)
        query = (
            select(d.c.event_type, d.c.version, d.c.state, d.c.attempts, d.c.last_error)
            .where(condition)
            .order_by(d.c.position.desc(), d.c.seq.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def messages(
        self, destination: str, order_key: str | None = None
    ) -> list[dict[str, Any]]:
        """Every message to `destination`, or one order's (by its key: the
        index), in the order they were queued."""
        d = self.deliveries
        query = select(d).where(d.c.destination == destination)
        if order_key is not None:
            query = query.where(d.c.order_key == order_key)
        with self.engine.connect() as conn:
            return [
                dict(r._mapping)
                for r in conn.execute(query.order_by(d.c.position, d.c.seq))
            ]
