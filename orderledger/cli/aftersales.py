"""`orderledger return …`: after-sales cases (退换货) and refunds."""

from __future__ import annotations

from typing import Any

import click

from orderledger.cli.context import CliContext, json_option, pass_cli, write_options
from orderledger.cli.inputs import parse_items
from orderledger.domain.aftersales import CaseKind
from orderledger.domain.values import Delivery, Source, parse_money


@click.group("return")
def return_group() -> None:
    """After-sales: returns, exchanges and refunds (申请, 审核, 验收, 退款)."""


def _done(cli: CliContext, view: dict[str, Any], what: str) -> None:
    cli.after_write()
    cli.emit(view, lambda v: f"{v['order_no']} {what}\n" + format_cases(v))


@return_group.command("apply")
@click.argument("order_no")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in CaseKind]),
    default=CaseKind.RETURN.value,
    show_default=True,
)
@click.option(
    "--line", "lines", multiple=True, help="SKU:QTY to send back, repeatable."
)
@write_options(reason_required=True)
@pass_cli
def apply(
    cli: CliContext,
    order_no: str,
    kind: str,
    lines: tuple[str, ...],
    actor: str,
    source: str,
    reason: str,
) -> None:
    """The customer applies to return or exchange delivered goods."""
    view = cli.ledger().apply_after_sales(
        order_no,
        kind=CaseKind(kind),
        items=parse_items(lines, "--line"),
        actor=actor,
        source=Source(source),
        reason=reason,
    )
    _done(cli, view, f"after-sales case {view['case_id']} opened")


@return_group.command("review")
@click.argument("order_no")
@click.argument("case_id")
@click.option("--approve/--reject", required=True, help="Customer service's decision.")
@write_options()
@pass_cli
def review(
    cli: CliContext,
    order_no: str,
    case_id: str,
    approve: bool,
    actor: str,
    source: str,
    reason: str,
) -> None:
    """Customer service approves or rejects the application (a rejection needs
    --reason)."""
    view = cli.ledger().review_after_sales(
        order_no, case_id, approve=approve, actor=actor, source=Source(source),
        reason=reason,
    )  # fmt: skip
    _done(cli, view, f"case {case_id} {'approved' if approve else 'rejected'}")


@return_group.command("receive")
@click.argument("order_no")
@click.argument("case_id")
@click.option("--accept", multiple=True, help="SKU:QTY that passed inspection.")
@click.option("--reject", multiple=True, help="SKU:QTY that failed inspection.")
@write_options()
@pass_cli
def receive(
    cli: CliContext,
    order_no: str,
    case_id: str,
    accept: tuple[str, ...],
    reject: tuple[str, ...],
    actor: str,
    source: str,
    reason: str,
) -> None:
    """The warehouse received the goods back and inspected every item."""
    view = cli.ledger().receive_after_sales(
        order_no,
        case_id,
        accepted=parse_items(accept, "--accept"),
        rejected=parse_items(reject, "--reject"),
        actor=actor,
        source=Source(source),
        reason=reason,
    )
    _done(cli, view, f"case {case_id} received and inspected")


@return_group.command("refund")
@click.argument("order_no")
@click.argument("case_id", required=False)
@click.option("--amount", required=True, help="Amount refunded now (partial is fine).")
@click.option("--reference", default="", help="Refund transaction reference.")
@click.option(
    "--override",
    is_flag=True,
    help="Refund more than the case owes, on purpose (needs --reason; recorded).",
)
@write_options()
@pass_cli
def refund(
    cli: CliContext,
    order_no: str,
    case_id: str | None,
    amount: str,
    reference: str,
    override: bool,
    actor: str,
    source: str,
    reason: str,
) -> None:
    """Finance refunds a received return case, or (without CASE) what a
    cancellation after payment owes."""
    view = cli.ledger().refund(
        order_no,
        parse_money(amount, "--amount"),
        case_id=case_id,
        reference=reference,
        override=override,
        actor=actor,
        source=Source(source),
        reason=reason,
    )
    _done(cli, view, f"refund {view['refund_id']} of {amount} recorded")


@return_group.command("ship")
@click.argument("order_no")
@click.argument("case_id")
@click.option("--carrier", required=True, help="Carrier (e.g. SF, ZTO).")
@click.option("--tracking", required=True, help="Tracking number.")
@write_options()
@pass_cli
def ship(
    cli: CliContext,
    order_no: str,
    case_id: str,
    carrier: str,
    tracking: str,
    actor: str,
    source: str,
    reason: str,
) -> None:
    """The replacement goods of an exchange case are shipped."""
    delivery = Delivery.from_data({"carrier": carrier, "tracking_no": tracking})
    view = cli.ledger().ship_exchange(
        order_no, case_id, delivery, actor=actor, source=Source(source),
        reason=reason,
    )  # fmt: skip
    _done(cli, view, f"case {case_id}: replacement shipped")


@return_group.command("show")
@click.argument("order_no")
@json_option
@pass_cli
def show(cli: CliContext, order_no: str) -> None:
    """An order's after-sales cases and refunds, from the log."""
    order = cli.ledger().get(order_no)
    data = {
        "order_no": order["order_no"],
        "status": order["status"],
        "paid_amount": order["paid_amount"],
        "refunded_amount": order["refunded_amount"],
        "refund_due": order["refund_due"],
        "after_sales": order["after_sales"],
    }
    cli.emit(data, format_cases)


def format_cases(data: dict[str, Any]) -> str:
    out = [
        f"{data['order_no']} {data['status']}  paid {data['paid_amount']}  "
        f"refunded {data['refunded_amount']}"
    ]
    if not data["after_sales"]:
        out.append("  no after-sales cases")
    for case in data["after_sales"]:
        items = ", ".join(f"{i['sku']} x{i['quantity']}" for i in case["lines"])
        out.append(
            f"  {case['case_id']} {case['kind_label']} {case['state_label']} "
            f"({case['state']}): {items}; reason: {case['reason']}"
        )
        if case["accepted"] or case["rejected"]:
            good = ", ".join(f"{i['sku']} x{i['quantity']}" for i in case["accepted"])
            bad = ", ".join(f"{i['sku']} x{i['quantity']}" for i in case["rejected"])
            out.append(
                f"      inspected: accepted {good or '-'}; rejected {bad or '-'}"
            )
        if case["kind"] == CaseKind.RETURN.value and case["accepted"]:
            out.append(
                f"      refund owed {case['refund_owed']}, refunded {case['refunded']}"
            )
    return "\n".join(out)
