"""Opening the views for a read without the application.

`order show` and the other reads query the views; building the ledger first
(eventsourcing, its recorder, the mapper) was most of their start-up. Here
the views get an engine of their own, the event table as SQLAlchemy Core
reads it, and the vault (which opens personal data for a read that shows
it). A database without an event table yet is left to the full path, which
creates it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from sqlalchemy import MetaData, create_engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from orderledger.config import Settings, redact_url
from orderledger.domain.errors import StorageError, first_line
from orderledger.projections.store import ProjectionStore
from orderledger.store.event_table import ORDER_EVENTS, event_table
from orderledger.store.master_key import configured_master_key
from orderledger.store.vault import Vault


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def open_views(
    settings: Settings, announce: Callable[[str], None] = _to_stderr
) -> ProjectionStore | None:
    """The views on their own engine; None if the log has no table yet."""
    master = configured_master_key(settings, announce)
    engine = create_engine(settings.db_url)
    try:
        if not inspect(engine).has_table(ORDER_EVENTS):
            engine.dispose()
            return None
    except (SQLAlchemyError, OSError) as error:
        raise StorageError(
            f"cannot open the database {redact_url(settings.db_url)}: "
            f"{first_line(error)}"
        ) from None
    return ProjectionStore(
        engine,
        event_table(MetaData()),
        settings.tz,
        channel=ORDER_EVENTS,
        vault=Vault(engine, master),
    )
