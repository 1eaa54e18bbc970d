"""Writing many view rows at once: COPY on PostgreSQL, executemany elsewhere.

On PostgreSQL, COPY … FROM STDIN inside the page's transaction was about ten
times faster than a multi-row INSERT for a page of view rows (measured with
bench/rebuild.py), which is what makes rebuilds of millions of events quick.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Boolean, Integer, Table, insert
from sqlalchemy.engine import Connection

# COPY's text format: backslash escapes, \N for NULL.
_NULL = "\\N"


def _text(value: Any) -> str:
    if value is None:
        return _NULL
    text = str(value)
    # Most values need no escaping; four C-level scans beat str.translate.
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _number(value: Any) -> str:
    return _NULL if value is None else str(int(value))


def _boolean(value: Any) -> str:
    return _NULL if value is None else ("t" if value else "f")


def _formatters(table: Table) -> list[tuple[str, Callable[[Any], str]]]:
    """One formatter per column, chosen once per table instead of per value."""
    chosen: list[tuple[str, Callable[[Any], str]]] = []
    for column in table.columns:
        if isinstance(column.type, Boolean):
            chosen.append((column.name, _boolean))
        elif isinstance(column.type, Integer):
            chosen.append((column.name, _number))
        else:
            chosen.append((column.name, _text))
    return chosen


_FORMATTERS: dict[str, list[tuple[str, Callable[[Any], str]]]] = {}


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        # The DBAPI's executemany with tuples: SQLAlchemy's per-row parameter
        # handling cost more than SQLite's own insert work.
        names = [c.name for c in table.columns]
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({marks})',
            [tuple(row[n] for n in names) for row in rows],
        )
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    formatters = _FORMATTERS.get(table.name)
    if formatters is None:
        formatters = _FORMATTERS[table.name] = _formatters(table)
    buffer = io.StringIO(
        "".join(
            "\t".join([fmt(row[name]) for name, fmt in formatters]) + "\n"
            for row in rows
        )
    )
    columns = ", ".join(name for name, _ in formatters)
    cursor: Any = conn.connection.cursor()
    try:
        cursor.copy_expert(f'COPY "{table.name}" ({columns}) FROM STDIN', buffer)
    finally:
        cursor.close()
