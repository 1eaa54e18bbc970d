"""Real HTTP to the simulators on loopback, started per test on port 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from orderledger.config import CrmSettings, Secret, U8Settings, WdtSettings
from orderledger.outbox.relay import RelayPolicy
from orderledger.sim.crm import CrmSimulator
from orderledger.sim.server import SimServer
from orderledger.sim.u8 import U8Simulator
from orderledger.sim.wdt import WdtSimulator

WDT_SECRET = "wdt-secret-7f3a9c"
U8_SECRET = "u8-secret-b81d2e"
CRM_SECRET = "crm-secret-5e0a41"
SECRETS = (WDT_SECRET, U8_SECRET, CRM_SECRET)
# Fast retries so outages and rate limits play out in seconds.
FAST = RelayPolicy(
    backoff_base=0.02, backoff_cap=0.2, rate_limit_pause=1.0, poll_seconds=0.05
)


@pytest.fixture
def wdt_server() -> Iterator[SimServer]:
    server = SimServer(
        WdtSimulator(sid="sid-1", appkey="key-1", appsecret=WDT_SECRET)
    ).start()
    yield server
    server.stop()


@pytest.fixture
def u8_server() -> Iterator[SimServer]:
    sim = U8Simulator(
        app_key="u8key", app_secret=U8_SECRET, from_account="shop", to_account="fin"
    )
    server = SimServer(sim).start()
    yield server
    server.stop()


@pytest.fixture
def crm_server() -> Iterator[SimServer]:
    server = SimServer(CrmSimulator(secret=CRM_SECRET)).start()
    yield server
    server.stop()


@pytest.fixture
def crm_settings(crm_server: SimServer) -> CrmSettings:
    return CrmSettings(crm_server.url + "/hooks/orders", Secret(CRM_SECRET), 2.0)


@pytest.fixture
def wdt_settings(wdt_server: SimServer) -> WdtSettings:
    return WdtSettings(
        wdt_server.url, "sid-1", "key-1", Secret(WDT_SECRET), timeout=2.0
    )


@pytest.fixture
def u8_settings(u8_server: SimServer) -> U8Settings:
    return U8Settings(
        u8_server.url, "shop", "fin", "u8key", Secret(U8_SECRET), timeout=2.0
    )


@pytest.fixture
def erp_env(wdt_server: SimServer, u8_server: SimServer) -> dict[str, str]:
    """The environment a CLI relay process needs."""
    return {
        "ORDERLEDGER_WDT_URL": wdt_server.url,
        "ORDERLEDGER_WDT_SID": "sid-1",
        "ORDERLEDGER_WDT_APPKEY": "key-1",
        "ORDERLEDGER_WDT_APPSECRET": WDT_SECRET,
        "ORDERLEDGER_U8_URL": u8_server.url,
        "ORDERLEDGER_U8_FROM_ACCOUNT": "shop",
        "ORDERLEDGER_U8_TO_ACCOUNT": "fin",
        "ORDERLEDGER_U8_APP_KEY": "u8key",
        "ORDERLEDGER_U8_APP_SECRET": U8_SECRET,
    }


def control(server: SimServer, path: str, body: dict[str, Any] | None = None) -> Any:
    """Talk to a simulator's control API over HTTP, as a user would."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        server.url + path, data=data, method="POST" if data else "GET"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def trades(server: SimServer) -> dict[str, dict[str, Any]]:
    return {t["tid"]: t for t in control(server, "/_sim/state")}


def spawn_wdt_simulator(
    appsecret: str, *options: str
) -> tuple[subprocess.Popen[str], str]:
    """`orderledger sim wdt` as its own process; returns it and the URL it printed."""
    env = {**os.environ, "ORDERLEDGER_WDT_APPSECRET": appsecret}
    command = [
        sys.executable,
        "-m",
        "orderledger.cli",
        "sim",
        "wdt",
        "--sid",
        "s",
        "--appkey",
        "k",
        *options,
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line.rsplit(" ", 1)[-1].strip()
