"""`orderledger demo`: the main job. A handful of orders of each payment method
through their whole lifecycle, refused steps included, then every order and
its history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from orderledger.application import OrderLedger
from orderledger.cli.context import CliContext, pass_cli
from orderledger.cli.output import (
    format_history,
    format_order,
    format_order_list,
    format_stats,
)
from orderledger.config import redact_url
from orderledger.domain.draft import OrderDraft
from orderledger.domain.errors import OrderLedgerError
from orderledger.domain.values import Delivery, Source
from orderledger.projections.queries import OrderFilter, list_orders, statistics

WEB, OFFICE = Source.WEBSITE, Source.BACK_OFFICE

_CUSTOMERS = [
    ("张三", "13800138000", "广东省", "深圳市", "南山区", "科技园南路 88 号"),
    ("李四", "13912345678", "浙江省", "杭州市", "西湖区", "文三路 200 号"),
    ("王五", "13698765432", "北京市", "北京市", "朝阳区", "建国路 1 号"),
]
_GOODS = [
    {
        "sku": "TEA-001",
        "name": "西湖龙井 250g",
        "unit_price": "168.00",
        "brand": "西湖",
        "category": "茶叶",
    },
    {
        "sku": "CUP-010",
        "name": "青瓷茶杯",
        "unit_price": "39.90",
        "brand": "龙泉",
        "category": "茶具",
        "spec": "白色",
    },
    {
        "sku": "POT-002",
        "name": "紫砂壶",
        "unit_price": "420.00",
        "brand": "宜兴",
        "category": "茶具",
        "discount": "20.00",
    },
]


def _draft(
    cli: CliContext, customer: int, payment: str, goods: list[tuple[int, int]]
) -> OrderDraft:
    name, phone, province, city, district, detail = _CUSTOMERS[customer]
    return OrderDraft.from_data(
        {
            "customer": {"name": name, "phone": phone},
            "payment": payment,
            "address": {
                "receiver": name,
                "phone": phone,
                "province": province,
                "city": city,
                "district": district,
                "detail": detail,
            },
            "shipping_fee": "10.00",
            "lines": [{**_GOODS[g], "quantity": qty} for g, qty in goods],
        },
        cli.settings.tz,
    )


class _Script:
    """Runs steps against the ledger and narrates each one."""

    def __init__(self, ledger: OrderLedger) -> None:
        self.ledger = ledger
        self.orders: list[str] = []

    def create(self, draft: OrderDraft, title: str) -> str:
        view = self.ledger.create(draft, actor="shop-web", source=WEB)
        self.orders.append(view["order_no"])
        click.echo(
            f"\n== {title}: {view['order_no']} ({view['payment_label']}, "
            f"total {view['total']})"
        )
        return str(view["order_no"])

    def step(self, what: str, call: Any, *args: Any, **kwargs: Any) -> None:
        view = call(*args, **kwargs)
        click.echo(f"   {what:<28} -> {view['status']}")

    def refused(self, what: str, call: Any, *args: Any, **kwargs: Any) -> None:
        try:
            call(*args, **kwargs)
        except OrderLedgerError as error:
            click.echo(f"   {what:<28} -> REFUSED: {error}")
        else:  # pragma: no cover - the demo itself would be wrong
            raise click.ClickException(f"demo step {what!r} should have been refused")


@click.command("demo")
@pass_cli
def demo(cli: CliContext) -> None:
    """Run the main job: orders of every payment method through their lifecycle."""
    ledger = cli.ledger()
    s = _Script(ledger)
    office = {"actor": "ops-amy", "source": OFFICE}

    no = s.create(_draft(cli, 0, "online", [(0, 1), (1, 2)]), "在线支付, happy path")
    s.step("confirm", ledger.confirm, no, **office)
    s.refused(
        "ship before payment", ledger.ship, no, Delivery("SF", "SF100001"), **office
    )
    s.refused(
        "pay the wrong amount", ledger.confirm_payment, no, Decimal("1.00"), **office
    )
    total = Decimal(ledger.get(no)["total"])
    s.step(
        "confirm payment",
        ledger.confirm_payment,
        no,
        total,
        reference="ALI-778899",
        **office,
    )
    s.step("ship", ledger.ship, no, Delivery("SF", "SF100001", "2026-12-01"), **office)
    s.step(
        "confirm receipt (customer)",
        ledger.confirm_receipt,
        no,
        actor="张三",
        source=WEB,
    )

    no = s.create(
        _draft(cli, 1, "postal", [(2, 1)]),
        "邮局汇款, modified then cancelled after payment",
    )
    s.step(
        "modify address",
        ledger.modify,
        no,
        address={"detail": "文三路 201 号"},
        reason="customer moved",
        **office,
    )
    s.step("confirm", ledger.confirm, no, **office)
    s.refused(
        "modify after confirmation", ledger.modify, no, contact="李小四", **office
    )
    total = Decimal(ledger.get(no)["total"])
    s.step(
        "confirm payment",
        ledger.confirm_payment,
        no,
        total,
        reference="POST-5521",
        **office,
    )
    s.step(
        "cancel (refund due)",
        ledger.cancel,
        no,
        reason="customer changed mind",
        **office,
    )

    no = s.create(_draft(cli, 2, "cod", [(0, 2)]), "货到付款, happy path")
    s.step("confirm", ledger.confirm, no, **office)
    s.refused(
        "confirm payment before receipt",
        ledger.confirm_payment,
        no,
        Decimal(ledger.get(no)["total"]),
        **office,
    )
    s.step("ship", ledger.ship, no, Delivery("ZTO", "ZTO7700123"), **office)
    s.refused("cancel after shipping", ledger.cancel, no, reason="too late", **office)
    s.step("confirm receipt", ledger.confirm_receipt, no, **office)
    total = Decimal(ledger.get(no)["total"])
    s.step("confirm payment (cash)", ledger.confirm_payment, no, total, **office)

    draft = _draft(cli, 0, "cod", [(1, 4)])
    no = s.create(draft, "货到付款, cancelled before confirmation")
    retry = ledger.create(
        OrderDraft(**{**draft.__dict__, "order_no": no}), actor="shop-web", source=WEB
    )
    what = "website retries the create"
    click.echo(f"   {what:<28} -> same order, created={retry['created']}")
    s.step(
        "cancel",
        ledger.cancel,
        no,
        reason="duplicate order by customer",
        actor="张三",
        source=WEB,
    )

    cli.projections().catch_up_all()
    click.echo("\n== The orders and their histories")
    for order_no in s.orders:
        click.echo("\n" + format_order(ledger.get(order_no)))
        click.echo(format_history(ledger.history(order_no)))
    store = cli.projections()
    click.echo("\n== The views: newest orders (order list) and stats --by status")
    newest = list_orders(store, OrderFilter(limit=len(s.orders)), cli.settings.tz)
    click.echo(format_order_list(newest))
    click.echo(format_stats("status", statistics(store, "status")))
    click.echo(
        f"\nEvents in the log: {ledger.log_head()}   database: "
        f"{redact_url(cli.settings.db_url)}"
    )
    click.echo("Explore: orderledger order show <NO> / order history <NO> --json")
