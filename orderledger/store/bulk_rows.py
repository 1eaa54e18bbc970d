"""Writing many rows at once: COPY and UPDATE … FROM VALUES on PostgreSQL,
the DBAPI's executemany on SQLite.

On PostgreSQL, psycopg2's executemany runs one statement per row; COPY …
FROM STDIN was about ten times faster for a page of view rows
(bench/rebuild.py), and one UPDATE … FROM (VALUES …) likewise for a batch of
delivery outcomes (bench/relay.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import psycopg2.extras
from sqlalchemy import Boolean, Integer, Table, bindparam, insert, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

# What a database says about a row it will not take (a number out of range,
# a text too long, a key taken), as opposed to a lost connection: through
# SQLAlchemy, straight from psycopg2 (COPY), or from sqlite3's binding of a
# Python int beyond 64 bits.
REFUSED_ROW: tuple[type[BaseException], ...] = (
    sa_exc.DataError,
    sa_exc.IntegrityError,
    psycopg2.DataError,
    psycopg2.IntegrityError,
    OverflowError,
)

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


def _formatters(
    table: Table, names: Sequence[str]
) -> list[tuple[str, Callable[[Any], str]]]:
    """One formatter per column, chosen once per table instead of per value."""
    chosen: list[tuple[str, Callable[[Any], str]]] = []
    for column in (table.c[name] for name in names):
        if isinstance(column.type, Boolean):
            chosen.append((column.name, _boolean))
        elif isinstance(column.type, Integer):
            chosen.append((column.name, _number))
        else:
            chosen.append((column.name, _text))
    return chosen


_FORMATTERS: dict[
    tuple[str, tuple[str, ...]], list[tuple[str, Callable[[Any], str]]]
] = {}


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys (the columns to fill)."""
    if not rows:
        return
    names = [c.name for c in table.columns if c.name in rows[0]]
    if conn.dialect.name == "sqlite":
        # The DBAPI's executemany with tuples: SQLAlchemy's per-row parameter
        # handling cost more than SQLite's own insert work.
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({marks})',
            [tuple(row[n] for n in names) for row in rows],
        )
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    key = (table.name, tuple(names))
    formatters = _FORMATTERS.get(key)
    if formatters is None:
        formatters = _FORMATTERS[key] = _formatters(table, names)
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


def update_rows(
    conn: Connection, table: Table, key: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Set each row's other columns where `key` matches; rows share their keys."""
    if not rows:
        return
    names = [n for n in rows[0] if n != key]
    if conn.dialect.name == "postgresql":
        columns = [key, *names]
        types = [table.c[n].type.compile(dialect=conn.dialect) for n in columns]
        template = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
        assignments = ", ".join(f"{n} = v.{n}" for n in names)
        sql = (
            f'UPDATE "{table.name}" AS t SET {assignments} FROM (VALUES %s) '
            f"AS v ({', '.join(columns)}) WHERE t.{key} = v.{key}"
        )
        cursor: Any = conn.connection.cursor()
        try:
            psycopg2.extras.execute_values(
                cursor,
                sql,
                [tuple(r[c] for c in columns) for r in rows],
                template,
                1000,
            )
        finally:
            cursor.close()
        return
    conn.execute(
        update(table)
        .where(table.c[key] == bindparam("_key"))
        .values({n: bindparam(f"_{n}") for n in names}),
        [{"_key": r[key], **{f"_{n}": r[n] for n in names}} for r in rows],
    )
