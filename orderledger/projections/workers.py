"""Worker processes, one per partition of a view (partitions.py): a rebuild on
every core, and `projections follow --workers N`.

Each worker is a process of its own (spawned: no state shared with the
parent but its arguments) that builds its own store with `make_store`, a
picklable factory the caller passes in from the outer layers. Workers on
other hosts are the same loop started there against the same PostgreSQL
(`projections follow --workers N --part K`).
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any

from orderledger.domain.errors import StorageError
from orderledger.projections.store import Progress, ProjectionStore

StoreFactory = Callable[[], ProjectionStore]
_REPORT_SECONDS = 0.2


def default_workers(store: ProjectionStore) -> int:
    """Every CPU on PostgreSQL; one on SQLite, where a database takes one
    writer at a time and two workers measured slower than one
    (docs/benchmarks.md, "Projection rebuild on every core")."""
    return (os.cpu_count() or 1) if store.is_postgres else 1


Target = tuple[str, int]  # a view's name and the generation being built


def build_in_parts(
    make_store: StoreFactory,
    store: ProjectionStore,
    targets: list[Target],
    workers: int,
    progress: Progress | None = None,
) -> None:
    """Build generations to the head with a worker process per partition,
    each taking its partition of every target in turn (one start-up for all
    the views). A generation split already (a rebuild interrupted, a worker
    killed) keeps its parts and each worker resumes its own."""
    shares = [(name, gen, store.split(name, gen, workers)) for name, gen in targets]
    stop = store.head()
    ctx = get_context("spawn")
    reports: Any = ctx.Queue()
    processes = [
        ctx.Process(
            target=_build_part,
            args=(make_store, shares, part, stop, reports),
            name=f"rebuild-part-{part}",
        )
        for part in range(max(parts for _, _, parts in shares))
    ]
    for process in processes:
        process.start()
    try:
        while any(p.is_alive() for p in processes):
            _report(reports, progress, _REPORT_SECONDS)
    finally:
        for process in processes:
            process.join()
    while _report(reports, progress, 0):
        pass
    _raise_if_failed(processes, "rebuild worker(s)")


def _report(reports: Any, progress: Progress | None, wait: float) -> bool:
    try:
        events, position = reports.get(timeout=wait) if wait else reports.get_nowait()
    except queue.Empty:
        return False
    if progress is not None:
        progress(events, position)
    return True


def _build_part(
    make_store: StoreFactory,
    shares: list[tuple[str, int, int]],
    part: int,
    stop: int,
    reports: Any,
) -> None:
    # Progress reports are for the bar only: a worker stopped by Ctrl-C must
    # not wait at exit for a parent that no longer reads them.
    reports.cancel_join_thread()
    with _quiet_interrupt():
        store = make_store()
        for name, generation, parts in shares:
            if part < parts:
                store.catch_up_part(
                    name,
                    generation,
                    part,
                    parts,
                    stop=stop,
                    progress=lambda events, at: reports.put((events, at)),
                )


def follow_in_parts(
    run_share: Callable[[int, int, threading.Event], None],
    parts: int,
    mine: list[int],
    max_seconds: float | None,
) -> None:
    """Run `run_share(part, parts, stop)` in a process per partition in
    `mine`, until Ctrl-C, SIGTERM or `max_seconds`. A signal to this process
    alone (a service manager's stop, `kill`) is passed on to every worker;
    each ends its round and stops."""
    ctx = get_context("spawn")
    processes = [
        ctx.Process(
            target=_follow_part,
            args=(run_share, part, parts, max_seconds),
            name=f"follow-part-{part}",
        )
        for part in mine
    ]
    for process in processes:
        process.start()

    def pass_on(*_: Any) -> None:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, pass_on) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in processes:
            process.join()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    _raise_if_failed(processes, "follower(s)")


def _follow_part(
    run_share: Callable[[int, int, threading.Event], None],
    part: int,
    parts: int,
    max_seconds: float | None,
) -> None:
    stop = threading.Event()
    # Ctrl-C and a service manager's stop both end the loop between rounds.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if max_seconds is not None:
        timer = threading.Timer(max_seconds, stop.set)
        timer.daemon = True
        timer.start()
    run_share(part, parts, stop)


@contextmanager
def _quiet_interrupt() -> Iterator[None]:
    """Ctrl-C reaches every worker too: end with 130, not a traceback."""
    try:
        yield
    except KeyboardInterrupt:
        sys.exit(130)


def _raise_if_failed(processes: list[Any], what: str) -> None:
    failed = [f"{p.name} exit {p.exitcode}" for p in processes if p.exitcode != 0]
    if failed:
        raise StorageError(
            f"{len(failed)} of {len(processes)} {what} stopped ({', '.join(failed)}); "
            "what they applied is kept: run the same command again to resume"
        )
