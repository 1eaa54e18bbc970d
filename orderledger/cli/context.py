"""What every command shares: settings, output mode, the ledger (built lazily)."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_ledger
from orderledger.config import Settings
from orderledger.domain.values import Source

F = TypeVar("F", bound=Callable[..., Any])
ACTOR_ENV = "ORDERLEDGER_ACTOR"


@dataclass
class CliContext:
    settings: Settings = field(default_factory=Settings)
    json: bool = False
    _ledger: OrderLedger | None = field(default=None, repr=False)

    def ledger(self) -> OrderLedger:
        if self._ledger is None:
            self._ledger = build_ledger(self.settings)
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    def emit(self, data: Any, human: Callable[[Any], str]) -> None:
        """Print `data` as JSON with --json, else as `human(data)`."""
        if self.json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            click.echo(human(data))


pass_cli = click.make_pass_decorator(CliContext)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(CliContext).json = True


def json_option(func: F) -> F:
    """`--json` after the command too, as well as before it."""
    return click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Print JSON for scripts.",
    )(func)


def default_actor() -> str:
    return os.environ.get(ACTOR_ENV) or getpass.getuser() or "unknown"


def write_options(*, reason_required: bool = False) -> Callable[[F], F]:
    """Who, from where and why: every command that changes an order takes these."""

    def decorate(func: F) -> F:
        # click 8.5 treats an explicit default=None as a value: give none at all
        # when the option is required, or a missing --reason slips through.
        reason_default: dict[str, Any] = {} if reason_required else {"default": ""}
        func = click.option(
            "--reason",
            required=reason_required,
            help="Why (recorded in the event)."
            + (" Required." if reason_required else ""),
            **reason_default,
        )(func)
        func = click.option(
            "--source",
            type=click.Choice([s.value for s in Source]),
            default=Source.CLI.value,
            show_default=True,
            help="Where the command came from.",
        )(func)
        func = click.option(
            "--by",
            "actor",
            default=default_actor,
            show_default=f"${ACTOR_ENV} or your login",
            help="Who does this (recorded in the event).",
        )(func)
        return json_option(func)

    return decorate
