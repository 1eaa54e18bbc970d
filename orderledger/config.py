"""Settings from options and the environment. Nothing here does I/O at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DEFAULT_DB_URL = "sqlite:///./orderledger.db"
DB_ENV = "ORDERLEDGER_DB"
TZ_ENV = "ORDERLEDGER_TZ"
DEFAULT_TZ = "Asia/Shanghai"


def normalise_db_url(url: str) -> str:
    """Accept a plain file path for SQLite and the short PostgreSQL scheme."""
    url = url.strip()
    if "://" not in url:
        return "sqlite:///" + url
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def redact_url(url: str) -> str:
    """A database URL safe to print: the password, if any, is replaced."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    timezone: str = DEFAULT_TZ

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def load(
        cls, db: str | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        env = os.environ if environ is None else environ
        url = db or env.get(DB_ENV) or DEFAULT_DB_URL
        return cls(
            db_url=normalise_db_url(url),
            timezone=env.get(TZ_ENV) or DEFAULT_TZ,
        )
