"""Every bad input of the corpus: its exit code, one line on stderr (no
traceback, no secret), and nothing appended to the log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from orderledger.cli import cli
from orderledger.cli.errors import (
    EXIT_BROKEN,
    EXIT_INTERRUPTED,
    EXIT_RECORDED_BUT,
    EXIT_STORAGE,
)
from orderledger.domain.order import order_id
from tests.adversarial.corpus import CASES, Case
from tests.cli.test_cli import events_in, run

SECRETS = ("hunter2", "hush-hush-secret", ":pw@")


def _prepare(db: str) -> None:
    for no, steps in (("ADV-U", ()), ("ADV-P", ("confirm", "pay"))):
        created = run(db, "order", "create", "--customer", "张三", "--phone",
                      "13800138000", "--address", "d", "--payment", "online",
                      "--line", "A:n:1:10", "--order-no", no)  # fmt: skip
        assert created.exit_code == 0, created.stderr
        for step in steps:
            extra = ("--amount", "10.00") if step == "pay" else ()
            assert run(db, "order", step, no, *extra).exit_code == 0


def _problem(db: str, tmp: Path, case: Case) -> str | None:
    """What is wrong with how the CLI met this case (None: all is well)."""
    for name, content in case.files.items():
        (tmp / name).write_bytes(content)
    args = [a.replace("{tmp}", str(tmp)) for a in case.args]
    if args[0] != "--db":
        args = ["--db", db, *args]
    before = events_in(db)
    given = {k: v.replace("{tmp}", str(tmp)) for k, v in case.env.items()}
    env = {"ORDERLEDGER_WDT_URL": "", "ORDERLEDGER_U8_URL": "", **given}
    result = CliRunner().invoke(cli, args, env=env)
    err = result.stderr
    lines = err.strip().splitlines()
    if result.exit_code != case.code:
        return f"exit {result.exit_code}, not {case.code}: {err[:300]!r}"
    # One line, or (an import) one line per bad row and then the error line.
    if not lines or not lines[-1].startswith("error: ") or "Traceback" in err:
        return f"not an error line: {err[:300]!r}"
    if case.says not in err:
        return f"the message lacks {case.says!r}: {err[:300]!r}"
    if max(map(len, lines)) > 400 or any(s in err for s in SECRETS):
        return f"a message is too long or echoes a secret: {err[:300]!r}"
    if events_in(db) != before:
        return "something was appended"
    return None


def test_every_bad_input_is_refused_cleanly(db_url: str, tmp_path: Path) -> None:
    _prepare(db_url)
    problems = {c.name: _problem(db_url, tmp_path, c) for c in CASES}
    assert {name: p for name, p in problems.items() if p} == {}


def test_ctrl_c_exits_130_without_a_traceback(tmp_path: Path) -> None:
    """Interrupted while waiting for an order on stdin: exit 130, one line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "orderledger.cli", "--db",
         str(tmp_path / "l.db"), "order", "create", "--file", "-"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    time.sleep(2.0)  # let it start and block on stdin
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    assert process.returncode == EXIT_INTERRUPTED, err
    assert err.startswith("error: interrupted") and "Traceback" not in err


def test_a_log_that_no_longer_folds_exits_6_and_points_at_audit_verify(
    db_url: str,
) -> None:
    """A deleted middle event: show (from the log) and history exit 6, one
    line, pointing at `audit verify`, which names the deleted event."""
    _prepare(db_url)
    key = order_id("ADV-P")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM orderledger_events "
                "WHERE originator_id = :id AND originator_version = 2"
            ),
            {"id": key.bytes if db_url.startswith("sqlite") else str(key)},
        )
    engine.dispose()

    for args in (
        ("order", "show", "ADV-P", "--from-log"),
        ("order", "history", "ADV-P"),
    ):
        result = run(db_url, *args)
        assert result.exit_code == EXIT_STORAGE, result.stderr
        assert result.stderr.count("\n") == 1 and "audit verify ADV-P" in result.stderr
    verify = run(db_url, "audit", "verify", "ADV-P")
    assert verify.exit_code == EXIT_BROKEN and "event_deleted" in verify.stdout


def test_a_failure_after_the_write_says_recorded_and_exits_7(db_url: str) -> None:
    """The views cannot be brought up to date (their table is gone): the
    confirmation is recorded, printed, and reported with its own code."""
    _prepare(db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE olp_search_g1"))
    engine.dispose()
    before = events_in(db_url)

    result = run(db_url, "order", "confirm", "ADV-U")

    assert result.exit_code == EXIT_RECORDED_BUT, result.stderr
    assert result.stdout.startswith("ADV-U confirmed: now 已确认")
    assert result.stderr.startswith("error: recorded; updating the views failed")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert events_in(db_url) == before + 1


def test_a_stale_view_after_an_upgrade_warns_but_does_not_fail_the_write(
    db_url: str,
) -> None:
    """A view built by older projection code (say, an older ERP mapping) waits
    for `projections rebuild`; writes go on, and the other views follow."""
    _prepare(db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE olp_registry SET live_version = 'old' WHERE name = :n"),
            {"n": "erp_status"},
        )
    engine.dispose()

    result = run(db_url, "order", "confirm", "ADV-U")
    listed = run(db_url, "--json", "order", "list", "--order-no", "ADV-U")

    assert result.exit_code == 0, result.stderr
    assert "projections rebuild erp_status" in result.stderr
    assert '"status": "已确认"' in listed.stdout  # the search view followed


def test_a_stale_view_lacking_columns_refuses_reads_with_the_rebuild_to_run(
    db_url: str,
) -> None:
    """A view built before an upgrade added columns to it (statistics gained
    brand, category and type keys) cannot answer this code's query: the read
    says which rebuild to run (exit 6), never an internal error; the rebuild
    makes it answer again."""
    _prepare(db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE olp_registry SET live_version = 'old' WHERE name = :n"),
            {"n": "statistics"},
        )
        conn.execute(text("ALTER TABLE olp_statistics_lines_g1 DROP COLUMN type_key"))
    engine.dispose()

    refused = run(db_url, "stats", "--by", "type")
    rebuilt = run(db_url, "projections", "rebuild", "statistics")
    answered = run(db_url, "--json", "stats", "--by", "type")

    assert refused.exit_code == EXIT_STORAGE, refused.output
    assert "projections rebuild statistics" in refused.stderr
    assert "internal error" not in refused.stderr
    assert rebuilt.exit_code == 0, rebuilt.output
    assert answered.exit_code == 0 and '"orders": 2' in answered.stdout
