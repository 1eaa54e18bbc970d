"""A command that must act on one version of the order (HTTP `If-Match`).

The expected version is set around a command (a context variable, so each
request's thread has its own) and checked on the order the command loads,
inside the same load → act → save: a writer that slips in between fails the
save's version check, and the retry on fresh data then fails this check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from orderledger.domain.errors import StaleVersion

_expected: ContextVar[int | None] = ContextVar("orderledger_if_match", default=None)


@contextmanager
def expecting_version(version: int | None) -> Iterator[None]:
    """Within this block, a command on an order at another version is refused
    (StaleVersion) and appends nothing. None: any version."""
    token = _expected.set(version)
    try:
        yield
    finally:
        _expected.reset(token)


def check_version(order_no: str, actual: int) -> None:
    expected = _expected.get()
    if expected is not None and actual != expected:
        raise StaleVersion(
            f"order {order_no} is at version {actual}, not {expected}: it changed "
            "since it was read; nothing was recorded: read it again"
        )
