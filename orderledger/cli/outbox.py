"""`orderledger outbox …`: relay the log to WDT and U8, and look after it."""

from __future__ import annotations

import threading
import time
from typing import Any

import click

from orderledger.bootstrap import build_delivery_store, build_relay
from orderledger.cli.context import CliContext, json_option, pass_cli
from orderledger.cli.errors import EXIT_INTERNAL, exit_code_for, fail
from orderledger.cli.order_reads import parse_range
from orderledger.domain.errors import InvalidInput, OrderLedgerError
from orderledger.outbox.destinations import ALL_DESTINATIONS, CATALOG_LOG, route
from orderledger.outbox.relay import Relay, RoundReport
from orderledger.outbox.runner import run_relay
from orderledger.outbox.store import ACKED, BLOCKING, UNDELIVERED
from orderledger.outbox.supervisor import describe

DESTINATION = click.Choice(ALL_DESTINATIONS)
# How long Ctrl-C waits for the relays to stop (a send in flight may take its
# whole timeout); what they recorded stands either way.
STOP_SECONDS = 30.0


@click.group("outbox")
def outbox_group() -> None:
    """Relay the events to WDT, U8 and the CRM feed, with a delivery ledger."""


def _configured(cli: CliContext) -> set[str]:
    """The remotes whose settings are given: wdt, u8, crm."""
    wdt, u8 = cli.erp_settings()
    remotes = (("wdt", wdt), ("u8", u8), ("crm", cli.crm_settings()))
    return {name for name, settings in remotes if settings is not None}


def _destinations(cli: CliContext, chosen: str | None) -> list[str]:
    if chosen is not None:
        return [chosen]
    remotes = _configured(cli)
    configured = [d for d in ALL_DESTINATIONS if route(d).remote in remotes]
    if not configured:
        raise InvalidInput(
            "no destination is configured: set ORDERLEDGER_WDT_URL, "
            "ORDERLEDGER_U8_URL and/or ORDERLEDGER_CRM_URL (with their "
            "credentials) or pass --config FILE"
        )
    return configured


def destination_status(cli: CliContext, destination: str) -> dict[str, Any]:
    ledger = cli.ledger()
    store = build_delivery_store(ledger)
    counts = store.counts(destination)
    way = route(destination)
    log = cli.catalog() if way.log == CATALOG_LOG else ledger
    position, head = store.position(destination), log.log_head()
    oldest = store.oldest_undelivered(destination)
    return {
        "destination": destination,
        "configured": way.remote in _configured(cli),
        "position": position,
        "head": head,
        "lag_events": head - position,
        "pending": sum(counts.get(s, 0) for s in UNDELIVERED),
        "parked": sum(counts.get(s, 0) for s in BLOCKING),
        "acknowledged": counts.get(ACKED, 0),
        "oldest_pending_age_seconds": None
        if oldest is None
        else round(time.time() - oldest, 1),
    }


def _format_status(rows: dict[str, dict[str, Any]]) -> str:
    columns = ("position", "head", "lag_events", "pending", "parked", "acknowledged")
    titles = ("position", "head", "lag", "pending", "parked", "acked")
    out = ["dest         " + " ".join(f"{t:>9}" for t in titles) + "  oldest pending"]
    for r in rows.values():
        age = r["oldest_pending_age_seconds"]
        out.append(
            f"{r['destination']:<12} "
            + " ".join(f"{r[c]:>9}" for c in columns)
            + ("  -" if age is None else f"  {age:.0f} s")
            + ("" if r["configured"] else "  (not configured)")
        )
    return "\n".join(out)


@outbox_group.command("status")
@json_option
@pass_cli
def status(cli: CliContext) -> None:
    """Per destination: position, head, lag, pending, parked, oldest pending age."""
    cli.emit({d: destination_status(cli, d) for d in ALL_DESTINATIONS}, _format_status)


def _say(line: str) -> None:
    click.echo(line, err=True)


def _run_one(
    cli: CliContext,
    relay: Relay,
    stop: threading.Event,
    once: bool,
    totals: dict[str, Any],
    errors: dict[str, Exception],
) -> None:
    last_print = 0.0

    def show(report: RoundReport) -> None:
        nonlocal last_print
        if not (
            report.consumed or report.acknowledged or report.parked or report.failed
        ):
            return
        now = time.monotonic()
        if now - last_print < 1.0:
            return  # at most a line a second: the counts scan the ledger
        last_print = now
        s = destination_status(cli, relay.destination)
        error = f"  last error: {relay.last_error}" if report.failed else ""
        where = f"position {s['position']}/{s['head']} (lag {s['lag_events']})"
        counts = f"+{report.acknowledged} acked, pending {s['pending']}"
        _say(f"{relay.destination}: {where}, {counts}, parked {s['parked']}{error}")

    try:
        report = run_relay(relay, stop, once=once, say=_say, on_round=show)
        if report is not None:
            totals[relay.destination] = report
    except Exception as error:  # reported by the command, with its exit code
        errors[relay.destination] = error
    finally:
        relay.close()


@outbox_group.command("run")
@click.option(
    "--destination", type=DESTINATION, help="Only this one (default: every configured)."
)
@click.option("--once", "mode", flag_value="once", default=True,
              help="Deliver what can go now, then stop (default).")  # fmt: skip
