"""`orderledger audit …`: history as of a moment, verification, digests, export."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from orderledger.audit.export import render, rows
from orderledger.audit.history import erp_as_of, history
from orderledger.audit.verify import compare_with_digest, digest, load_digest, verify
from orderledger.cli.context import CliContext, json_option, pass_cli, reveal_options
from orderledger.cli.errors import EXIT_BROKEN
from orderledger.cli.inputs import read_text, write_output
from orderledger.cli.order_reads import parse_range
from orderledger.cli.output import format_history, format_order
from orderledger.domain.draft import parse_time
from orderledger.domain.errors import InvalidInput, OrderNotFound
from orderledger.domain.order import order_id


@click.group("audit")
def audit_group() -> None:
    """For auditors: replay an order as of any moment, prove nothing was altered."""


def _as_of(cli: CliContext, text: str | None) -> Any:
    return None if text is None else parse_time(text, "--as-of", cli.settings.tz)


@audit_group.command("history")
@click.argument("order_no")
@click.option("--as-of", help="Replay only what had been recorded by this time.")
@reveal_options
@json_option
@pass_cli
def history_command(
    cli: CliContext,
    order_no: str,
    as_of: str | None,
    reveal: bool,
    actor: str,
    reason: str,
) -> None:
    """The complete timeline (who, when, from where, why) and the order's full
    state as of a moment (default: now)."""
    moment = _as_of(cli, as_of)
    if reveal:
        cli.reveal(order_no, actor=actor, reason=reason)
    data = history(cli.ledger(), order_no, moment, reveal=reveal)

    def human(d: dict[str, Any]) -> str:
        when = d["as_of"] or "now"
        state = (
            format_order(d["state"]) if d["state"] else f"{order_no} did not exist yet"
        )
        return f"as of {when}:\n{state}\n\n{format_history(d['timeline'])}"

    cli.emit(data, human)


@audit_group.command("erp")
@click.argument("order_no")
@click.option("--as-of", required=True, help="The moment to look at.")
@json_option
@pass_cli
def erp_command(cli: CliContext, order_no: str, as_of: str) -> None:
    """What the ledger expected the ERP to show at a moment, and what it saw."""
    data = erp_as_of(cli.ledger(), order_no, _as_of(cli, as_of))

    def human(d: dict[str, Any]) -> str:
        e = d["expected"]
        if e is None:
            expected = "nothing (the order did not exist yet)"
        else:
            codes = ", ".join(map(str, e["wdt_codes"]))
            note = f"; {e['note']}" if e["note"] else ""
            expected = f"{e['erp_label']} (WDT {codes}) for {e['website_status']}{note}"
        observed = d["observed_note"] or f"{len(d['observed'])} observation(s)"
        header = f"{order_no} as of {d['as_of']}"
        return f"{header}\n  expected: {expected}\n  observed: {observed}"

    cli.emit(data, human)


def _progress_bar(cli: CliContext, label: str) -> Any:
    return click.progressbar(
        length=max(cli.ledger().log_head(), 1), label=label, file=sys.stderr
    )


@audit_group.command("digest")
@click.option(
    "--save", type=click.Path(dir_okay=False, writable=True), help="Write it here."
)
@json_option
@pass_cli
def digest_command(cli: CliContext, save: str | None) -> None:
    """Every order's chain head up to the log's head, and their Merkle root:
    keep it somewhere safe to prove later that nothing changed."""
    with _progress_bar(cli, "digest") as bar:
        store = cli.projections()
        data = digest(store.engine, store.events, progress=bar.update)
    if save:
        write_output(save, json.dumps(data, indent=1, ensure_ascii=False))
    summary = {
        k: data[k] for k in ("format", "position", "orders", "root", "created_at")
    }
    saved_to = f"; saved to {save}" if save else ""
    cli.emit(
        summary,
        lambda d: (
            f"root {d['root']} over {d['orders']} orders at {d['position']}{saved_to}"
        ),
    )


@audit_group.command("verify")
@click.argument("order_no", required=False)
@click.option("--all", "everything", is_flag=True, help="Every order (the default).")
@click.option("--against", type=click.File("rb"), help="A saved digest.")
@json_option
@pass_cli
def verify_command(
    cli: CliContext, order_no: str | None, everything: bool, against: Any
) -> None:
    """Recompute every hash chain and say exactly what broke and where.
    Exits 0 only when everything verifies (8 when anything is broken)."""
    if order_no and everything:
        raise click.UsageError("give an ORDER_NO or --all, not both")
    saved = None
    if against is not None:
        saved = load_digest(read_text(against, against.name))
    if saved is not None and order_no:
        raise InvalidInput("--against checks the whole ledger: leave out ORDER_NO")
    engine = cli.projections().engine
    only = None if order_no is None else order_id(order_no).hex
    with _progress_bar(cli, "verify") as bar:
        report = verify(
            engine, cli.projections().events, only=only, progress=bar.update
        )
    if order_no and report.orders == 0:
        raise OrderNotFound(f"order {order_no} not found")
    if saved is not None:
        compare_with_digest(engine, cli.projections().events, saved, report)
    data = report.as_data()
    catalog = None
    if order_no is None:  # the catalog's chains too (docs/catalog.md)
        recorder: Any = cli.catalog().recorder
        catalog = verify(engine, recorder.events_record_cls.__table__)
        data["catalog"] = catalog.as_data()

    def human(r: dict[str, Any]) -> str:
        lines = [_verdict(r, "orders")]
        lines += _findings(r)
        if "catalog" in r:
            lines.append(_verdict(r["catalog"], "catalog entries"))
            lines += _findings(r["catalog"])
        return "\n".join(lines)

    cli.emit(data, human)
    if not report.ok or (catalog is not None and not catalog.ok):
        raise click.exceptions.Exit(EXIT_BROKEN)


def _verdict(r: dict[str, Any], what: str) -> str:
    verdict = "everything verifies" if r["ok"] else f"{len(r['findings'])} problem(s)"
    return f"checked {r['events']} events of {r['orders']} {what}: {verdict}"


def _findings(r: dict[str, Any]) -> list[str]:
    lines = []
    for f in r["findings"]:
        where = f"v{f['version']}" if f["version"] is not None else "-"
        who = f["order_no"] or f["order_key"]
        lines.append(f"  {who} {where} {f['kind']}: {f['detail']}")
    return lines


@audit_group.command("export")
@click.argument("order_no", required=False)
@click.option("--since", help="Events at or after this time.")
@click.option("--until", help="Events before this time (a date includes its day).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="File (default stdout).",
)
@pass_cli
def export_command(
    cli: CliContext,
    order_no: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Every event with its chain hashes, in order, as JSON or CSV (docs/audit.md)."""
    if bool(order_no) == bool(since or until):
        raise click.UsageError("give an ORDER_NO, or --since and/or --until")
    start, end = parse_range(since, until, cli.settings.tz)
    engine = cli.projections().engine
    text = render(
        list(
            rows(
                engine,
                cli.projections().events,
                order_no=order_no,
                since=start,
                until=end,
            )
        ),
        fmt,
    )
    if output:
        write_output(output, text)
    else:
        click.echo(text, nl=False)
