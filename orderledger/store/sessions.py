"""Console sessions: a login with an API token opens one; the browser keeps
only a random session id (a secure, HTTP-only cookie), the table only its
hash, the token's id and when it ends. Revoking the token ends its sessions."""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)

from orderledger.store.ddl import create_tables

LIFETIME = 8 * 3600.0  # a working day


def _hash(session: str) -> str:
    return hashlib.sha256(session.encode("utf-8")).hexdigest()


class SessionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = Table(
            "api_console_sessions",
            MetaData(),
            Column("session_hash", String(64), primary_key=True),
            Column("token_id", Integer, nullable=False),
            Column("expires_at", Float, nullable=False),
        )
        create_tables(engine, [self.table])

    def open(self, token_id: int) -> str:
        """A new session for the token; the id, shown once (the cookie)."""
        session = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                delete(self.table).where(self.table.c.expires_at < time.time())
            )
            conn.execute(
                insert(self.table).values(
                    session_hash=_hash(session),
                    token_id=token_id,
                    expires_at=time.time() + LIFETIME,
                )
            )
        return session

    def token_id(self, session: str) -> int | None:
        """The token of a live session, or None."""
        t = self.table
        with self.engine.connect() as conn:
            found = conn.execute(
                select(t.c.token_id).where(
                    t.c.session_hash == _hash(session), t.c.expires_at > time.time()
                )
            ).scalar()
        return None if found is None else int(found)

    def close(self, session: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(self.table).where(self.table.c.session_hash == _hash(session))
            )
