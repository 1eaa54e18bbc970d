"""Subcommands imported only when they run: `orderledger --help` and a read
command load only what they use (a script calls them in loops; importing
every command pulled in SQLAlchemy, eventsourcing, FastAPI and the
simulators for each call). tests/unit/test_cli_lazy.py holds the short help
below equal to each command's own."""

from __future__ import annotations

import importlib
from typing import Any

import click

from orderledger.cli.errors import LedgerGroup

# name -> (module, attribute, the short help `--help` lists)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "audit": ("orderledger.cli.audit", "audit_group",
              "For auditors: replay an order as of any moment, prove..."),
    "customer": ("orderledger.cli.privacy", "customer_group",
                 "A customer's personal data."),
    "demo": ("orderledger.cli.demo", "demo",
             "Run a realistic day on SQLite against the WDT, U8 and CRM..."),
    "erp": ("orderledger.cli.erp", "erp_group",
            "The ERP's side: what WDT did on its own, recorded as..."),
    "keys": ("orderledger.cli.privacy", "keys_group",
             "The master key of the personal-data vault."),
    "migrate": ("orderledger.cli.privacy", "migrate_group",
                "One-off upgrades of data written by an earlier version."),
    "order": ("orderledger.cli.order_commands", "order_group",
              "Create orders and move them through their lifecycle."),
    "outbox": ("orderledger.cli.outbox", "outbox_group",
               "Relay the events to WDT, U8 and the CRM feed, with a..."),
    "product": ("orderledger.cli.catalog", "product_group",
                "The product catalog: products, and the brands, categories..."),
    "projections": ("orderledger.cli.projections", "projections_group",
                    "Read models: status, catch-up, rebuild without downtime,..."),
    "reconcile": ("orderledger.cli.reconcile", "reconcile",
                  "Replay the log, compare every order's expected ERP state..."),
    "return": ("orderledger.cli.aftersales", "return_group",
               "After-sales: returns, exchanges and refunds (申请, 审核, 验收, 退款)."),
    "serve": ("orderledger.cli.serve", "serve",
              "The HTTP API (docs/api.md): OpenAPI at /openapi.json, the..."),
    "sim": ("orderledger.cli.sim", "sim_group",
            "Simulators of WDT (旺店通), U8 (用友) and a CRM for tests and..."),
    "stats": ("orderledger.cli.projections", "stats",
              "订单统计: counts and amounts by status, day, product,..."),
    "token": ("orderledger.cli.serve", "token_group",
              "API tokens: one per caller, each of one role."),
}  # fmt: skip


def subcommands(group: click.Group) -> dict[str, click.Command]:
    """Every subcommand of `group` by name, the lazy ones loaded."""
    ctx = click.Context(group)
    found = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}


# `order import` pulls in the importer (processes, CSV, the vault's keys):
# `order show`, which scripts call in loops, must not pay for it.
ORDER_COMMANDS: dict[str, tuple[str, str, str]] = {
    "import": ("orderledger.cli.order_import", "import_command",
               "Import orders from JSON lines or CSV, each validated as..."),
}  # fmt: skip


def load(name: str, table: dict[str, tuple[str, str, str]] = COMMANDS) -> click.Command:
    module, attribute, _ = table[name]
    command: click.Command = getattr(importlib.import_module(module), attribute)
    return command


class LazyGroup(LedgerGroup):
    """A group whose subcommands in `lazy` are imported on first use (the
    root group's: all of them)."""

    lazy: dict[str, tuple[str, str, str]] = COMMANDS

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.lazy) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(load(cmd_name, self.lazy), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        """The listing of `--help`: the lazy ones from the table, unimported."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (name, self.lazy[name][2])
            if name in self.lazy
            else (name, self.commands[name].get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class OrderGroup(LazyGroup):
    lazy = ORDER_COMMANDS
