"""`orderledger order …`: the write commands (the reads are in order_reads.py,
the import in order_import.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import IO, Any

import click

from orderledger.cli.context import CliContext, json_option, pass_cli, write_options
from orderledger.cli.inputs import (
    LINE_FORMS,
    parse_items,
    parse_line_option,
    read_json_file,
)
from orderledger.cli.lazy import OrderGroup
from orderledger.domain.catalog import order_lines
from orderledger.domain.draft import OrderDraft, nest_flat
from orderledger.domain.errors import InvalidInput
from orderledger.domain.values import Delivery, Source, parse_money
from orderledger.projections.search import shipped_not_received


@click.group("order", cls=OrderGroup)
def order_group() -> None:
    """Create orders and move them through their lifecycle."""


def _print_result(cli: CliContext, view: dict[str, Any], verb: str) -> None:
    cli.after_write()
    cli.emit(view, lambda v: f"{v['order_no']} {verb}: now {v['status']}")


@order_group.command("create")
@click.option(
    "--file", "file", type=click.File("rb"), help="Order as JSON ('-' = stdin)."
)
@click.option("--order-no", help="The website's order number (generated if omitted).")
@click.option("--ordered-at", help="Order time, ISO 8601 (default: now).")
@click.option("--customer", help="Customer name.")
@click.option("--contact", help="Contact person (default: the customer).")
@click.option("--phone", help="Customer phone.")
@click.option("--payment", help="online | postal | cod")
@click.option("--receiver", help="Receiver (default: the customer).")
@click.option("--receiver-phone", help="Receiver phone (default: --phone).")
@click.option("--province", default="", help="Province.")
@click.option("--city", default="", help="City.")
@click.option("--district", default="", help="District.")
@click.option("--address", help="Street address (detail).")
@click.option(
    "--line",
    "lines",
    multiple=True,
    help="SKU:QTY or SKU:QTY:PRICE (from the catalog), or SKU:NAME:QTY:PRICE; "
    "repeatable.",
)
@click.option("--shipping-fee", default="0", show_default=True, help="Shipping fee.")
@write_options()
@pass_cli
def create(
    cli: CliContext,
    /,
    file: IO[bytes] | None,
    actor: str,
    source: str,
    reason: str,
    **options: Any,
) -> None:
    """Create an order (from options or --file). A retry with the same number
    and identical content returns the existing order."""
    if file is not None:
        given = [k for k, v in options.items() if v and k not in _OPTION_DEFAULTS]
        if given:
            raise click.UsageError("use either --file or the order options, not both")
        data = read_json_file(file, file.name)
    else:
        data = _draft_from_options(options)
    draft = OrderDraft.from_data(data, cli.settings.tz, cli.products())
    view = cli.ledger().create(draft, actor=actor, source=Source(source), reason=reason)
    verb = "created" if view["created"] else "already exists (identical)"
    _print_result(cli, view, verb)


_OPTION_DEFAULTS = {"province", "city", "district", "shipping_fee"}


def _draft_from_options(o: dict[str, Any]) -> dict[str, Any]:
    if not o["lines"]:
        raise InvalidInput(f"at least one --line ({LINE_FORMS}) is required")
    for name in ("customer", "phone", "payment", "address"):
        if not o[name]:
            raise InvalidInput(f"--{name} is required (or give --file)")
    return nest_flat({**o, "lines": [parse_line_option(text) for text in o["lines"]]})


@order_group.command("modify")
@click.argument("order_no")
@click.option("--line", "lines", multiple=True, help="Replace all lines; repeatable.")
@click.option("--contact", help="New contact person.")
@click.option("--phone", help="New contact phone.")
@click.option("--receiver", help="New receiver.")
@click.option("--receiver-phone", help="New receiver phone.")
@click.option("--province", help="New province.")
@click.option("--city", help="New city.")
@click.option("--district", help="New district.")
@click.option("--address", help="New street address (detail).")
@write_options()
@pass_cli
def modify(
    cli: CliContext,
    /,
    order_no: str,
    lines: tuple[str, ...],
    contact: str | None,
    phone: str | None,
    actor: str,
    source: str,
    reason: str,
    **address_options: str | None,
) -> None:
    """Change lines, address or contact of an unconfirmed order."""
    names = {"receiver_phone": "phone", "address": "detail"}
    address = {names.get(k, k): v for k, v in address_options.items() if v is not None}
    if not (lines or contact or phone or address):
        raise click.UsageError("nothing to modify: give --line, an address or contact")
    view = cli.ledger().modify(
        order_no,
        lines=(
            order_lines([parse_line_option(t) for t in lines], cli.products())
            if lines
            else None
        ),
        address=address or None,
        contact=contact,
        phone=phone,
        actor=actor,
        source=Source(source),
        reason=reason,
    )
    _print_result(
        cli, view, "modified" if view["changed"] else "unchanged (same values)"
    )


@order_group.command("confirm")
@click.argument("order_no")
@click.option(
    "--override-stock",
    "override_stock",
    default="",
    metavar="REASON",
    help="Confirm even if WDT cannot fill it now (or cannot be asked); recorded.",
)
@write_options()
@pass_cli
def confirm(
    cli: CliContext,
    order_no: str,
    override_stock: str,
    actor: str,
    source: str,
    reason: str,
) -> None:
    """Confirm an unconfirmed order (back office). Where WDT is configured,
    it is asked for stock first: an order it cannot fill is refused (exit 3,
    the short lines named) unless --override-stock says why."""
    view = cli.ledger().confirm(
        order_no,
        actor=actor,
        source=Source(source),
        reason=reason,
        stock=cli.stock_levels(),
        override_stock=override_stock,
    )
    _print_result(cli, view, "confirmed")


@order_group.command("pay")
@click.argument("order_no")
@click.option(
    "--amount",
    required=True,
    help="Amount received: any positive amount (part, full or more than owed).",
)
@click.option("--reference", default="", help="Payment reference (transaction id).")
@write_options()
@pass_cli
def pay(
    cli: CliContext,
    order_no: str,
    amount: str,
    reference: str,
    actor: str,
    source: str,
    reason: str,
) -> None:
    """Record money that arrived, whatever the order's state (a fact, never
    refused): the payment status and any refund due follow from the amounts."""
    view = cli.ledger().confirm_payment(
        order_no,
        parse_money(amount, "--amount"),
        reference=reference,
        actor=actor,
        source=Source(source),
        reason=reason,
    )
    _print_result(cli, view, "payment confirmed")


@order_group.command("ship")
@click.argument("order_no")
@click.option("--carrier", required=True, help="Carrier (e.g. SF, ZTO).")
@click.option("--tracking", required=True, help="Tracking number.")
@click.option("--eta", default="", help="Estimated arrival date, YYYY-MM-DD.")
@write_options()
@pass_cli
def ship(
    cli: CliContext,
    order_no: str,
    carrier: str,
    tracking: str,
    eta: str,
    actor: str,
    source: str,
    reason: str,
) -> None:
    """Ship a confirmed (and, if prepaid, paid) order."""
    delivery = Delivery.from_data(
        {"carrier": carrier, "tracking_no": tracking, "estimated_arrival": eta}
    )
    view = cli.ledger().ship(
        order_no, delivery, actor=actor, source=Source(source), reason=reason
    )
    _print_result(cli, view, "shipped")


@order_group.command("receive")
@click.argument("order_no")
@write_options()
@pass_cli
def receive(
    cli: CliContext, order_no: str, actor: str, source: str, reason: str
) -> None:
    """Confirm receipt of a shipped order."""
    view = cli.ledger().confirm_receipt(
        order_no, actor=actor, source=Source(source), reason=reason
    )
    _print_result(cli, view, "received")


@order_group.command("refuse")
@click.argument("order_no")
@click.option(
    "--accept",
    multiple=True,
    help="SKU:QTY the customer kept (or #LINE:QTY), repeatable; none: all refused.",
)
@write_options(reason_required=True)
@pass_cli
def refuse(
    cli: CliContext,
    order_no: str,
    accept: tuple[str, ...],
    actor: str,
    source: str,
    reason: str,
) -> None:
    """拒收: the carrier reports a shipped parcel refused at the door, or
    accepted in part. The refused goods go back to the warehouse (WDT is told
    of the return); nothing kept voids the order, otherwise it is received and
    worth only the kept lines (cash on delivery then completes on payment)."""
    view = cli.ledger().refuse(
        order_no,
        accept=parse_items(accept, "--accept") or None,
        actor=actor,
        source=Source(source),
        reason=reason,
    )
    _print_result(cli, view, "refused at the door")


@order_group.command("cancel")
@click.argument("order_no")
@write_options(reason_required=True)
@pass_cli
def cancel(
    cli: CliContext, order_no: str, actor: str, source: str, reason: str
) -> None:
    """Void an order before it ships (records a refund due if it was paid)."""
    view = cli.ledger().cancel(
        order_no, reason=reason, actor=actor, source=Source(source)
    )
    _print_result(cli, view, "cancelled")


@order_group.command("auto-receive")
@click.option(
    "--after-days",
    type=click.FloatRange(min=0, min_open=True, max=365),
    default=10.0,
    show_default=True,
    help="Receive orders shipped at least this many days ago.",
)
@json_option
@pass_cli
def auto_receive(cli: CliContext, after_days: float) -> None:
    """自动确认收货: confirm the receipt of prepaid orders shipped N days ago
    that the customer never confirmed, so they complete and reach U8. Safe to
    run from cron: an order already received is left alone."""
    ledger, store = cli.ledger(), cli.projections()
    store.catch_up_all()
    now, after = datetime.now(UTC), timedelta(days=after_days)
    received = [
        no
        for no in shipped_not_received(store)
        if ledger.auto_receive(no, after=after, now=now)
    ]
    result = {"after_days": after_days, "received": received, "count": len(received)}
    cli.after_write()
    cli.emit(
        result,
        lambda r: "\n".join(
            [*(f"{no} received (no receipt {after_days:g} days after shipping)"
               for no in r["received"]),
             f"{r['count']} order(s) received automatically"]
        ),
    )  # fmt: skip
