"""`orderledger erp poll`: read WDT's own state back into the ledger."""

from __future__ import annotations

import threading
from dataclasses import asdict

import click

from orderledger.bootstrap import build_poller
from orderledger.cli.context import CliContext, json_option, pass_cli, warn
from orderledger.cli.errors import EXIT_REMOTE_UNAVAILABLE, fail
from orderledger.erp.poll import PollReport, follow
from orderledger.outbox.clients import TransientError
from orderledger.outbox.supervisor import Supervisor, describe


@click.group("erp")
def erp_group() -> None:
    """The ERP's side: what WDT did on its own, recorded as observations."""


def _line(r: PollReport) -> str:
    unknown = f", {len(r.unknown)} unknown to the ledger" if r.unknown else ""
    followed = (
        f", website followed the ERP on {len(r.followed)} order(s)"
        if r.followed
        else ""
    )
    return (
        f"window {r.window[0]} .. {r.window[1]}: {r.trades} trade(s), "
        f"{r.recorded} new observation(s), {r.shipments_acked} shipment(s) "
        f"acknowledged{followed}{unknown}"
    )


@erp_group.command("poll")
@click.option("--follow", "following", is_flag=True, help="Keep polling until Ctrl-C.")
@click.option("--interval", type=click.FloatRange(0.5), default=30.0, show_default=True)
@json_option
@pass_cli
def poll(cli: CliContext, following: bool, interval: float) -> None:
    """Read trades WDT changed (by modified-time window, paged) and shipments,
    and append what changed to each order's history as ERP observations."""
    wdt, _ = cli.erp_settings()
    poller = build_poller(cli.ledger(), wdt, cli.reconcile_settings())
    if not following:
        try:
            report = poller.poll_once()
        except TransientError as error:
            fail(
                f"WDT is unavailable ({describe(error)}); nothing was recorded "
                "from this poll: try again later, or run `erp poll --follow`",
                EXIT_REMOTE_UNAVAILABLE,
            )
        cli.after_write()
        cli.emit(asdict(report), lambda d: _line(report))
        return
    stop = threading.Event()
    supervisor = Supervisor("erp poll", stop, lambda line: click.echo(line, err=True))

    def show(report: PollReport) -> None:
        supervisor.ok()
        problem = cli.after_write()
        cli.unfinished = None  # a follower goes on: the next round catches up
        if problem is not None:
            warn(problem)
        click.echo(_line(report), err=True)

    try:
        supervisor.run(lambda: follow(poller, stop, interval, show))
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
