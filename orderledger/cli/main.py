"""The root command: global options, subcommands, error reporting."""

from __future__ import annotations

import click

from orderledger.cli.context import CliContext
from orderledger.cli.lazy import LazyGroup
from orderledger.config import DB_ENV, Settings


@click.group(cls=LazyGroup)
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
    from orderledger.store.pooled import quiet_pool_resets  # (not for --help)

    quiet_pool_resets()
    obj = ctx.ensure_object(CliContext)
    obj.settings = Settings.load(db, config_file=config_file)
    obj.db_given = db is not None
    obj.json = obj.json or as_json
    obj.config_file = config_file
    ctx.call_on_close(obj.close)


def main() -> None:
    cli(prog_name="orderledger")
