"""Leaving no old copy of removed personal data in the database files.

A deleted or updated row is not gone from disk: SQLite keeps its bytes in
free space (and the WAL) until overwritten, PostgreSQL keeps the old row
version until a vacuum. Erasure and the personal-data migration call these
so that the files hold no copy (backups and WAL archives are out of reach:
docs/privacy.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, inspect


def zero_on_delete(conn: Connection) -> None:
    """SQLite overwrites what this connection deletes with zeros."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete = ON")


def compact(engine: Engine, tables: Sequence[str], *, whole_file: bool) -> None:
    """Rewrite the tables without their dead rows: PostgreSQL `VACUUM FULL`;
    SQLite checkpoints the WAL into the file and truncates it, and with
    `whole_file` rebuilds the file (`VACUUM`), dropping every free page."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                if inspect(conn).has_table(table):
                    conn.exec_driver_sql(f"VACUUM FULL {table}")
        return
    raw: Any = engine.raw_connection()
    try:
        driver = raw.driver_connection
        driver.commit()
        if whole_file:
            driver.execute("VACUUM")
        driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
