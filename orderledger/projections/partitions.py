"""A view's orders split into partitions, so that workers on every core (or on
several hosts against one PostgreSQL) build and follow it together.

An order belongs to partition `part_of(key, parts)`: every event of an order
goes to the same worker, so each order's row is still folded in version order
by one process, and no event belongs to two partitions.

A generation is tracked either whole (its row in olp_tracking) or split (a
row per partition in olp_partitions, each with its own position, claimed page
by page like the whole view's). Splitting and merging back are one
transaction each and both lock the tracking row first; a whole-view runner
looks for a split inside the transaction that claims its page and gives the
page back if it finds one. So a whole-view runner and a partition worker never
apply the same page, and a merge only happens when every partition stands at
the same position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Connection


def part_of(order_key: str, parts: int) -> int:
    """The partition of an order (its key is 32 hex digits; the last eight
    are random in a uuid4 and hashed in a uuid5, so parts come out even)."""
    return int(order_key[-8:], 16) % parts


@dataclass(frozen=True)
class Cursor:
    """What one runner reads and claims: the whole view, or one partition."""

    name: str
    generation: int
    part: int | None = None
    parts: int = 1

    def owns(self, order_key: str) -> bool:
        return self.part is None or part_of(order_key, self.parts) == self.part


class SplitMeanwhile(Exception):
    """A whole-view runner claimed a page of a view split since: roll back
    (`applied`: what the runner had applied before it found the split)."""

    def __init__(self, applied: int = 0) -> None:
        super().__init__(f"the view was split after {applied} event(s)")
        self.applied = applied


class Tracking:
    """Positions of whole views and of partitions, claimed page by page."""

    def __init__(self, tracking: Table, partitions: Table, now: Any) -> None:
        self.tracking = tracking
        self.partitions = partitions
        self._now = now  # () -> ISO time, the store's clock

    def _whole(self, name: str, generation: int) -> Any:
        t = self.tracking
        return (t.c.name == name) & (t.c.generation == generation)

    def _split_rows(self, name: str, generation: int) -> Any:
        p = self.partitions
        return (p.c.name == name) & (p.c.generation == generation)

    def parts(self, conn: Connection, name: str, generation: int) -> list[Any]:
        """The partitions of a split generation (empty when tracked whole)."""
        p = self.partitions
        return list(
            conn.execute(
                select(p.c.part, p.c.parts, p.c.position)
                .where(self._split_rows(name, generation))
                .order_by(p.c.part)
            )
        )

    def position(self, conn: Connection, cursor: Cursor) -> int | None:
        """Where the cursor stands; None for a partition merged back since."""
        if cursor.part is None:
            query = select(self.tracking.c.position).where(
                self._whole(cursor.name, cursor.generation)
            )
        else:
            p = self.partitions
            query = select(p.c.position).where(
                self._split_rows(cursor.name, cursor.generation),
                p.c.part == cursor.part,
            )
        found = conn.execute(query).scalar()
        return None if found is None else int(found)

    def claim(self, conn: Connection, cursor: Cursor, old: int, new: int) -> bool:
        """Move the cursor from `old` to `new`; False if someone else moved it.

        A whole-view claim raises SplitMeanwhile when the view has been
        split (the caller's transaction then rolls the claim back)."""
        if cursor.part is None:
            table, where = self.tracking, self._whole(cursor.name, cursor.generation)
        else:
            table = self.partitions
            where = self._split_rows(cursor.name, cursor.generation) & (
                table.c.part == cursor.part
            )
        result = conn.execute(
            update(table)
            .where(where, table.c.position == old)
            .values(position=new, updated_at=self._now())
        )
        if result.rowcount != 1:
            return False
        if cursor.part is None and self.parts(conn, cursor.name, cursor.generation):
            raise SplitMeanwhile
        return True

    def _lock_whole(self, conn: Connection, name: str, generation: int) -> int:
        """Lock the tracking row (the split and the merge serialise on it)
        and return its position."""
        conn.execute(
            update(self.tracking)
            .where(self._whole(name, generation))
            .values(updated_at=self._now())
        )
        return int(
            conn.execute(
                select(self.tracking.c.position).where(self._whole(name, generation))
            ).scalar_one()
        )

    def split(self, conn: Connection, name: str, generation: int, parts: int) -> int:
        """Split the generation into `parts` partitions at its whole position;
        a generation split already keeps its own number of parts (a worker
        killed mid-way resumes its partition). Returns the parts in effect."""
        position = self._lock_whole(conn, name, generation)
        existing = self.parts(conn, name, generation)
        if existing:
            return int(existing[0].parts)
        conn.execute(
            insert(self.partitions),
            [
                {
                    "name": name,
                    "generation": generation,
                    "part": part,
                    "parts": parts,
                    "position": position,
                    "updated_at": self._now(),
                }
                for part in range(parts)
            ],
        )
        return parts

    def merge(self, conn: Connection, name: str, generation: int) -> bool:
        """Track the generation whole again if every partition stands at the
        same position; False (nothing changed) while they do not."""
        found = self.parts(conn, name, generation)
        if not found:
            return True
        positions = {row.position for row in found}
        if len(positions) != 1 or len(found) != found[0].parts:
            return False
        at = positions.pop()
        self._lock_whole(conn, name, generation)
        deleted = conn.execute(
            delete(self.partitions).where(
                self._split_rows(name, generation),
                self.partitions.c.position == at,
            )
        ).rowcount
        if deleted != len(found):
            raise SplitMeanwhile  # a partition moved on meanwhile: roll back
        conn.execute(
            update(self.tracking)
            .where(self._whole(name, generation))
            .values(position=at, updated_at=self._now())
        )
        return True

    def drop(self, conn: Connection, name: str, generation: int) -> None:
        conn.execute(delete(self.partitions).where(self._split_rows(name, generation)))
