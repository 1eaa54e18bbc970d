"""`orderledger sim wdt|u8|crm`: run a simulator on loopback until Ctrl-C."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import click

from orderledger.domain.errors import InvalidInput
from orderledger.sim.crm import CrmSimulator
from orderledger.sim.server import SimServer, Simulator
from orderledger.sim.u8 import U8Simulator
from orderledger.sim.wdt import WdtSimulator


@click.group("sim")
def sim_group() -> None:
    """Simulators of WDT (旺店通), U8 (用友) and a CRM for tests and demos."""


def _serve(sim: Simulator, host: str, port: int, what: str) -> None:
    try:
        server = SimServer(sim, host, port).start()
    except OSError as error:
        raise InvalidInput(
            f"cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None
    click.echo(f"{what} simulator listening on {server.url}")
    control = (
        f"GET {server.url}/_sim/state; POST /_sim/fault, /_sim/advance, /_sim/reset"
    )
    click.echo(f"control: {control}", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.stop()


F = TypeVar("F", bound=Callable[..., Any])


def _common(func: F) -> F:
    func = click.option(
        "--port", type=click.IntRange(0, 65535), default=0, help="0 picks a free port."
    )(func)
    return click.option(
        "--host", default="127.0.0.1", show_default=True, help="Loopback unless told."
    )(func)


@sim_group.command("wdt")
@_common
@click.option("--sid", envvar="ORDERLEDGER_WDT_SID", required=True)
@click.option("--appkey", envvar="ORDERLEDGER_WDT_APPKEY", required=True)
@click.option(
    "--appsecret",
    envvar="ORDERLEDGER_WDT_APPSECRET",
    required=True,
    help="Better from ORDERLEDGER_WDT_APPSECRET: keeps it out of shell history.",
)
@click.option(
    "--calls-per-minute",
    type=click.IntRange(1),
    default=None,
    help="Refuse API calls past this many in any minute with WDT's rate-limit "
    "error, as a real account does [default: no limit].",
)
def wdt(
    host: str,
    port: int,
    sid: str,
    appkey: str,
    appsecret: str,
    calls_per_minute: int | None,
) -> None:
    """Serve the WDT open API (trade_push, trade_query, logistics sync)."""
    sim = WdtSimulator(sid=sid, appkey=appkey, appsecret=appsecret)
    sim.limit.per_minute = calls_per_minute
    _serve(sim, host, port, "WDT")


@sim_group.command("u8")
@_common
@click.option("--app-key", envvar="ORDERLEDGER_U8_APP_KEY", required=True)
@click.option(
    "--app-secret",
    envvar="ORDERLEDGER_U8_APP_SECRET",
    required=True,
    help="Better from ORDERLEDGER_U8_APP_SECRET.",
)
@click.option("--from-account", envvar="ORDERLEDGER_U8_FROM_ACCOUNT", default="")
@click.option("--to-account", envvar="ORDERLEDGER_U8_TO_ACCOUNT", default="")
def u8(
    host: str,
    port: int,
    app_key: str,
    app_secret: str,
    from_account: str,
    to_account: str,
) -> None:
    """Serve the U8 OpenAPI (token, /api/{resource}/add with biz_id idempotency)."""
    sim = U8Simulator(
        app_key=app_key,
        app_secret=app_secret,
        from_account=from_account,
        to_account=to_account,
    )
    _serve(sim, host, port, "U8")


@sim_group.command("crm")
@_common
@click.option(
    "--secret",
    envvar="ORDERLEDGER_CRM_SECRET",
    required=True,
    help="The shared secret the feed signs with (ORDERLEDGER_CRM_SECRET).",
)
def crm(host: str, port: int, secret: str) -> None:
    """Serve a CRM webhook subscriber: it checks each event's signature and
    records it once, at GET /_sim/state."""
    _serve(CrmSimulator(secret=secret), host, port, "CRM")
