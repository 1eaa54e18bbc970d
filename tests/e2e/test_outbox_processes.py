"""Relays as real processes: killed at random, started twice, watched for secrets."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

from sqlalchemy import create_engine, text

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_delivery_store
from orderledger.config import WdtSettings
from orderledger.sim.server import SimServer
from tests.e2e.helpers import WHO, drain, full_lifecycle, is_non_decreasing, relays
from tests.factories import draft
from tests.simfixtures import SECRETS, control, trades

FAST_ENV = {
    "ORDERLEDGER_OUTBOX_BACKOFF_BASE": "0.02",
    "ORDERLEDGER_OUTBOX_BACKOFF_CAP": "0.2",
    "ORDERLEDGER_OUTBOX_POLL": "0.05",
}


def relay_process(
    db_url: str, erp_env: dict[str, str], *args: str
) -> subprocess.Popen[str]:
    env = {**os.environ, **erp_env, **FAST_ENV}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orderledger.cli",
            "--db",
            db_url,
            "outbox",
            "run",
            *args,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def make_orders(ledger: OrderLedger, prefix: str, count: int) -> dict[str, int]:
    """Orders that end at platform 10 (prepaid) or 30 (paid or COD)."""
    expected = {}
    for i in range(count):
        no = f"{prefix}-{i:04d}"
        payment = ("online", "cod")[i % 2]
        ledger.create(draft(payment, order_no=no), **WHO)
        ledger.confirm(no, **WHO)
        expected[no] = 30 if payment == "cod" else 10
    return expected


def test_a_relay_killed_ten_times_loses_nothing_and_keeps_order(
    ledger: OrderLedger,
    db_url: str,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
    erp_env: dict[str, str],
) -> None:
    rng = random.Random(42)
    expected: dict[str, int] = {}
    producer = threading.Thread(
        target=lambda: expected.update(make_orders(ledger, "KILL", 300)), daemon=True
    )
    producer.start()
    for _ in range(10):
        relay = relay_process(db_url, erp_env, "--destination", "wdt", "--follow")
        time.sleep(rng.uniform(0.8, 1.6))
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
    producer.join(120)
    (final,) = relays(ledger, wdt_settings, None)
    drain([final], seconds=60)

    wdt = trades(wdt_server)
    assert sorted(set(wdt) - set(expected)) == []
    assert len(wdt) == 300
    assert {no: t["platform_status"] for no, t in wdt.items()} == expected
    assert all(is_non_decreasing(t["platform_history"]) for t in wdt.values())
    store = build_delivery_store(ledger)
    assert store.counts("wdt") == {"acknowledged": 600}
    assert all(t["pushes"] >= 2 for t in wdt.values())


def test_two_relays_at_once_send_each_message_exactly_once(
    ledger: OrderLedger,
    db_url: str,
    wdt_server: SimServer,
    erp_env: dict[str, str],
) -> None:
    make_orders(ledger, "TWO", 100)

    first = relay_process(db_url, erp_env, "--destination", "wdt", "--once")
    second = relay_process(db_url, erp_env, "--destination", "wdt", "--once")
    outputs = [p.communicate(timeout=120) for p in (first, second)]

    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    wdt = trades(wdt_server)
    assert len(wdt) == 100
    assert {t["pushes"] for t in wdt.values()} == {2}  # create and confirm, once each
    assert build_delivery_store(ledger).counts("wdt") == {"acknowledged": 200}


def test_secrets_never_appear_in_output_logs_or_the_ledger(
    ledger: OrderLedger,
    db_url: str,
    wdt_server: SimServer,
    u8_server: SimServer,
    erp_env: dict[str, str],
) -> None:
    ledger.create(draft(order_no="SEC-1"), **WHO)
    full_lifecycle(ledger, "SEC-2", "cod")  # gives U8 documents to send
    control(wdt_server, "/_sim/fault", {"mode": "error500"})
    control(u8_server, "/_sim/fault", {"mode": "down"})
    env = {**os.environ, **erp_env, **FAST_ENV}
    captured = []
    for args in (
        ["outbox", "run", "--once"],
        ["--json", "outbox", "status"],
        ["outbox", "parked"],
        ["--json", "outbox", "run", "--once"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "orderledger.cli", "--db", db_url, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        captured.append(done.stdout + done.stderr)
    bad_env = {**env, "ORDERLEDGER_U8_APP_SECRET": "wrong-" + SECRETS[1]}
    control(u8_server, "/_sim/fault", {"mode": "ok"})
    command = ["outbox", "run", "--once", "--destination", "u8"]
    done = subprocess.run(
        [sys.executable, "-m", "orderledger.cli", "--db", db_url, *command],
        env=bad_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    captured.append(done.stdout + done.stderr)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        stored = " ".join(
            str(v)
            for row in conn.execute(text("SELECT * FROM outbox_deliveries"))
            for v in row
        )
    engine.dispose()

    everything = "\n".join(captured) + stored
    assert "HTTP 500" in everything  # the failures were really recorded…
    assert "errcode 40002" in everything
    for secret in SECRETS:
        assert secret not in everything  # …without a secret in sight
