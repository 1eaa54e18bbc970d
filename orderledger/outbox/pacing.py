"""Staying under a remote's per-minute call limit instead of running into it.

WDT limits an account's calls per minute and answers the excess with its
rate-limit error; the relay then pauses for minutes (RelayPolicy.
rate_limit_pause). With the account's limit configured, every call of this
process waits for its turn: calls are spaced evenly at 90% of the limit, so
any minute holds fewer calls than the limit, and a burst of orders drains
at a steady pace instead of in stop-and-go minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SHARE = 0.9  # of the account's limit: headroom for the clock and other callers


class Pacer:
    """Spaces calls at least 60 / (limit × SHARE) seconds apart (thread-safe)."""

    def __init__(
        self,
        calls_per_minute: int | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = (
            0.0 if not calls_per_minute else 60.0 / (calls_per_minute * SHARE)
        )
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def wait_turn(self) -> None:
        """Return when this call may go; callers queue in turn."""
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            self._sleep(at - now)
