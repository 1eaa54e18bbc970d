"""The root command: global options, subcommands, error reporting."""

from __future__ import annotations

import click

from orderledger.bootstrap import quiet_pool_resets
from orderledger.cli import (  # noqa: F401  (add list, show, history; import)
    order_import,
    order_reads,
)
from orderledger.cli.aftersales import return_group
from orderledger.cli.audit import audit_group
from orderledger.cli.catalog import product_group
from orderledger.cli.context import CliContext
from orderledger.cli.demo import demo
from orderledger.cli.erp import erp_group
from orderledger.cli.errors import LedgerGroup
from orderledger.cli.orders import order_group
from orderledger.cli.outbox import outbox_group
from orderledger.cli.privacy import customer_group, keys_group, migrate_group
from orderledger.cli.projections import projections_group, stats
from orderledger.cli.reconcile import reconcile
from orderledger.cli.serve import serve, token_group
from orderledger.cli.sim import sim_group
from orderledger.config import DB_ENV, Settings


@click.group(cls=LedgerGroup)
@click.option(
    "--db",
    envvar=DB_ENV,
    default=None,
    metavar="URL",
    help=f"Database URL or SQLite file [env {DB_ENV}; default ./orderledger.db].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--config",
    "config_file",
    envvar="ORDERLEDGER_CONFIG",
    type=click.Path(dir_okay=False),
    help="TOML file with [wdt] and [u8] settings [env ORDERLEDGER_CONFIG].",
)
@click.version_option(package_name="orderledger", prog_name="orderledger")
@click.pass_context
def cli(
    ctx: click.Context, db: str | None, as_json: bool, config_file: str | None
) -> None:
    """orderledger: every order action as an immutable event, from website to
    ERP (旺店通) and finance (用友 U8)."""
    quiet_pool_resets()
    obj = ctx.ensure_object(CliContext)
    obj.settings = Settings.load(db, config_file=config_file)
    obj.db_given = db is not None
    obj.json = obj.json or as_json
    obj.config_file = config_file
    ctx.call_on_close(obj.close)


cli.add_command(order_group)
cli.add_command(product_group)
cli.add_command(demo)
cli.add_command(projections_group)
cli.add_command(stats)
cli.add_command(outbox_group)
cli.add_command(sim_group)
cli.add_command(audit_group)
cli.add_command(erp_group)
cli.add_command(reconcile)
cli.add_command(return_group)
cli.add_command(serve)
cli.add_command(token_group)
cli.add_command(customer_group)
cli.add_command(keys_group)
cli.add_command(migrate_group)


def main() -> None:
    cli(prog_name="orderledger")
