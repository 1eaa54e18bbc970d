"""The master key of the personal-data vault (docs/privacy.md): made beside a
SQLite database on first use, required on PostgreSQL, checked, rotated."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from orderledger.cli import cli
from orderledger.cli.errors import EXIT_USAGE
from tests.cli.test_cli import events_in

CREATE = ("order", "create", "--customer", "赵敏", "--phone", "13612345678",
          "--address", "光明路9号", "--payment", "cod",
          "--line", "T:茶:1:10")  # fmt: skip
NO_KEY = {"ORDERLEDGER_MASTER_KEY": None, "ORDERLEDGER_MASTER_KEY_FILE": None}


def run(db: str, *args: str, env: dict[str, str | None] | None = None) -> object:
    return CliRunner().invoke(cli, ["--db", db, *args], env=env or {})


def test_sqlite_makes_an_owner_only_key_file_beside_the_database_once(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    first = run(db, *CREATE, "--order-no", "K-1", env=NO_KEY)
    second = run(db, *CREATE, "--order-no", "K-2", env=NO_KEY)

    key = tmp_path / "shop.db.key"
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert len(key.read_text().strip()) == 64
    assert "created the master key" in first.stderr and str(key) in first.stderr
    assert "master key" not in second.stderr  # said once
    shown = run(db, "--json", "order", "show", "K-1", env=NO_KEY)
    assert json.loads(shown.stdout)["customer"]["name"] == "赵敏"


@pytest.mark.postgres
def test_postgresql_refuses_personal_data_without_a_key(pg_url: str) -> None:
    refused = run(pg_url, *CREATE, "--order-no", "K-1", env=NO_KEY)

    assert refused.exit_code == EXIT_USAGE
    assert "ORDERLEDGER_MASTER_KEY" in refused.stderr
    assert events_in(pg_url) == 0


def test_the_wrong_key_is_named_as_such_and_a_rotation_keeps_the_data(
    db_url: str, tmp_path: Path
) -> None:
    first, second = "1a" * 32, "2b" * 32
    assert run(db_url, *CREATE, "--order-no", "K-1",
               env={"ORDERLEDGER_MASTER_KEY": first}).exit_code == 0  # fmt: skip

    wrong = run(db_url, "order", "show", "K-1", env={"ORDERLEDGER_MASTER_KEY": second})
    assert wrong.exit_code == EXIT_USAGE and "is not the one" in wrong.stderr

    new_key = tmp_path / "new.key"
    new_key.write_text(second)
    rotated = run(db_url, "--json", "keys", "rotate", "--new-key-file", str(new_key),
                  env={"ORDERLEDGER_MASTER_KEY": first})  # fmt: skip
    assert rotated.exit_code == 0, rotated.output
    assert (
        json.loads(rotated.stdout)["rewrapped"] == 2
    )  # the order's subject, the index
    events = events_in(db_url)
    shown = run(db_url, "--json", "order", "show", "K-1",
                env={"ORDERLEDGER_MASTER_KEY": second})  # fmt: skip
    assert json.loads(shown.stdout)["customer"]["name"] == "赵敏"
    listed = run(db_url, "--json", "order", "list", "--phone", "13612345678",
                 env={"ORDERLEDGER_MASTER_KEY": second})  # fmt: skip
    assert [o["order_no"] for o in json.loads(listed.stdout)] == ["K-1"]
    old = run(db_url, "order", "show", "K-1", env={"ORDERLEDGER_MASTER_KEY": first})
    assert old.exit_code == EXIT_USAGE
    assert events_in(db_url) == events  # rotation touched no event
    ok = run(db_url, "audit", "verify", "--all", env={"ORDERLEDGER_MASTER_KEY": second})
    assert ok.exit_code == 0


def test_keys_new_prints_a_fresh_key_each_time() -> None:
    keys = {CliRunner().invoke(cli, ["keys", "new"]).stdout.strip() for _ in range(3)}
    assert len(keys) == 3 and all(len(k) == 64 and int(k, 16) >= 0 for k in keys)
