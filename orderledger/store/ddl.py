"""Creating tables on first use, safely when processes start at the same time.

`CREATE TABLE` after a "does it exist?" check is a race: two relays or runners
starting together both see no table and one of them fails ("already exists",
or on PostgreSQL a unique violation in pg_type). The loser simply checks
again: by then the table is there.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Engine, Table
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

_ATTEMPTS = 5


def create_tables(engine: Engine, tables: Sequence[Table]) -> None:
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            for table in tables:
                table.create(engine, checkfirst=True)
            return
        except (IntegrityError, OperationalError, ProgrammingError):
            if attempt == _ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
