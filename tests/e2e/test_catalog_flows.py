"""The catalog, stock and the CRM feed against the simulators, on both
databases (issue 19): products reach WDT and U8 once and their changes
follow; an order from SKUs carries brand, category and type; a short order
is refused and then confirmed with a recorded override; the CRM receives
every order event once across an outage of it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC
from decimal import Decimal

import pytest
from click.testing import CliRunner, Result

from orderledger.application import OrderLedger
from orderledger.application.catalog import Catalog
from orderledger.application.who import Who
from orderledger.bootstrap import build_catalog, build_relay
from orderledger.cli import cli
from orderledger.cli.errors import EXIT_REFUSED
from orderledger.config import CrmSettings, Settings, U8Settings, WdtSettings
from orderledger.domain.catalog import ProductDraft, parse_changes
from orderledger.domain.draft import OrderDraft
from orderledger.domain.values import Delivery, Source
from orderledger.outbox.catalog_messages import U8_INVENTORY, WDT_GOODS
from orderledger.sim.server import SimServer
from tests.e2e.helpers import WHO, drain
from tests.factories import order_data
from tests.simfixtures import FAST, control

PRODUCT = Who("catalog-e2e", Source.BACK_OFFICE)


@pytest.fixture
def catalog(settings: Settings) -> Iterator[Catalog]:
    built = build_catalog(settings)
    yield built
    built.close()


def _add_tea(catalog: Catalog) -> None:
    catalog.add_product(
        ProductDraft.from_data(
            {
                "sku": "TEA-1",
                "name": "西湖龙井",
                "price": "59.00",
                "spec": "TEA-1-250",
                "brand": "狮峰",
                "category": "茶叶",
                "type": "实物",
            }
        ),
        PRODUCT,
    )


def test_a_product_reaches_wdt_and_u8_once_and_its_changes_follow(
    ledger: OrderLedger,
    catalog: Catalog,
    wdt_settings: WdtSettings,
    u8_settings: U8Settings,
    wdt_server: SimServer,
    u8_server: SimServer,
) -> None:
    relays = [
        build_relay(ledger, d, wdt=wdt_settings, u8=u8_settings, catalog=catalog,
                    policy=FAST)
        for d in (WDT_GOODS, U8_INVENTORY)
    ]  # fmt: skip
    _add_tea(catalog)
    drain(relays)
    drain(relays)  # again: nothing new goes out
    goods = control(wdt_server, "/_sim/state?part=goods")
    inventory = control(u8_server, "/_sim/state?part=inventory")
    assert [(g["goods_no"], g["pushes"]) for g in goods] == [("TEA-1", 1)]
    assert goods[0]["brand_name"] == "狮峰" and goods[0]["class_name"] == "茶叶"
    spec = goods[0]["spec_list"][0]
    assert (spec["spec_no"], spec["retail_price"]) == ("TEA-1-250", "59.00")
    assert [(i["code"], i["changes"], i["invccode"]) for i in inventory] == [
        ("TEA-1", 0, "茶叶")
    ]

    catalog.update_product("TEA-1", parse_changes({"price": "65.00"}), PRODUCT)
    catalog.update_product("TEA-1", parse_changes({"type": "赠品"}), PRODUCT)
    catalog.rename_code("brand", "狮峰", "狮峰山", PRODUCT)
    drain(relays)
    renamed = control(wdt_server, "/_sim/state?part=goods")[0]
    catalog.rename_code("category", "茶叶", "名茶", PRODUCT)
    catalog.retire_product("TEA-1", PRODUCT)
    drain(relays)

    goods = control(wdt_server, "/_sim/state?part=goods")
    inventory = control(u8_server, "/_sim/state?part=inventory")
    # WDT: the price, the two renames and the retirement, not the type (WDT
    # does not take it); U8: the price, the category and the retirement
    assert (renamed["pushes"], renamed["brand_name"]) == (3, "狮峰山")
    assert goods[0]["pushes"] == 5 and goods[0]["deleted"] == 1
    assert (goods[0]["class_name"], goods[0]["brand_name"]) == ("名茶", "狮峰山")
    assert goods[0]["spec_list"][0]["retail_price"] == "65.00"
    assert inventory[0]["changes"] == 3 and inventory[0]["enabled"] is False
    assert (inventory[0]["refsaleprice"], inventory[0]["invcname"]) == ("65.00", "名茶")
    assert inventory[0]["invccode"] == "茶叶"  # the code stays
    for r in relays:
        r.close()


def test_an_order_from_skus_carries_brand_category_and_type(
    ledger: OrderLedger, catalog: Catalog
) -> None:
    _add_tea(catalog)
    data = order_data(lines=[{"sku": "TEA-1", "quantity": 3}], order_no="CAT-1")
    draft = OrderDraft.from_data(data, UTC, catalog.lookup(allow_unknown=False))

    shown = ledger.create(draft, **WHO)

    line = shown["lines"][0]
    assert (line["brand"], line["category"], line["type"]) == ("狮峰", "茶叶", "实物")
    assert (line["unit_price"], line["spec"], shown["total"]) == (
        "59.00", "TEA-1-250", "187.00",
    )  # fmt: skip


def test_a_short_order_is_refused_then_confirmed_with_a_recorded_override(
    db_url: str, erp_env: dict[str, str], wdt_server: SimServer
) -> None:
    env = {**erp_env, "ORDERLEDGER_STOCK_CHECK": "wdt",
           "ORDERLEDGER_UNKNOWN_SKUS": "refuse"}  # fmt: skip

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=env)

    add = ("product", "add", "--sku", "TEA-1", "--name", "龙井", "--price", "59")
    assert run(*add).exit_code == 0
    created = run("order", "create", "--order-no", "ST-1", "--customer", "张三",
                  "--phone", "13800138000", "--address", "路 1 号",
                  "--payment", "cod", "--line", "TEA-1:5")  # fmt: skip
    assert created.exit_code == 0, created.output
    control(wdt_server, "/_sim/advance", {"step": "stock", "spec_no": "TEA-1",
                                          "available": 2})  # fmt: skip

    refused = run("order", "confirm", "ST-1")
    overridden = run("--json", "order", "confirm", "ST-1", "--override-stock",
                     "到货在途,客户同意等")  # fmt: skip
    history = run("--json", "order", "history", "ST-1")

    assert refused.exit_code == EXIT_REFUSED
    assert "line 1 TEA-1 wants 5, WDT has 2" in refused.stderr
    assert overridden.exit_code == 0, overridden.output
    assert json.loads(overridden.stdout)["status"] == "已确认"
    events = json.loads(history.stdout)
    override = next(e for e in events if e["type"] == "StockShortageOverridden")
    assert override["reason"] == "到货在途,客户同意等"
    assert override["details"]["shortages"][0]["available"] == 2
    assert [e["type"] for e in events][-2:] == ["StockShortageOverridden", "Confirmed"]


def test_the_crm_receives_every_order_event_once_across_an_outage(
    ledger: OrderLedger, crm_settings: CrmSettings, crm_server: SimServer
) -> None:
    relay = build_relay(ledger, "crm", wdt=None, u8=None, crm=crm_settings,
                        policy=FAST)  # fmt: skip
    ledger.create(OrderDraft.from_data(order_data(order_no="CRM-1"), UTC), **WHO)
    drain([relay])
    control(crm_server, "/_sim/fault", {"mode": "down"})
    ledger.confirm("CRM-1", **WHO)
    ledger.confirm_payment("CRM-1", Decimal("128.00"), **WHO)
    relay.run(threading.Event(), once=True)  # fails: the CRM is down
    control(crm_server, "/_sim/fault", {"mode": "ok"})
    ledger.ship("CRM-1", Delivery("SF", "SF100"), **WHO)
    drain([relay])

    state = control(crm_server, "/_sim/state")
    ids = [e["event_id"] for e in state["events"]]
    assert ids == ["CRM-1-v1", "CRM-1-v2", "CRM-1-v3", "CRM-1-v4"]
    assert (state["duplicates"], state["refused"]) == (0, 0)
    created = state["events"][0]
    # the customer as given, opened from the vault when sent
    assert created["customer"] == {"name": "张三", "phone": "13800138000"}
    assert created["type"] == "Created" and created["order"]["total"] == "128.00"
    relay.close()
