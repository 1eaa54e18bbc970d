"""`order list`, `order show`, `order history`: reading orders."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import click

from orderledger.audit.order_view import order_from_log, with_push_outcome
from orderledger.cli.context import (
    CliContext,
    json_option,
    pass_cli,
    reveal_options,
    warn,
)
from orderledger.cli.orders import order_group
from orderledger.cli.output import format_history, format_order, format_order_list
from orderledger.domain.draft import parse_time_range
from orderledger.domain.errors import OrderNotFound
from orderledger.projections.one_order import (
    erp_from_view,
    log_version,
    order_from_view,
)
from orderledger.projections.search import (
    AFTER_SALES_FILTERS,
    OrderFilter,
    list_orders,
)
from orderledger.projections.view_status import projection_status


def parse_range(
    since: str | None, until: str | None, tz: tzinfo
) -> tuple[datetime | None, datetime | None]:
    return parse_time_range(since, until, tz, names=("--since", "--until"))


def time_range_options(func: Any) -> Any:
    func = click.option("--until", help="Before this time; a date includes its day.")(
        func
    )
    return click.option("--since", help="From this time or date (ISO 8601).")(func)


@order_group.command("list")
@click.option("--status", help="Website status: 已支付 or its code (paid).")
@click.option("--product", help="SKU or product name contains this.")
@click.option("--customer", help="Customer, contact or receiver contains this.")
@click.option("--phone", help="Customer or receiver phone contains these digits.")
@click.option("--order-no", help="Order number contains this.")
@click.option(
    "--customer-phone",
    help="This customer's orders, paid and unpaid: the phone exactly.",
)
@click.option("--paid", "payment", flag_value="paid", help="Only orders paid in full.")
@click.option("--unpaid", "payment", flag_value="unpaid", help="Only unpaid orders.")
@click.option(
    "--part-paid", "payment", flag_value="part_paid", help="Only partly paid orders."
)
@click.option(
    "--mismatch", is_flag=True, help="Only orders whose observed ERP state disagrees."
)
@click.option(
    "--after-sales",
    type=click.Choice(AFTER_SALES_FILTERS),
    help="Orders with an after-sales case: open (售后中), closed (售后完成), any.",
)
@time_range_options
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option
@pass_cli
def list_command(
    cli: CliContext,
    status: str | None,
    product: str | None,
    customer: str | None,
    phone: str | None,
    order_no: str | None,
    customer_phone: str | None,
    payment: str | None,
    mismatch: bool,
    after_sales: str | None,
    since: str | None,
    until: str | None,
    limit: int,
) -> None:
    """Find orders (订单查询) in the search view, newest first; phones masked."""
    tz = cli.settings.tz
    filters = OrderFilter.parse(
        tz,
        status=status,
        customer_phone=customer_phone,
        since=since,
        until=until,
        options=True,
        product=product,
        customer=customer,
        phone=phone,
        order_no=order_no,
        payment=payment,
        mismatch=mismatch,
        after_sales=after_sales,
        limit=limit,
    )
    store = cli.views()
    _warn_if_lagging(cli)
    cli.emit(list_orders(store, filters, tz), format_order_list)


def _warn_if_lagging(cli: CliContext) -> None:
    lag = max(row["lag_events"] for row in projection_status(cli.views()))
    if lag:
        warn(
            f"the views lag the log by {lag} events; "
            "run `orderledger projections catch-up` for current results"
        )


@order_group.command("show")
@click.argument("order_no")
@reveal_options
@click.option("--from-log", is_flag=True, help="Replay the log instead of the view.")
@json_option
@pass_cli
def show(
    cli: CliContext,
    order_no: str,
    reveal: bool,
    actor: str,
    reason: str,
    from_log: bool,
) -> None:
    """Show an order from the order-status view; if the view lags the log for
    this order, say so and show the state replayed from the log."""
    if reveal:
        cli.reveal(order_no, actor=actor, reason=reason)
    tz = cli.settings.tz
    order: dict[str, Any] | None = None
    if not from_log and cli.views().is_stale("order_status"):
        warn(
            "the order-status view was built by an older version (run "
            "`orderledger projections rebuild order_status`): showing the state "
            "replayed from the log"
        )
        from_log = True
    if not from_log:
        store = cli.views()
        order = order_from_view(store, order_no, tz, reveal=reveal)
        in_log = log_version(store, order_no)
        if order is None and in_log == 0:
            raise OrderNotFound(f"order {order_no} not found")
        behind = in_log - (order["version"] if order else 0)
        if behind > 0:
            warn(
                f"the order-status view lags the log by {behind} event(s) of "
                f"{order_no}: showing the state replayed from the log"
            )
            order = None
        if order is not None:
            order = {
                **order,
                "source": "view",
                "view_lag_events": 0,
                "erp": erp_from_view(store, order_no, tz),
            }
        else:
            order = {
                **_from_log(cli, order_no, reveal),
                "view_lag_events": behind,
            }
    else:
        order = _from_log(cli, order_no, reveal)
    wdt, _ = cli.erp_settings()
    order = with_push_outcome(order, cli.deliveries(), wdt_configured=wdt is not None)
    cli.emit(order, format_order)


def _from_log(cli: CliContext, order_no: str, reveal: bool) -> dict[str, Any]:
    return order_from_log(
        cli.ledger(), cli.projections(), order_no, reveal=reveal, warn=warn
    )


@order_group.command("history")
@click.argument("order_no")
@reveal_options
@json_option
@pass_cli
def history(
    cli: CliContext, order_no: str, reveal: bool, actor: str, reason: str
) -> None:
    """Every event of an order, oldest first: who, when, via what, what changed."""
    if reveal:
        cli.reveal(order_no, actor=actor, reason=reason)
    cli.emit(cli.ledger().history(order_no, reveal=reveal), format_history)
