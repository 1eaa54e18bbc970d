"""Running a relay as ops leave it running: one per destination (the lock),
awake on the event store's NOTIFY (PostgreSQL), through transient faults (the
supervisor). `outbox run` and the demo both run their relays through here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from orderledger.outbox.lock import DestinationLock
from orderledger.outbox.relay import Relay, RoundReport
from orderledger.outbox.supervisor import Supervisor
from orderledger.store.listen import LogListener


def run_relay(
    relay: Relay,
    stop: threading.Event,
    *,
    once: bool,
    say: Callable[[str], None],
    on_round: Callable[[RoundReport], None] | None = None,
) -> RoundReport | None:
    """Relay until `stop` (or, with `once`, until nothing can be sent now);
    the totals of the last attempt, or None when `stop` came before the lock
    was ours. With `once`, a fault ends the run (raised); otherwise it is
    retried with backoff."""
    supervisor = Supervisor(relay.destination, stop, say)
    lock = DestinationLock(relay.store.engine, relay.destination)
    totals: list[RoundReport] = []

    def round_done(report: RoundReport) -> None:
        supervisor.ok()
        if on_round is not None:
            on_round(report)

    def relay_until_stopped() -> None:
        # The lock is taken anew on every attempt: a database restart ends
        # the session that held it, and another relay may have it now.
        if not _acquire(lock, relay.destination, stop, say):
            return  # stopped while waiting
        # On PostgreSQL a follower wakes on the event store's NOTIFY at once.
        recorder: Any = relay.source.recorder
        listener = None
        try:
            if relay.store.engine.dialect.name == "postgresql" and not once:
                listener = LogListener(relay.store.engine, recorder.channel_name)
            wait = (lambda s: listener.wait(s, stop)) if listener else None
            totals.append(relay.run(stop, once=once, on_round=round_done, wait=wait))
        finally:
            if listener is not None:
                listener.close()
            lock.release()

    if once:
        relay_until_stopped()
    else:
        supervisor.run(relay_until_stopped)
    return totals[-1] if totals else None


def _acquire(
    lock: DestinationLock,
    destination: str,
    stop: threading.Event,
    say: Callable[[str], None],
) -> bool:
    if lock.try_acquire():
        return True
    say(f"{destination}: another relay is running; waiting for it to stop")
    while not stop.wait(1.0):
        if lock.try_acquire():
            return True
    return False
