"""The orders' event table as SQLAlchemy Core reads it, for readers that need
no application: a view read (`order show`) opens the views without
importing eventsourcing and its recorder, which was most of a read's
start-up (docs/benchmarks.md, "CLI start-up").

The columns are those eventsourcing-sqlalchemy's record class maps
(`StoredEventRecord`), the originator id stored as its `UUIDType` stores it:
PostgreSQL's uuid, 16 bytes elsewhere. tests/persistence/test_event_table.py
holds the two equal.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.engine import Dialect

ORDER_EVENTS = "orderledger_events"


class StoredUuid(TypeDecorator[UUID]):
    """A UUID as eventsourcing-sqlalchemy stores it."""

    impl = LargeBinary(16)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Uuid(as_uuid=True))  # native uuid
        return dialect.type_descriptor(LargeBinary(16))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return (value if isinstance(value, UUID) else UUID(str(value))).bytes

    def process_result_value(self, value: Any, dialect: Dialect) -> UUID | None:
        if value is None or isinstance(value, UUID):
            return value
        return UUID(bytes=bytes(value))


def event_table(metadata: MetaData, name: str = ORDER_EVENTS) -> Table:
    return Table(
        name,
        metadata,
        Column("id", BigInteger, primary_key=True),
        Column("originator_id", StoredUuid, nullable=False),
        Column("originator_version", Integer, nullable=False),
        Column("topic", Text, nullable=False),
        Column("state", LargeBinary, nullable=False),
    )
