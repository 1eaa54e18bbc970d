"""Long-running followers outlive transient faults.

`erp poll --follow`, `outbox run --follow` and `projections follow` are left
running by ops through ERP outages and database restarts. A fault of the
remote (unreachable, HTTP 5xx, an answer that is not understood) or of the
database connection (killed, restarted) is retried with a doubling backoff,
said once on stderr when it starts and once when it ends, never as a
traceback or SQL. Anything else (configuration, a bug) ends the command with
its exit code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg2
from eventsourcing.persistence import InterfaceError as EsInterfaceError
from eventsourcing.persistence import OperationalError as EsOperationalError
from sqlalchemy import exc as sa_exc

from orderledger.domain.errors import StorageError, first_line
from orderledger.outbox.clients import TransientError

TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,  # the remote: down, 5xx, garbled, rate limited
    StorageError,  # the event store unreachable (eventsourcing's errors, wrapped)
    sa_exc.OperationalError,  # a lost or refused database connection
    sa_exc.InterfaceError,
    psycopg2.OperationalError,  # the same, from a raw connection (LISTEN, COPY)
    psycopg2.InterfaceError,
    EsOperationalError,
    EsInterfaceError,
    ConnectionError,
)


def describe(error: BaseException) -> str:
    """One line about a fault: its first line only (SQLAlchemy appends the SQL
    and its parameters after it)."""
    return f"{type(error).__name__}: {first_line(error)}"[:300]


class Supervisor:
    """Runs `work` again after each transient fault, with backoff, until
    `stop` is set; `ok()` marks a round that went well."""

    def __init__(
        self,
        what: str,
        stop: threading.Event,
        say: Callable[[str], None],
        *,
        base: float = 0.5,
        cap: float = 30.0,
    ) -> None:
        self.what, self.stop, self.say = what, stop, say
        self.base, self.cap = base, cap
        self.delay = base
        self.failing: str | None = None
        self.faults = 0

    def ok(self) -> None:
        if self.failing is not None:
            self.say(f"{self.what}: recovered")
        self.failing, self.delay = None, self.base

    def run(self, work: Callable[[], None]) -> None:
        while not self.stop.is_set():
            try:
                work()
                return
            except TRANSIENT as error:
                self.faults += 1
                text = describe(error)
                if text != self.failing:  # one line per change of state
                    self.say(f"{self.what}: {text}; retrying with backoff")
                    self.failing = text
                self.stop.wait(self.delay)
                self.delay = min(self.cap, self.delay * 2)
