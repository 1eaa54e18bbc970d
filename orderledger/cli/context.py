"""What every command shares: settings, output mode, the ledger (built lazily)."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from orderledger.cli.errors import EXIT_RECORDED_BUT, fail
from orderledger.config import (
    CrmSettings,
    ReconcileSettings,
    Settings,
    U8Settings,
    WdtSettings,
    load_crm_settings,
    load_erp_settings,
    load_reconcile_settings,
)
from orderledger.domain.errors import InvalidInput, first_line
from orderledger.domain.values import Source

# What a command builds is imported when it builds it: `--help` and the
# commands that need no database load none of it (cli/lazy.py).
if TYPE_CHECKING:
    from orderledger.application import OrderLedger
    from orderledger.application.catalog import Catalog
    from orderledger.domain.catalog import ProductLookup
    from orderledger.domain.stock import StockLevels
    from orderledger.outbox.store import DeliveryStore
    from orderledger.projections.store import ProjectionStore

F = TypeVar("F", bound=Callable[..., Any])
ACTOR_ENV = "ORDERLEDGER_ACTOR"
INLINE_CATCH_UP_MAX = 2000


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


@dataclass
class CliContext:
    settings: Settings = field(default_factory=Settings)
    json: bool = False
    _ledger: OrderLedger | None = field(default=None, repr=False)
    _projections: ProjectionStore | None = field(default=None, repr=False)
    _catalog: Catalog | None = field(default=None, repr=False)
    config_file: str | None = None
    db_given: bool = False  # --db or ORDERLEDGER_DB, not the default
    # A step after a committed write that failed: reported by `emit`, after
    # the result, with its own exit code.
    unfinished: str | None = None

    def erp_settings(self) -> tuple[WdtSettings | None, U8Settings | None]:
        return load_erp_settings(self.config_file)

    def stock_levels(self) -> StockLevels | None:
        """Where `order confirm` asks for stock (None: it does not)."""
        from orderledger.bootstrap import build_stock_levels

        return build_stock_levels(self.settings, self.erp_settings()[0])

    def crm_settings(self) -> CrmSettings | None:
        return load_crm_settings(self.config_file)

    def reconcile_settings(self) -> ReconcileSettings:
        return load_reconcile_settings(self.config_file)

    def ledger(self) -> OrderLedger:
        if self._ledger is None:
            from orderledger.bootstrap import build_ledger

            self._ledger = build_ledger(self.settings)
        return self._ledger

    def catalog(self) -> Catalog:
        if self._catalog is None:
            from orderledger.bootstrap import build_catalog

            self._catalog = build_catalog(self.settings)
        return self._catalog

    def products(self) -> ProductLookup:
        """The catalog as order lines read it, with the configured policy
        for SKUs it does not know."""
        return self.catalog().lookup(allow_unknown=self.settings.allow_unknown_skus)

    def views(self) -> ProjectionStore:
        """The views for a read command: opened without the application (a
        quick start-up) unless the ledger is built already or the log is new."""
        if self._projections is None and self._ledger is None:
            from orderledger.projections.opening import open_views

            self._projections = open_views(self.settings)
        return self.projections()

    def deliveries(self) -> DeliveryStore:
        """The outbox's delivery rows, on the views' engine (a read)."""
        from orderledger.outbox.destinations import delivery_store

        return delivery_store(self.views().engine)

    def projections(self) -> ProjectionStore:
        if self._projections is None:
            from orderledger.bootstrap import build_projections

            self._projections = build_projections(self.ledger(), self.settings)
        return self._projections

    def reveal(self, order_no: str, *, actor: str, reason: str) -> None:
        """Record that this command shows the order's personal data unmasked
        (who, which fields, why), before it shows them; a reveal needs a reason."""
        from orderledger.domain.order import REVEALABLE

        if not reason.strip():
            raise InvalidInput(
                "--reveal needs --reason: why the personal data is needed"
            )
        self.ledger().record_reveal(
            order_no,
            fields=sorted(REVEALABLE),
            actor=actor,
            source=Source.CLI,
            reason=reason,
        )
        self.after_write()

    def after_write(self) -> str | None:
        """Read your writes: bring the views up to date after a CLI command.

        A large backlog is left to `projections follow` (or `catch-up`) rather
        than making this command slow. The write itself is already committed,
        so a failure here does not undo it: it is kept in `unfinished` (and
        returned) for `emit` to report after the result, as "recorded; …".
        """
        from orderledger.projections.store import StaleProjection
        from orderledger.projections.view_status import projection_status

        try:
            store = self.projections()
            lag = max(row["lag_events"] for row in projection_status(store))
            if lag > INLINE_CATCH_UP_MAX:
                warn(
                    f"the views lag the log by {lag} events: "
                    "run `orderledger projections catch-up` or `projections follow`"
                )
                return None
            for name in store.projections:
                try:
                    store.catch_up(name)
                except StaleProjection as stale:
                    # Not this write's failure: the view waits for a rebuild
                    # after an upgrade; the others are brought up to date.
                    warn(str(stale))
        except Exception as error:  # the write stands; the views can catch up later
            self.unfinished = (
                f"updating the views failed ({first_line(error)}): "
                "run `orderledger projections catch-up`"
            )
        return self.unfinished

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def emit(self, data: Any, human: Callable[[Any], str]) -> None:
        """Print `data` as JSON with --json, else as `human(data)`; then
        report a step that failed after the write (exit 7)."""
        if self.json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            click.echo(human(data))
        if self.unfinished is not None:
            fail(f"recorded; {self.unfinished}", EXIT_RECORDED_BUT)


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


def _by_option(func: F, help: str) -> F:
    """--by: who acts, as the event records it."""
    return click.option(
        "--by",
        "actor",
        default=default_actor,
        show_default=f"${ACTOR_ENV} or your login",
        help=help,
    )(func)


def by_option(func: F) -> F:
    return _by_option(func, "Who does this (recorded).")


def reveal_options(func: F) -> F:
    """--reveal, and who reveals and why: a reveal is recorded in the order."""
    func = click.option(
        "--reason",
        default="",
        help="Why the personal data is needed (required with --reveal; recorded).",
    )(func)
    func = _by_option(func, "Who reveals (recorded with --reveal).")
    return click.option(
        "--reveal",
        is_flag=True,
        help="Show phone numbers unmasked; records who, when and why in the order.",
    )(func)


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
        func = _by_option(func, "Who does this (recorded in the event).")
        return json_option(func)

    return decorate
