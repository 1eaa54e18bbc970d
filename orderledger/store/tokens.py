"""API tokens: shown once, stored only as a hash.

A token is `olt_` and 32 random bytes (URL-safe base64). The table keeps its
SHA-256, the caller's name and role, and when it was created and revoked; a
token that leaks from a backup of the database is of no use.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, insert, select
from sqlalchemy import update as sql_update

from orderledger.store.ddl import create_tables

PREFIX = "olt_"


@dataclass(frozen=True)
class Caller:
    """Who holds a token: its id, name and role (a Role's value)."""

    token_id: int
    name: str
    role: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = Table(
            "api_tokens",
            MetaData(),
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("token_hash", String(64), nullable=False, unique=True),
            Column("name", String(64), nullable=False),
            Column("role", String(32), nullable=False),
            Column("created_at", String(32), nullable=False),
            Column("revoked_at", String(32), nullable=True),
        )
        create_tables(engine, [self.table])

    def create(self, name: str, role: str) -> tuple[int, str]:
        """A new token for `name` in `role`: (its id, the token, shown once)."""
        token = PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(self.table).values(
                    token_hash=token_hash(token),
                    name=name,
                    role=role,
                    created_at=_now(),
                )
            )
            (token_id,) = result.inserted_primary_key or (0,)
        return token_id, token

    def caller(self, token: str) -> Caller | None:
        """The live token's holder, or None (unknown or revoked)."""
        return self._live(self.table.c.token_hash == token_hash(token))

    def caller_by_id(self, token_id: int) -> Caller | None:
        """The holder of a live token by its id (a console session's)."""
        return self._live(self.table.c.id == token_id)

    def _live(self, condition: Any) -> Caller | None:
        t = self.table
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.c.id, t.c.name, t.c.role).where(
                    condition, t.c.revoked_at.is_(None)
                )
            ).first()
        return None if row is None else Caller(int(row.id), row.name, row.role)

    def list(self) -> list[dict[str, Any]]:
        t = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    t.c.id, t.c.name, t.c.role, t.c.created_at, t.c.revoked_at
                ).order_by(t.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    def revoke(self, token_id: int) -> bool:
        """False when no live token has that id."""
        t = self.table
        with self.engine.begin() as conn:
            moved = conn.execute(
                sql_update(t)
                .where(t.c.id == token_id, t.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            ).rowcount
        return bool(moved)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
