"""Personal data protected at rest, erasable on request, and the proof kept
(issue 18, docs/privacy.md): through the CLI, on SQLite and PostgreSQL, with
the database files (or a pg_dump) searched byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from orderledger.application import OrderLedger
from orderledger.bootstrap import persistence_env
from orderledger.cli import cli
from orderledger.cli.errors import EXIT_NOT_FOUND, EXIT_REFUSED
from orderledger.config import Settings, WdtSettings
from orderledger.outbox.relay import ERASED_REASON
from orderledger.sim.server import SimServer
from tests.cli.test_cli import events_in
from tests.e2e.helpers import WHO, drain, relays
from tests.factories import draft
from tests.simfixtures import trades

PHONE, NAME, STREET = "13987654321", "欧阳娜娜", "滨海大道 1688 号"
RECEIVER, RECEIVER_PHONE = "司马光明", "15011112222"
SECRETS = (PHONE, NAME, STREET, RECEIVER, RECEIVER_PHONE)


def run(db: str, *args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(cli, ["--db", db, *args], env=env or {})
    return result


def ok(db: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = run(db, *args, env=env)
    assert result.exit_code == 0, result.output + result.stderr
    return str(result.stdout)


def create(db: str, order_no: str, payment: str = "online") -> None:
    ok(
        db, "order", "create", "--order-no", order_no, "--customer", NAME,
        "--phone", PHONE, "--receiver", RECEIVER, "--receiver-phone", RECEIVER_PHONE,
        "--address", STREET, "--payment", payment, "--line", "TEA-1:龙井:2:50.00",
    )  # fmt: skip


def stored_bytes(db: str, tmp_path: Path) -> bytes:
    """Everything the database holds, as bytes: the SQLite file and its WAL,
    or a pg_dump of the PostgreSQL database."""
    if db.startswith("sqlite:///"):
        path = Path(db[len("sqlite:///") :])
        files = [path, Path(f"{path}-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    dump = tmp_path / "dump.sql"
    subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-f", str(dump), "test"],
        check=True,
        timeout=120,
    )
    return dump.read_bytes()


def assert_nothing_personal(db: str, tmp_path: Path) -> None:
    data = stored_bytes(db, tmp_path)
    assert b"orderledger_events" in data or b"SQLite" in data  # the right thing
    for secret in SECRETS:
        assert secret.encode() not in data, f"{secret} stored in plain text"


def test_an_order_created_keeps_no_personal_data_in_clear(
    db_url: str, tmp_path: Path
) -> None:
    create(db_url, "PD-1")
    ok(db_url, "projections", "catch-up")

    assert_nothing_personal(db_url, tmp_path)
    # … and every read still shows it (phones masked unless revealed).
    shown = json.loads(ok(db_url, "--json", "order", "show", "PD-1"))
    assert shown["customer"]["name"] == NAME
    assert shown["customer"]["phone"] == "139****4321"
    assert shown["address"]["detail"] == STREET
    listed = json.loads(ok(db_url, "--json", "order", "list", "--phone", PHONE))
    assert [o["order_no"] for o in listed] == ["PD-1"]
    by_receiver = json.loads(
        ok(db_url, "--json", "order", "list", "--phone", RECEIVER_PHONE)
    )
    assert [o["order_no"] for o in by_receiver] == ["PD-1"]
    revealed = json.loads(
        ok(
            db_url,
            "--json",
            "order",
            "show",
            "PD-1",
            "--reveal",
            "--reason",
            "客服回电",
        )
    )
    assert revealed["customer"]["phone"] == PHONE
    assert ok(db_url, "audit", "verify", "--all")


def _money_and_states(db: str, order_no: str) -> dict[str, Any]:
    shown = json.loads(ok(db, "--json", "order", "show", order_no))
    return {k: v for k, v in shown.items() if k not in ("customer", "address")}


def test_erasing_a_customer_with_three_orders_keeps_the_proof(
    db_url: str, tmp_path: Path, wdt_server: SimServer, erp_env: dict[str, str]
) -> None:
    create(db_url, "ER-DONE")
    for step in (
        ("confirm",), ("pay", "--amount", "100.00"),
        ("ship", "--carrier", "SF", "--tracking", "SF1"), ("receive",),
    ):  # fmt: skip
        ok(db_url, "order", step[0], "ER-DONE", *step[1:])
    create(db_url, "ER-VOID")
    ok(db_url, "order", "cancel", "ER-VOID", "--reason", "不要了")
    create(db_url, "ER-OPEN", payment="cod")  # still in progress
    digest = tmp_path / "before.json"
    ok(db_url, "audit", "digest", "--save", str(digest))
    before = {no: _money_and_states(db_url, no) for no in ("ER-DONE", "ER-VOID")}
    events = events_in(db_url)

    refused = run(db_url, "customer", "erase", PHONE, "--reason", "客户要求删除")
    assert refused.exit_code == EXIT_REFUSED and "ER-OPEN" in refused.stderr
    assert events_in(db_url) == events  # nothing recorded

    erased = json.loads(
        ok(db_url, "--json", "customer", "erase", PHONE, "--reason", "客户要求删除",
           "--force", "--by", "dpo")
    )  # fmt: skip
    assert erased["orders"] == ["ER-DONE", "ER-OPEN", "ER-VOID"]
    assert erased["forced"] == ["ER-OPEN"]
    assert events_in(db_url) == events + 3

    # The proof: every chain, and the digest saved before, still verify.
    ok(db_url, "audit", "verify", "--all")
    ok(db_url, "audit", "verify", "--all", "--against", str(digest))
    # Amounts, lines, statuses untouched; personal fields unreadable.
    for order_no, was in before.items():
        now = _money_and_states(db_url, order_no)
        assert {k: v for k, v in now.items() if k not in ("version", "updated_at",
                "next_actions")} == {k: v for k, v in was.items() if k not in (
                "version", "updated_at", "next_actions")}  # fmt: skip
    shown = json.loads(ok(db_url, "--json", "order", "show", "ER-OPEN"))
    assert shown["customer"] == {"name": "[erased]", "contact": "[erased]",
                                 "phone": "[erased]"}  # fmt: skip
    assert shown["address"]["detail"] == "[erased]"
    history = json.loads(ok(db_url, "--json", "order", "history", "ER-OPEN"))
    assert history[-1]["type"] == "PersonalDataErased"
    assert "dpo" in json.dumps(history[-1], ensure_ascii=False)
    assert json.loads(ok(db_url, "--json", "order", "list", "--phone", PHONE)) == []
    again = run(db_url, "customer", "erase", PHONE, "--reason", "again")
    assert again.exit_code == EXIT_NOT_FOUND

    # The relay: the undelivered messages of the erased customer are parked,
    # never sent with [erased] in place of a name.
    ok(db_url, "outbox", "run", "--destination", "wdt", "--once", env=erp_env)
    parked = json.loads(
        ok(db_url, "--json", "outbox", "parked", "--destination", "wdt")
    )
    assert parked and {p["last_error"] for p in parked} == {ERASED_REASON}
    assert not [t for t in trades(wdt_server) if t.startswith("ER-")]
    assert_nothing_personal(db_url, tmp_path)
    exported = ok(db_url, "audit", "export", "--since", "2000-01-01")
    assert not [s for s in SECRETS if s in exported]


def check_migration_script(tmp_path: Path) -> Path:
    """The auditor's script, exactly as docs/audit.md prints it."""
    docs = (Path(__file__).parents[2] / "docs" / "audit.md").read_text("utf-8")
    section = docs[docs.index("### `migrate personal-data`") :]
    code = section[section.index("```python\n") + 10 :]
    script = tmp_path / "check_migration.py"
    script.write_text(code[: code.index("```")], "utf-8")
    return script


