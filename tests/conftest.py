"""Shared fixtures: one test body runs on SQLite and on PostgreSQL.

PostgreSQL tests skip on a developer machine without the service, but in CI
(CI=true) a missing PostgreSQL fails the run loudly instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import create_engine, text

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_ledger, build_projections
from orderledger.config import Settings
from orderledger.projections.store import ProjectionStore

# The WDT and U8 simulator fixtures, for e2e and CLI tests alike.
pytest_plugins = ["tests.simfixtures"]

# PostgreSQL needs a configured master key for personal data (docs/privacy.md);
# every test, and every process a test starts, uses this one unless it sets
# its own. Tests of the key's absence remove it.
TEST_MASTER_KEY = "0f" * 32
os.environ.setdefault("ORDERLEDGER_MASTER_KEY", TEST_MASTER_KEY)
# Most tests make up their SKUs: lines of SKUs the catalog does not know are
# taken in full. The catalog's own tests set "refuse" (the default).
os.environ.setdefault("ORDERLEDGER_UNKNOWN_SKUS", "allow")
# Nor is there stock for them in the WDT simulator: confirmations do not ask
# for it, but in the stock tests.
os.environ.setdefault("ORDERLEDGER_STOCK_CHECK", "off")

PG_URL = os.environ.get(
    "ORDERLEDGER_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


@cache
def _postgres_problem() -> str | None:
    try:
        dsn = PG_URL.replace("postgresql+psycopg2://", "postgresql://")
        psycopg2.connect(dsn, connect_timeout=3).close()
    except psycopg2.OperationalError as error:
        return str(error).strip().splitlines()[0]
    return None


def require_postgres() -> str:
    problem = _postgres_problem()
    if problem is not None:
        message = f"PostgreSQL at {PG_URL} is not available: {problem}"
        if os.environ.get("CI"):
            pytest.fail("CI requires PostgreSQL: " + message, pytrace=False)
        pytest.skip(message)
    return PG_URL


def reset_postgres(url: str) -> None:
    """Drop the ledger's and the projections' tables: each test starts empty."""
    engine = create_engine(url)
    with engine.begin() as conn:
        names = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND (tablename LIKE 'orderledger%' OR tablename LIKE 'olp%' "
                "OR tablename LIKE 'outbox%' OR tablename LIKE 'erp%' "
                "OR tablename LIKE 'api%' OR tablename LIKE 'vault%' "
                "OR tablename LIKE 'catalog%')"
            )
        ).scalars()
        for table in names:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    engine.dispose()


@pytest.fixture
def pg_url() -> str:
    url = require_postgres()
    reset_postgres(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url = require_postgres()
        reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(db_url=db_url)


@pytest.fixture
def ledger(settings: Settings) -> Iterator[OrderLedger]:
    app = build_ledger(settings)
    yield app
    app.close()


@pytest.fixture
def store(ledger: OrderLedger, settings: Settings) -> ProjectionStore:
    return build_projections(ledger, settings)
