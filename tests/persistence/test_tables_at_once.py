"""Commands starting on a new database at once all make the tables (the
catalog's and the orders'): the ones that lose the race check again, never
fail (store/ddl.py, the lean recorder's create_table). Separate processes,
as in life: eventsourcing-sqlalchemy's table classes are per process."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

STARTS = 6
# Each process imports everything, then waits for the same instant to make
# the tables: the moment two `outbox run` processes meet.
PROBE = """
import sys, time
from orderledger.bootstrap import build_catalog, build_ledger
from orderledger.config import Settings
settings = Settings(db_url=sys.argv[1])
time.sleep(max(float(sys.argv[2]) - time.time(), 0))
build_catalog(settings).close()
build_ledger(settings).close()
"""


@pytest.mark.postgres
def test_processes_starting_at_once_on_a_new_database_all_start(pg_url: str) -> None:
    at = str(time.time() + 6.0)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROBE, pg_url, at],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(STARTS)
    ]  # fmt: skip
    outcomes = [(p.wait(60), p.stderr.read() if p.stderr else "") for p in processes]

    assert [code for code, _ in outcomes] == [0] * STARTS, outcomes
