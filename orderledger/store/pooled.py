"""Borrowing a DBAPI connection from an engine's pool for one unit of work."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine


@contextmanager
def pooled(engine: Engine) -> Iterator[Any]:
    """A pooled DBAPI connection, given back at the end; the pool rolls back
    whatever was not committed."""
    raw = engine.raw_connection()
    try:
        yield raw
    finally:
        give_back(raw)


def give_back(raw: Any) -> None:
    """Return a pooled connection; one the server dropped (a killed backend,
    a restart) is discarded instead: resetting it would fail, and SQLAlchemy
    logs that failure with a traceback on stderr."""
    if dropped(raw):
        # Every connection the pool made before now is as dead (a restart):
        # mark them all to be replaced on their next checkout, as SQLAlchemy
        # does when one of its own queries meets a disconnect; this one is
        # discarded now.
        raw._pool._invalidate(raw)
    else:
        raw.close()


def dropped(raw: Any) -> bool:
    """Whether the server dropped this pooled connection."""
    return bool(getattr(raw.driver_connection, "closed", 0))


def quiet_pool_resets() -> None:
    """SQLAlchemy logs, with a traceback on stderr, a pooled connection
    whose reset failed because the server had dropped it meanwhile (a
    restart, a killed backend): the connection is simply discarded, and the
    followers report the fault themselves in one line and retry."""
    pool_log = logging.getLogger("sqlalchemy.pool")
    if not pool_log.handlers:
        pool_log.addHandler(logging.NullHandler())
    pool_log.propagate = False
