"""Idempotent HTTP writes: the request's key is stored in the very
transaction that appends the events it caused.

Every write of the HTTP API may carry an `Idempotency-Key`. While a command
runs for such a request, `recording(request)` marks it; the lean recorder
(store/recorder.py) then inserts the request's row (caller, key, the
request's hash, the order and the version it reached, and the reply, which
every command builds before its write: `attach_reply`) with the events, in one
commit. A process killed at any moment leaves both or neither, so a retry
with the key finds the row and appends nothing, or finds none and appends
once. A request that appended nothing (an identical create, a change to the
same values) gets its row afterwards (`complete`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from orderledger.domain.personal import NOT_KEPT, replace_personal
from orderledger.store.ddl import create_tables

TABLE = "api_requests"
MAX_KEY = 128


@dataclass
class Request:
    """An idempotent request in flight: whose, its key, its content's hash."""

    caller_id: int
    key: str
    request_hash: str
    reply: str | None = None  # JSON, set before the write (attach_reply)
    recorded: bool = False  # its row went in with the events


@dataclass(frozen=True)
class SeenRequest:
    request_hash: str
    order_key: str
    version: int
    reply: str  # the first reply, JSON


_current: ContextVar[Request | None] = ContextVar("orderledger_request", default=None)


@contextmanager
def recording(request: Request) -> Iterator[Request]:
    """Within this block, the events a command appends carry the request's row."""
    token = _current.set(request)
    try:
        yield request
    finally:
        _current.reset(token)


def attach_reply(reply: dict[str, Any]) -> None:
    """The reply of the command about to write, for the request in flight."""
    request = _current.get()
    if request is not None and not request.recorded:
        request.reply = kept_reply(reply)


def kept_reply(reply: dict[str, Any]) -> str:
    """The reply as the log keeps it: without the personal data, which lives
    only in the vault (docs/privacy.md); a replay reads it afresh."""
    kept = copy.deepcopy(reply)
    replace_personal(kept, lambda _path, _value: NOT_KEPT)
    return json.dumps(kept, ensure_ascii=False)


def current() -> Request | None:
    """The request whose row goes in with the events being inserted now."""
    request = _current.get()
    return None if request is None or request.recorded else request


def row_statement(
    mark: str, request: Request, order_key: str, version: int
) -> tuple[str, list[Any]]:
    """The INSERT the recorder runs in its transaction (driver placeholders)."""
    sql = (
        f"INSERT INTO {TABLE} (caller_id, request_key, request_hash, order_key, "
        f"version, reply, created_at) VALUES ({', '.join([mark] * 7)})"
    )
    return sql, [
        request.caller_id,
        request.key,
        request.request_hash,
        order_key,
        version,
        request.reply,
        _now(),
    ]


class RequestLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = Table(
            TABLE,
            MetaData(),
            Column("caller_id", Integer, nullable=False),
            Column("request_key", String(MAX_KEY), nullable=False),
            Column("request_hash", String(64), nullable=False),
            Column("order_key", String(32), nullable=False),
            Column("version", Integer, nullable=False),
            # Every command builds its reply before its write (attach_reply):
            # a row without one would be a bug, and the insert fails loudly.
            Column("reply", Text, nullable=False),
            Column("created_at", String(32), nullable=False),
            PrimaryKeyConstraint("caller_id", "request_key"),
        )
        create_tables(engine, [self.table])

    def seen(self, caller_id: int, key: str) -> SeenRequest | None:
        t = self.table
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t).where(t.c.caller_id == caller_id, t.c.request_key == key)
            ).first()
        if row is None:
            return None
        return SeenRequest(row.request_hash, row.order_key, int(row.version), row.reply)

    def complete(
        self, request: Request, *, order_key: str, version: int, reply: str
    ) -> None:
        """The row of a request that appended nothing (a retry of a create, a
        change to the same values); one recorded with its events has it
        already. A concurrent twin that stored first wins."""
        if request.recorded:
            return
        t = self.table
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(t).values(
                        caller_id=request.caller_id,
                        request_key=request.key,
                        request_hash=request.request_hash,
                        order_key=order_key,
                        version=version,
                        reply=reply,
                        created_at=_now(),
                    )
                )
        except IntegrityError:
            pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
