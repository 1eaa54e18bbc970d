"""One relay per destination at a time.

Two relays delivering the same destination could send an order's messages
out of order; a lock per destination lets a second relay wait instead. The
lock dies with its process (a SIGKILLed relay frees it at once): a
PostgreSQL session advisory lock, or an OS file lock beside a SQLite file.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError


class DestinationLock:
    def __init__(self, engine: Engine, destination: str) -> None:
        self.engine = engine
        self.destination = destination
        self._conn: Any = None
        self._file: Any = None

    def _key(self) -> int:
        return zlib.crc32(f"orderledger-outbox-{self.destination}".encode())

    def try_acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key()}
                ).scalar()
            )
            conn.commit()
            if got:
                self._conn = conn
            else:
                conn.close()
            return got
        path = f"{self.engine.url.database or 'memory'}.outbox-{self.destination}.lock"
        handle = open(path, "a+")  # noqa: SIM115  (held open for the lock's lifetime)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key()})
                conn.commit()
                conn.close()
            except SQLAlchemyError:
                # The session is gone (killed, restarted), and the lock with it.
                conn.invalidate()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
