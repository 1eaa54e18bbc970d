"""How far the log can be read without skipping an event that commits late.

On PostgreSQL appends take no table lock, so two writers commit side by side
(the lock would serialise their commits and cap two clients at about 1.4× one;
docs/benchmarks.md). Ids can then become visible out of order: id 11 may
commit while the transaction holding id 10 is still open, and a reader that
moved its position to 11 would never see 10. Readers of the log by position
(projections, outbox, eventsourcing's notifications) therefore stop at the
*safe head*:

1. L = the id sequence's last value: every id ≤ L has been handed out.
2. The transactions that hold a write lock on the events table right now. A
   writer takes that lock before it draws an id (PostgreSQL locks the table
   when the INSERT starts; the id is drawn while it runs), so every
   transaction holding an id ≤ L that has not ended is among them.
3. Once they have all ended, committed or rolled back, every id ≤ L is
   visible or gone for good: L is safe. Their locks are released only after
   their commit is visible to new snapshots.

A writer that stays open longer than the wait leaves the reader at the last
safe head this process knew (or at none: nothing is read past the reader's
own position). On SQLite one writer at a time holds the database's write
lock from its insert to its commit, so ids become visible in order and the
highest id is the safe head.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from orderledger.domain.errors import StorageError

WAIT_SECONDS = 1.0
_FIRST_PAUSE = 0.0002
_LONGEST_PAUSE = 0.01

# Lock modes of writers: INSERT/UPDATE/DELETE take RowExclusive;
# eventsourcing-sqlalchemy's own insert path takes Exclusive first.
_WRITE_MODES = (
    "'RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', "
    "'AccessExclusiveLock'"
)


class PostgresHorizon:
    """The safe head of one events table in one PostgreSQL database."""

    def __init__(self, table: str) -> None:
        self.table = table
        # The highest head proved safe by this process, for the sequence it
        # came from: a table dropped and created again starts a new one.
        self._known: tuple[int, int] = (0, 0)
        self._mutex = threading.Lock()

    def safe_head(self, dbapi_connection: Any, *, wait: float = WAIT_SECONDS) -> int:
        cursor = dbapi_connection.cursor()
        try:
            sequence, handed_out = self._last_id(cursor)
            writers = self._open_writers(cursor)
            if writers and not self._wait_for_end(cursor, writers, wait):
                known_sequence, known = self._known
                return known if known_sequence == sequence else 0
        finally:
            cursor.close()
        with self._mutex:
            if self._known[0] != sequence or self._known[1] < handed_out:
                self._known = (sequence, handed_out)
        return handed_out

    def _last_id(self, cursor: Any) -> tuple[int, int]:
        """(the id sequence's oid, the last id it handed out)."""
        cursor.execute(
            "SELECT q.seq::oid, COALESCE(pg_sequence_last_value(q.seq), 0), "
            "s.seqcache FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass "
            "AS seq) q JOIN pg_sequence s ON s.seqrelid = q.seq",
            (self.table,),
        )
        row = cursor.fetchone()
        if row is None:
            raise StorageError(f"the table {self.table} has no id sequence")
        sequence, last, cache = row
        if cache != 1:
            # A session caching ids would hand out ids below the safe head
            # after it was proved safe.
            raise StorageError(
                f"the id sequence of {self.table} caches {cache} ids per session; "
                "the log needs CACHE 1 (ALTER SEQUENCE … CACHE 1)"
            )
        return int(sequence), int(last)

    def _open_writers(self, cursor: Any) -> list[str]:
        cursor.execute(
            "SELECT DISTINCT virtualtransaction FROM pg_locks "
            "WHERE locktype = 'relation' AND granted "
            "AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database()) "
            f"AND relation = %s::regclass AND mode IN ({_WRITE_MODES}) "
            "AND pid IS DISTINCT FROM pg_backend_pid()",
            (self.table,),
        )
        return [str(row[0]) for row in cursor.fetchall()]

    def _wait_for_end(self, cursor: Any, writers: list[str], wait: float) -> bool:
        """True once none of these transactions is running any more."""
        deadline = time.monotonic() + wait
        pause = _FIRST_PAUSE
        while True:
            # Every transaction holds a lock on its own virtual id until it ends.
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'virtualxid' "
                "AND virtualxid = ANY(%s)",
                (writers,),
            )
            if cursor.fetchone()[0] == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)


_horizons: dict[tuple[str, str], PostgresHorizon] = {}
_horizons_mutex = threading.Lock()


def horizon_for(database: str, table: str) -> PostgresHorizon:
    """One horizon per database and table in this process, so what one reader
    proved safe serves the next."""
    with _horizons_mutex:
        key = (database, table)
        if key not in _horizons:
            _horizons[key] = PostgresHorizon(table)
        return _horizons[key]
