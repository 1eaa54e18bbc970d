"""Waking up when the log grows: PostgreSQL LISTEN on the event store's channel.

eventsourcing-sqlalchemy NOTIFYs its channel (`orderledger_events`) in every
insert transaction, so followers can sleep until there is something to read.
"""

from __future__ import annotations

import select as io_select
import threading
from typing import Any, cast

from sqlalchemy import Engine

from orderledger.store.pooled import give_back


class LogListener:
    """LISTEN on the event store's channel with a dedicated connection."""

    def __init__(self, engine: Engine, channel: str) -> None:
        self._raw = engine.raw_connection()
        self._conn: Any = cast(Any, self._raw.driver_connection)
        self._conn.autocommit = True
        with self._conn.cursor() as cursor:
            cursor.execute(f"LISTEN {channel}")

    def wait(self, timeout: float, stop: threading.Event) -> None:
        # Wake at least every 0.5 s to notice `stop`.
        waited = 0.0
        while waited < timeout and not stop.is_set():
            step = min(0.5, timeout - waited)
            if io_select.select([self._conn], [], [], step)[0]:
                self._conn.poll()
                if self._conn.notifies:
                    self._conn.notifies.clear()
                    return
            waited += step

    def close(self) -> None:
        give_back(self._raw)