@click.option(
    "--follow", "mode", flag_value="follow", help="Keep relaying until Ctrl-C."
)
@json_option
@pass_cli
def run(cli: CliContext, destination: str | None, mode: str) -> None:
    """Relay the orders' log to WDT, U8 and the CRM feed, and the catalog's
    to WDT's goods and U8's inventory: retries with backoff, parks rejected
    orders, one relay per destination at a time (a second one waits)."""
    wdt, u8 = cli.erp_settings()
    ledger, crm = cli.ledger(), cli.crm_settings()
    relays = [
        build_relay(
            ledger, d, wdt=wdt, u8=u8, crm=crm,
            catalog=cli.catalog() if route(d).log == CATALOG_LOG else None,
        )
        for d in _destinations(cli, destination)
    ]  # fmt: skip
    stop = threading.Event()
    totals: dict[str, Any] = {}
    errors: dict[str, Exception] = {}  # a relay that stopped on an error
    threads = [
        threading.Thread(
            target=_run_one,
            args=(cli, r, stop, mode == "once", totals, errors),
            daemon=True,
        )
        for r in relays
    ]
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        deadline = time.monotonic() + STOP_SECONDS
        for t in threads:  # a send in flight ends within its timeout
            t.join(max(deadline - time.monotonic(), 0.1))
        click.echo("stopped; everything recorded so far is kept", err=True)
    # Copies: a relay still stopping may yet add to them (dict() is atomic).
    totals, errors = dict(totals), dict(errors)
    for destination, error in errors.items():
        # A relay that stopped on an error never ends the command with 0.
        if isinstance(error, OrderLedgerError):
            fail(f"{destination}: {error}", exit_code_for(error))
        fail(
            f"{destination}: the relay stopped ({describe(error)}); what was "
            "delivered is recorded: run it again",
            EXIT_INTERNAL,
        )
    result = {d: vars(r) | destination_status(cli, d) for d, r in totals.items()}
    cli.emit(result, _format_status)


@outbox_group.command("parked")
@click.option("--destination", type=DESTINATION)
@json_option
@pass_cli
def parked(cli: CliContext, destination: str | None) -> None:
    """Messages that wait for a person (parked: rejected; dead: too many failures)."""
    rows = build_delivery_store(cli.ledger()).blocked(destination)

    def human(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return "nothing is parked"
        return "\n".join(
            f"{r['destination']:<4} {r['order_no']:<20} v{r['version']:<3}"
            f" {r['event_type']:<16} {r['state']:<7} attempts {r['attempts']}:"
            f" {r['last_error']}"
            for r in rows
        )

    cli.emit(rows, human)


def _require(cli: CliContext, destination: str | None, subject: str) -> None:
    """An unknown order (or, for a catalog destination, SKU): exit 4."""
    if destination is not None and route(destination).log == CATALOG_LOG:
        cli.catalog().product(subject)
    else:
        cli.ledger().require(subject)


@outbox_group.command("retry")
@click.argument("order_no", required=False)
@click.option("--all", "everything", is_flag=True, help="Every parked or dead message.")
@click.option(
    "--destination",
    type=DESTINATION,
    help="Only this one (default: all; a SKU needs wdt-goods or u8-inventory).",
)
@json_option
@pass_cli
def retry(
    cli: CliContext, order_no: str | None, everything: bool, destination: str | None
) -> None:
    """Send a parked order's messages again (after fixing the cause)."""
    if bool(order_no) == everything:
        raise click.UsageError("give an ORDER_NO or --all")
    if order_no:
        _require(cli, destination, order_no)
    store = build_delivery_store(cli.ledger())
    released = {
        d: store.release(d, order_no)
        for d in ([destination] if destination else ALL_DESTINATIONS)
    }
    cli.emit(
        released,
        lambda r: "\n".join(
            f"{d}: {n} message(s) back to pending" for d, n in r.items()
        ),
    )


@outbox_group.command("replay")
@click.option("--destination", type=DESTINATION, required=True)
@click.option(
    "--order", "order_no", help="Every message of this order (or catalog SKU)."
)
@click.option("--since", help="Messages of events at or after this time.")
@click.option(
    "--from-position", type=click.IntRange(0), help="Messages of events from this id."
)
@json_option
@pass_cli
def replay(
    cli: CliContext,
    destination: str,
    order_no: str | None,
    since: str | None,
    from_position: int | None,
) -> None:
    """Deliver messages again, in their order, after the remote lost data.
    Idempotent: WDT updates a known tid, U8 ignores a known biz_id."""
    if sum(x is not None for x in (order_no, since, from_position)) != 1:
        raise click.UsageError("give exactly one of --order, --since, --from-position")
    since_iso = None
    if since is not None:
        start, _ = parse_range(since, None, cli.settings.tz)
        assert start is not None
        since_iso = start.isoformat()
    if order_no is not None:
        _require(cli, destination, order_no)
    count = build_delivery_store(cli.ledger()).replay(
        destination, order_no=order_no, since=since_iso, from_position=from_position
    )
    cli.emit(
        {"destination": destination, "replayed": count},
        lambda r: f"{r['replayed']} message(s) will be sent again by `outbox run`",
    )
