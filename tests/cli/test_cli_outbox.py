"""`outbox` and `sim` commands through the CLI."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

import pytest

from orderledger.cli.errors import EXIT_USAGE
from orderledger.config import Secret, load_erp_settings
from orderledger.domain.errors import InvalidInput
from orderledger.sim.server import SimServer
from tests.cli.test_cli import CREATE, run
from tests.simfixtures import WDT_SECRET, control, spawn_wdt_simulator


@pytest.fixture
def env(erp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in erp_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ORDERLEDGER_OUTBOX_BACKOFF_BASE", "0.01")
    return erp_env


def test_outbox_run_status_parked_retry_and_replay(
    db_url: str, env: dict[str, str], wdt_server: SimServer
) -> None:
    run(db_url, *CREATE, "--order-no", "C-1")
    run(db_url, *CREATE, "--order-no", "C-2")
    control(wdt_server, "/_sim/fault", {"mode": "reject", "key": "C-2"})

    ran = run(db_url, "--json", "outbox", "run", "--destination", "wdt")
    status = json.loads(run(db_url, "--json", "outbox", "status").stdout)
    parked = json.loads(run(db_url, "--json", "outbox", "parked").stdout)
    control(wdt_server, "/_sim/fault", {"mode": "ok"})
    retried = run(db_url, "outbox", "retry", "C-2")
    run(db_url, "outbox", "run", "--destination", "wdt")
    replayed = run(db_url, "outbox", "replay", "--destination", "wdt", "--order", "C-1")
    run(db_url, "outbox", "run", "--destination", "wdt")
    final = json.loads(run(db_url, "--json", "outbox", "status").stdout)

    assert ran.exit_code == 0, ran.output
    assert {k: status["wdt"][k] for k in ("position", "head", "pending", "parked")} == {
        "position": 2,
        "head": 2,
        "pending": 0,
        "parked": 1,
    }
    assert status["u8"]["pending"] == 0
    assert [(p["order_no"], p["state"]) for p in parked] == [("C-2", "parked")]
    assert "code 1201" in parked[0]["last_error"]
    assert (
        retried.exit_code == 0 and "wdt: 1 message(s) back to pending" in retried.stdout
    )
    assert "1 message(s) will be sent again" in replayed.stdout
    assert (final["wdt"]["parked"], final["wdt"]["acknowledged"]) == (0, 2)
    pushes = {t["tid"]: t["pushes"] for t in control(wdt_server, "/_sim/state")}
    assert pushes == {"C-1": 2, "C-2": 1}


def test_outbox_commands_refuse_bad_usage(db_url: str, env: dict[str, str]) -> None:
    both = run(
        db_url,
        "outbox",
        "replay",
        "--destination",
        "wdt",
        "--order",
        "X",
        "--from-position",
        "1",
    )
    neither = run(db_url, "outbox", "retry")
    unknown = run(db_url, "outbox", "run", "--destination", "erp")

    assert both.exit_code == EXIT_USAGE and "exactly one of" in both.stderr
    assert neither.exit_code == EXIT_USAGE and "ORDER_NO or --all" in neither.stderr
    assert unknown.exit_code == EXIT_USAGE


def test_outbox_run_without_configuration_says_what_to_set(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith(("ORDERLEDGER_WDT", "ORDERLEDGER_U8", "ORDERLEDGER_CONFIG")):
            monkeypatch.delenv(key)

    result = run(db_url, "outbox", "run")

    assert result.exit_code == EXIT_USAGE
    assert "set ORDERLEDGER_WDT_URL" in result.stderr


def test_settings_come_from_a_toml_file_and_the_environment_wins(
    tmp_path: Path,
) -> None:
    config = tmp_path / "orderledger.toml"
    config.write_text(
        '[wdt]\nurl = "http://127.0.0.1:1"\nsid = "file-sid"\nappkey = "k"\n'
        'appsecret = "s3"\n[u8]\nurl = "http://127.0.0.1:2"\nfrom_account = "a"\n'
        'to_account = "b"\napp_key = "k"\napp_secret = "s4"\n'
    )

    wdt, u8 = load_erp_settings(str(config), {"ORDERLEDGER_WDT_SID": "env-sid"})

    assert wdt is not None and u8 is not None
    assert (wdt.sid, wdt.appsecret, u8.app_secret) == (
        "env-sid",
        Secret("s3"),
        Secret("s4"),
    )
    assert "s3" not in repr(wdt) and "s4" not in f"{u8}"


def test_incomplete_or_unreadable_settings_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[wdt\n")

    with pytest.raises(InvalidInput, match="lacks sid, appkey, appsecret"):
        load_erp_settings(None, {"ORDERLEDGER_WDT_URL": "http://127.0.0.1:1"})
    with pytest.raises(InvalidInput, match="cannot read the config file"):
        load_erp_settings(str(broken), {})


def test_the_simulators_print_their_url_and_serve() -> None:
    process, url = spawn_wdt_simulator(WDT_SECRET)
    try:
        with urllib.request.urlopen(url + "/_sim/state", timeout=5) as r:
            state = json.loads(r.read())
    finally:
        process.terminate()
        process.wait(10)

    assert url.startswith("http://127.0.0.1:")
    assert state == []


def test_relay_tuning_comes_from_the_environment_and_is_checked() -> None:
    from orderledger.bootstrap import relay_policy

    policy = relay_policy(
        {"ORDERLEDGER_OUTBOX_PARALLEL": "8", "ORDERLEDGER_OUTBOX_POLL": "0.2"}
    )

    assert (policy.parallel, policy.poll_seconds) == (8, 0.2)
    with pytest.raises(InvalidInput, match=r"must be a number \(int\)"):
        relay_policy({"ORDERLEDGER_OUTBOX_PARALLEL": "many"})
    with pytest.raises(InvalidInput, match="must be a positive"):
        relay_policy({"ORDERLEDGER_OUTBOX_BACKOFF_CAP": "-1"})


def test_erp_poll_records_what_wdt_did(
    db_url: str, env: dict[str, str], wdt_server: SimServer
) -> None:
    run(db_url, *CREATE, "--order-no", "EP-1")
    run(db_url, "outbox", "run", "--destination", "wdt")
    control(wdt_server, "/_sim/advance", {"tid": "EP-1", "step": "freeze"})
    time.sleep(2.1)  # the poll reads windows that closed a second ago

    first = run(db_url, "--json", "erp", "poll")
    again = run(db_url, "--json", "erp", "poll")
    history = json.loads(run(db_url, "--json", "order", "history", "EP-1").stdout)

    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["window"][0] == "2000-01-01 00:00:00"
    observed = [e for e in history if e["type"] == "ErpStatusObserved"]
    assert [e["details"]["erp_label"] for e in observed] == ["已冻结"]
    assert json.loads(again.stdout)["recorded"] == 0


def test_order_list_mismatch_shows_orders_the_erp_disagrees_with(
    db_url: str,
    env: dict[str, str],
    wdt_server: SimServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A person decides on WDT's cancellations here, so the difference stays.
    monkeypatch.setenv("ORDERLEDGER_ERP_FIRST_CANCEL", "person")
    run(db_url, *CREATE, "--order-no", "MM-1")
    run(db_url, *CREATE, "--order-no", "MM-2")
    run(db_url, "outbox", "run", "--destination", "wdt")
    control(wdt_server, "/_sim/advance", {"tid": "MM-2", "step": "cancel"})
    time.sleep(2.1)  # the poll reads windows that closed a second ago
    run(db_url, "erp", "poll")

    mismatched = json.loads(run(db_url, "--json", "order", "list", "--mismatch").stdout)
    everything = json.loads(run(db_url, "--json", "order", "list").stdout)

    assert [o["order_no"] for o in mismatched] == [
        "MM-2"
    ]  # 待审核 expected, 已取消 seen
    assert {o["order_no"] for o in everything} == {"MM-1", "MM-2"}
