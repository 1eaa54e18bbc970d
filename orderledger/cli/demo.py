"""`orderledger demo`: the main job, a realistic day against the simulators."""

from __future__ import annotations

from pathlib import Path

import click

from orderledger.bootstrap import build_delivery_store
from orderledger.cli.context import CliContext, pass_cli
from orderledger.cli.output import format_history, format_order
from orderledger.cli.reconcile import format_report
from orderledger.config import Settings, redact_url
from orderledger.demo.day import run_day
from orderledger.domain.errors import InvalidInput
from orderledger.projections.one_order import erp_from_view, order_from_view

DEMO_DB = "orderledger-demo.db"


@click.command("demo")
@pass_cli
def demo(cli: CliContext) -> None:
    """Run a realistic day on SQLite against the WDT, U8 and CRM simulators:
    the catalog from product import, orders of every payment method from
    it, a stock shortage overridden, WDT's warehouse steps, an ERP outage, a
    cancellation after review, a shipment started in WDT, and reconciliation.

    Without --db it starts a fresh ./orderledger-demo.db each time; with --db
    the database must be empty."""
    if cli.db_given:
        if cli.ledger().log_head():
            raise InvalidInput(
                f"the demo needs an empty database, and {cli.settings.db_url} "
                "holds events: drop --db to use a fresh ./orderledger-demo.db"
            )
    else:
        Path(DEMO_DB).unlink(missing_ok=True)
        cli.settings = Settings(
            db_url=f"sqlite:///{DEMO_DB}", timezone=cli.settings.timezone
        )
    ledger = cli.ledger()
    result = run_day(
        ledger,
        cli.catalog(),
        cli.projections(),
        build_delivery_store(ledger),
        cli.reconcile_settings(),
        click.echo,
    )
    store = cli.projections()
    store.catch_up_all()
    tz = cli.settings.tz
    # ERP-first shipment; voided after review; refused at the door
    for order_no in (result.orders[2], result.orders[3], result.orders[8]):
        order = order_from_view(store, order_no, tz)
        assert order is not None
        click.echo(f"\n== The story of {order_no}")
        click.echo(format_order({**order, "erp": erp_from_view(store, order_no, tz)}))
        click.echo(format_history(ledger.history(order_no)))
    click.echo("\n== The reconciliation report at the end of the day")
    click.echo(format_report(result.report))
    unexplained = result.report.counts["unknown"]
    click.echo(
        f"\nWDT holds {result.wdt_trades} trade(s), U8 {result.u8_documents} "
        f"document(s), the CRM {result.crm_events} order event(s); unexplained "
        f"differences: {unexplained}"
    )
    db = redact_url(cli.settings.db_url)
    flag = f"--db {DEMO_DB}" if not cli.db_given else f"--db {db}"
    click.echo(
        f"Events in the log: {ledger.log_head()}   database: {db}\n"
        f"Explore: orderledger {flag} order list | order show <NO> | "
        "order history <NO> | reconcile | audit verify"
    )
