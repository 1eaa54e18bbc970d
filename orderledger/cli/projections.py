"""`orderledger projections …` and `orderledger stats`."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from functools import partial
from typing import Any, TypeVar

import click

from orderledger.bootstrap import projection_store
from orderledger.cli.context import CliContext, json_option, pass_cli
from orderledger.cli.errors import (
    EXIT_INTERRUPTED,
    EXIT_REFUSED,
    EXIT_USAGE,
    exit_code_for,
    fail,
)
from orderledger.cli.order_reads import parse_range, time_range_options
from orderledger.cli.output import format_stats
from orderledger.config import Settings
from orderledger.domain.errors import OrderLedgerError
from orderledger.outbox.supervisor import Supervisor
from orderledger.projections.definitions import PROJECTIONS
from orderledger.projections.rebuild import RebuildOutcome, build_first, rebuild
from orderledger.projections.statistics import STATS_DIMENSIONS, catalog_statistics
from orderledger.projections.store import Progress, ProjectionStore
from orderledger.projections.view_status import projection_status
from orderledger.projections.workers import default_workers, follow_in_parts

NAMES = click.Choice(sorted(PROJECTIONS))
F = TypeVar("F", bound=Callable[..., Any])


@click.group("projections")
def projections_group() -> None:
    """Read models: status, catch-up, rebuild without downtime, follow the log."""


def _format_status(rows: list[dict[str, Any]]) -> str:
    out = [
        f"{'name':<14} {'gen':>3} {'position':>9} {'head':>9} {'lag':>7} {'lag s':>8}"
    ]
    for r in rows:
        notes = []
        if r["stale"]:
            notes.append(f"STALE: built by {r['version']}, code is {r['code_version']}")
        if r["rebuilding_generation"] is not None:
            notes.append(
                f"rebuild of g{r['rebuilding_generation']} paused at "
                f"{r['rebuilding_position']}"
            )
        if r["poisoned"]:
            notes.append(f"{len(r['poisoned'])} poisoned order(s) skipped")
        out.append(
            f"{r['name']:<14} {r['generation']:>3} {r['position']:>9} {r['head']:>9}"
            f" {r['lag_events']:>7} {r['lag_seconds']:>8.1f}"
            + (f"  ({'; '.join(notes)})" if notes else "")
        )
        out += [
            f"  poisoned {p['order_no']} at {p['position']} ({p['event_type']}): "
            f"{p['error']}"
            for p in r["poisoned"]
        ]
    return "\n".join(out)


@projections_group.command("status")
@json_option
@pass_cli
def status(cli: CliContext) -> None:
    """Per projection: tracked position, head of the log, lag in events and seconds."""
    cli.emit(projection_status(cli.projections()), _format_status)


@contextmanager
def _progress(label: str, total: int) -> Iterator[Progress]:
    """A progress bar on stderr with events/s and an ETA."""
    started = time.monotonic()
    done = 0
    with click.progressbar(
        length=max(total, 1),
        label=label,
        file=sys.stderr,
        show_eta=True,
        show_pos=True,
        item_show_func=lambda rate: rate,
    ) as bar:

        def advance(events: int, position: int) -> None:
            nonlocal done
            done += events
            rate = done / max(time.monotonic() - started, 1e-6)
            bar.update(events, f"{rate:,.0f} ev/s at {position}")

        yield advance


@contextmanager
def _resumable(what: str) -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        fail(
            f"{what} interrupted; everything applied so far is kept: run the same "
            "command again to resume",
            EXIT_INTERRUPTED,
        )


@projections_group.command("catch-up")
@click.argument("name", type=NAMES, required=False)
@json_option
@pass_cli
def catch_up(cli: CliContext, name: str | None) -> None:
    """Apply every event the live views have not seen yet, once, then stop."""
    store = cli.projections()
    applied: dict[str, int] = {}
    with _resumable("catch-up"):
        for row in projection_status(store):
            if name in (None, row["name"]):
                with _progress(f"{row['name']:<13}", row["lag_events"]) as bar:
                    applied[row["name"]] = store.catch_up(row["name"], progress=bar)
    cli.emit(
        applied, lambda a: "\n".join(f"{k}: applied {v} events" for k, v in a.items())
    )


def _format_outcome(o: RebuildOutcome) -> str:
    lines = [
        f"{o.name}: generation {o.new_generation} built to position {o.position}; "
        f"compared {o.compared_rows} rows with live generation {o.live_generation}: "
        f"{o.difference_count} difference(s)"
    ]
    for d in o.differences:
        cols = ", ".join(f"{c}: {a!r} -> {b!r}" for c, (a, b) in d.columns.items())
        lines.append(f"  {d.table} {d.key} {d.kind}" + (f" ({cols})" if cols else ""))
    if o.difference_count > len(o.differences):
        lines.append(f"  … and {o.difference_count - len(o.differences)} more")
    lines.append(
        f"  switched: generation {o.new_generation} is live"
        if o.switched
        else "  NOT switched: the live view differs; check the rows above, "
        "then rerun with --force to switch anyway"
    )
    return "\n".join(lines)


def _workers_option(what: str) -> Callable[[F], F]:
    return click.option(
        "--workers",
        type=click.IntRange(1, 64),
        default=None,
        help=f"{what} in this many processes, each owning a partition of the "
        "orders (by order key) [default: the number of CPUs on PostgreSQL, 1 "
        "on SQLite, whose one writer at a time made more slower].",
    )


@projections_group.command("rebuild")
@click.argument("name", type=NAMES, required=False)
@click.option("--force", is_flag=True, help="Switch even if the new view differs.")
@click.option("--restart", is_flag=True, help="Discard a paused rebuild; start over.")
@_workers_option("Build")
@json_option
@pass_cli
def rebuild_command(
    cli: CliContext,
    name: str | None,
    force: bool,
    restart: bool,
    workers: int | None,
) -> None:
    """Build a new generation of a view (or of all) from the log beside the live
    one, compare the two, then switch atomically. Ctrl-C pauses; rerun resumes
    (each worker its own partition)."""
    store = cli.projections()
    head = store.head()
    workers = workers or default_workers(store)
    names = [name] if name else sorted(store.projections)
    outcomes = []
    with _resumable("rebuild"):
        # One bar for the workers' part: every view's partitions together.
        bar_of_workers = (
            _progress(f"{workers} workers", head * len(names))
            if workers > 1
            else nullcontext(None)
        )
        with bar_of_workers as bar:
            build_first(
                store,
                names,
                restart=restart,
                workers=workers,
                make_store=partial(projection_store, cli.settings),
                progress=bar,
            )
        for each in names:
            with _progress(f"{each:<13}", head) as bar:
                outcomes.append(rebuild(store, each, force=force, progress=bar))
    cli.emit(
        [asdict(o) for o in outcomes] if cli.json else outcomes,
        lambda os: "\n".join(_format_outcome(o) for o in os),
    )
    if not all(o.switched for o in outcomes):
        raise click.exceptions.Exit(EXIT_REFUSED)


@projections_group.command("follow")
@click.option(
    "--poll",
    type=click.FloatRange(0.05, 3600),
    default=None,
    help="Seconds between polls [default: 1 on SQLite; on PostgreSQL NOTIFY wakes "
    "it at once and this is a 30 s safety net].",
)
@click.option(
    "--max-seconds", type=click.FloatRange(0), default=None, help="Stop after."
)
@_workers_option("Follow")
@click.option(
    "--part",
    "parts",
    type=click.IntRange(0),
    multiple=True,
    help="Run only this partition (of --workers) here; repeat for more. For "
    "workers on several hosts against one PostgreSQL [default: all of them].",
)
@pass_cli
def follow(
    cli: CliContext,
    poll: float | None,
    max_seconds: float | None,
    workers: int | None,
    parts: tuple[int, ...],
) -> None:
    """Keep every live view current until Ctrl-C (or --max-seconds); with
    several workers, each process follows its partition of the orders."""
    store = cli.projections()
    workers = workers or default_workers(store)
    if any(part >= workers for part in parts):
        fail(f"--part must be below --workers ({workers})", EXIT_USAGE)
    interval = poll if poll is not None else (30.0 if store.is_postgres else 1.0)
    click.echo("following the log; Ctrl-C to stop", err=True)
    if workers == 1:
        stop = threading.Event()
        if max_seconds is not None:
            threading.Timer(max_seconds, stop.set).start()
        try:
            _follow(store, stop, interval, None)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
        finally:
            stop.set()
        return
    share = partial(_follow_share, cli.settings, interval)
    try:
        follow_in_parts(share, workers, list(parts or range(workers)), max_seconds)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


def _follow_share(
    settings: Settings, interval: float, part: int, parts: int, stop: threading.Event
) -> None:
    """One follower process of `follow --workers` (module-level: it pickles).
    A refusal ends it with one line and its exit code, not a traceback; the
    command then says which worker stopped (exit 6)."""
    try:
        _follow(projection_store(settings), stop, interval, (part, parts))
    except OrderLedgerError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(exit_code_for(error))


def _follow(
    store: ProjectionStore,
    stop: threading.Event,
    interval: float,
    share: tuple[int, int] | None,
) -> None:
    label = "projections" if share is None else f"projections part {share[0]}"
    supervisor = Supervisor(label, stop, lambda line: click.echo(line, err=True))

    def report(applied: int) -> None:
        supervisor.ok()
        if applied:
            click.echo(
                f"{label}: applied {applied} event(s); head {store.head()}", err=True
            )

    supervisor.run(
        lambda: store.follow(stop, poll_seconds=interval, on_round=report, share=share)
    )


@click.command("stats")
@click.option(
    "--by", type=click.Choice(STATS_DIMENSIONS), default="status", show_default=True
)
@click.option("--brand", help="Only lines of this brand (code or name).")
@click.option("--category", help="Only lines of this category (code or name).")
@click.option("--type", "type_", help="Only lines of this type (code or name).")
@time_range_options
@json_option
@pass_cli
def stats(
    cli: CliContext,
    by: str,
    since: str | None,
    until: str | None,
    brand: str | None,
    category: str | None,
    type_: str | None,
) -> None:
    """订单统计: counts and amounts by status, day, product, category, brand
    or type, over the orders placed in a time range. `refunded` =
    `refunded_sales` (returns and excesses of orders that count) +
    `refunded_voided` (money given back for voided orders); `net` = the
    amount of orders not voided − `refunded_sales`. With --brand, --category
    or --type only the matching lines count (orders, quantity, line amounts)."""
    start, end = parse_range(since, until, cli.settings.tz)
    filters = {"brand": brand, "category": category, "type": type_}
    rows = catalog_statistics(cli.projections(), cli.catalog(), by, start, end, filters)
    cli.emit(rows, lambda r: format_stats(by, r))
