"""The composition root: builds the application from settings.

Only the CLI and the tests call this; nothing else imports it.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import PersistenceError
from sqlalchemy.exc import SQLAlchemyError

from orderledger.application import OrderLedger
from orderledger.config import Settings, redact_url
from orderledger.domain.errors import StorageError, first_line
from orderledger.projections.store import ProjectionStore


def persistence_env(settings: Settings) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
        "SQLALCHEMY_URL": settings.db_url,
        "CREATE_TABLE": "y",
    }


def build_ledger(settings: Settings) -> OrderLedger:
    """The application on the configured database; tables are made on first use."""
    try:
        return OrderLedger(persistence_env(settings), tz=settings.tz)
    except (SQLAlchemyError, PersistenceError, OSError) as error:
        raise StorageError(
            f"cannot open the database {redact_url(settings.db_url)}: "
            f"{first_line(error)}"
        ) from None


def build_projections(ledger: OrderLedger, settings: Settings) -> ProjectionStore:
    """The projections on the event store's own engine and events table."""
    recorder: Any = ledger.recorder
    return ProjectionStore(
        recorder.datastore.engine,
        recorder.events_record_cls.__table__,
        settings.tz,
        channel=recorder.channel_name,
    )
