"""Writing many view rows at once: COPY on PostgreSQL, executemany elsewhere.

On PostgreSQL, COPY … FROM STDIN inside the page's transaction was about ten
times faster than a multi-row INSERT for a page of view rows (measured in
bench/rebuild.py), which is what makes rebuilds of millions of events quick.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection


def _csv(value: Any) -> str:
    """One CSV field for COPY: strings always quoted (so "" stays an empty
    string), None bare and empty (COPY's NULL), numbers and booleans as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if '"' in text:
        text = text.replace('"', '""')
    return f'"{text}"'


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    columns = [c.name for c in table.columns]
    buffer = io.StringIO(
        "".join(",".join([_csv(row[c]) for c in columns]) + "\n" for row in rows)
    )
    cursor: Any = conn.connection.cursor()
    try:
        cursor.copy_expert(
            f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN WITH (FORMAT csv)',
            buffer,
        )
    finally:
        cursor.close()