def test_a_log_written_before_the_vault_migrates_verifiably(
    db_url: str, tmp_path: Path, wdt_settings: WdtSettings
) -> None:
    # The log as the previous version wrote it: personal data in plain text,
    # in events and in a message already sent to WDT.
    old = OrderLedger(
        persistence_env(Settings(db_url=db_url)), personal_data_vault=False
    )
    customer = {"name": NAME, "phone": PHONE}
    address = {"receiver": RECEIVER, "phone": RECEIVER_PHONE, "detail": STREET}
    for order_no in ("MG-1", "MG-2"):
        old.create(draft(order_no=order_no, customer=customer, address=address), **WHO)
    old.confirm("MG-1", **WHO)
    old.modify("MG-2", phone="13700001111", **WHO)  # a Modified with a phone
    drain(relays(old, wdt_settings, None))
    old.close()
    assert NAME.encode() in stored_bytes(db_url, tmp_path)
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    statement = tmp_path / "statement.json"
    ok(db_url, "audit", "export", "--since", "2000-01-01", "--output", str(before))

    done = json.loads(
        ok(db_url, "--json", "migrate", "personal-data", "--statement", str(statement))
    )

    assert done["orders"] == 2 and done["before"] != done["after"]
    ok(db_url, "audit", "export", "--since", "2000-01-01", "--output", str(after))
    ok(db_url, "audit", "verify", "--all")
    assert_nothing_personal(db_url, tmp_path)
    saved = json.loads(ok(db_url, "--json", "audit", "digest"))
    assert json.loads(statement.read_text("utf-8"))["after"]["root"] == saved["root"]
    shown = json.loads(ok(db_url, "--json", "order", "show", "MG-2"))
    assert shown["customer"]["name"] == NAME and shown["address"]["detail"] == STREET
    listed = json.loads(ok(db_url, "--json", "order", "list", "--phone", "13700001111"))
    assert [o["order_no"] for o in listed] == ["MG-2"]

    script = check_migration_script(tmp_path)
    check = [sys.executable, str(script), str(before), str(after), str(statement)]
    checked = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert "2 order(s) rewritten" in checked.stdout
    # An edited statement, or an export with a changed amount, fails the check.
    signed = statement.read_text("utf-8")
    edited = json.loads(signed)
    edited["orders"].popitem()
    statement.write_text(json.dumps(edited), "utf-8")
    assert subprocess.run(check, capture_output=True, timeout=60).returncode != 0
    statement.write_text(signed, "utf-8")
    rows = json.loads(after.read_text("utf-8"))
    rows[0]["content"] = rows[0]["content"].replace('"actor":"e2e"', '"actor":"x"')
    after.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    failed = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "beyond its personal data" in failed.stderr
