"""Tables: the registry of projection generations, tracking, and view tables.

Every view lives in generation tables (`olp_<name>_g<N>`). Readers use the
generation the registry calls live; a rebuild fills generation N+1 beside it
and then switches the registry row in one transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

REGISTRY = "olp_registry"
TRACKING = "olp_tracking"
POISONED = "olp_poisoned"
PARTITIONS = "olp_partitions"


def registry_table(metadata: MetaData) -> Table:
    return Table(
        REGISTRY,
        metadata,
        Column("name", String(64), primary_key=True),
        Column("live_generation", Integer, nullable=True),
        Column("live_version", String(64), nullable=True),
        Column("building_generation", Integer, nullable=True),
        Column("building_version", String(64), nullable=True),
        Column("switched_at", String(32), nullable=True),
    )


def tracking_table(metadata: MetaData) -> Table:
    return Table(
        TRACKING,
        metadata,
        Column("name", String(64), primary_key=True),
        Column("generation", Integer, primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("updated_at", String(32), nullable=True),
    )


def partitions_table(metadata: MetaData) -> Table:
    """A position per partition of a generation split for workers
    (partitions.py); no rows while it is tracked whole."""
    return Table(
        PARTITIONS,
        metadata,
        Column("name", String(64), primary_key=True),
        Column("generation", Integer, primary_key=True),
        Column("part", Integer, primary_key=True),
        Column("parts", Integer, nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("updated_at", String(32), nullable=True),
    )


def poisoned_table(metadata: MetaData) -> Table:
    """Orders a view could not apply an event of: the view skips their rows
    (and every later event of theirs) instead of stopping for every order."""
    return Table(
        POISONED,
        metadata,
        Column("name", String(64), primary_key=True),
        Column("generation", Integer, primary_key=True),
        Column("order_key", String(32), primary_key=True),
        Column("order_no", String(64), nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("event_type", String(64), nullable=False),
        Column("error", String(500), nullable=False),
        Column("recorded_at", String(32), nullable=False),
    )


def core_columns() -> list[Column[Any]]:
    """Columns every per-order view carries: what the shared fold maintains."""
    return [
        Column("order_key", String(32), primary_key=True),
        Column("order_no", String(40), nullable=False),
        Column("ordered_at", String(32), nullable=False),
        Column("order_day", String(10), nullable=False),
        Column("customer_json", Text, nullable=False),  # sealed references
        Column("phone_ix", String(32), nullable=False),  # the phone's blind index
        Column("payment_method", String(10), nullable=False),
        Column("lifecycle", String(16), nullable=False),
        Column("payment_status", String(16), nullable=False),
        Column("shipping_status", String(16), nullable=False),
        Column("status", String(8), nullable=False),
        Column("status_code", String(16), nullable=False),
        Column("shipping_fee_cents", BigInteger, nullable=False),
        Column("total_cents", BigInteger, nullable=False),
        Column("paid_cents", BigInteger, nullable=False),
        Column("refund_due_cents", BigInteger, nullable=False),
        Column("refunded_cents", BigInteger, nullable=False),
        Column("after_sales_cases", Integer, nullable=False),
        Column("after_sales_open", Integer, nullable=False),
        Column("created_at", String(32), nullable=False),
        Column("updated_at", String(32), nullable=False),
        Column("version", Integer, nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("events_applied", Integer, nullable=False),
    ]


def main_table(
    metadata: MetaData,
    name: str,
    generation: int,
    extra: list[Column[Any]],
    indexed: tuple[str | tuple[str, ...], ...],
    trigram: tuple[str, ...] = (),
) -> Table:
    """A view's main table; `indexed` names columns, or tuples of columns
    for one index over several (a filter, then the order of the results);
    `trigram` columns get a PostgreSQL trigram index, which serves LIKE
    '%text%' (pg_trgm; the store says whether it is there)."""
    table_name = f"olp_{name}_g{generation}"
    table = Table(table_name, metadata, *core_columns(), *extra)
    Index(f"ix_{table_name}_order_no", table.c.order_no, unique=True)
    for entry in indexed:
        columns = (entry,) if isinstance(entry, str) else entry
        Index(f"ix_{table_name}_{'_'.join(columns)}", *(table.c[c] for c in columns))
    for column in trigram:
        Index(
            f"ix_{table_name}_{column}_trgm",
            table.c[column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql")
    return table


def child_table(
    metadata: MetaData, name: str, generation: int, columns: list[Column[Any]]
) -> Table:
    table_name = f"olp_{name}_lines_g{generation}"
    table = Table(
        table_name,
        metadata,
        Column("order_key", String(32), primary_key=True),
        Column("line_no", Integer, primary_key=True),
        *columns,
    )
    return table
