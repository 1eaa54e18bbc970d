"""The catalog and stock over HTTP (docs/catalog.md, docs/api.md): orders
from SKUs, an unknown SKU refused with nothing appended, a short order 409
`stock_short` with its short lines until `override_stock`, statistics by
type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orderledger.sim.server import SimServer
from tests.api.conftest import Api, serving
from tests.cli.test_cli import events_in, run
from tests.simfixtures import control

ORDER = {"customer": "张三", "phone": "13800138000", "address": "路 1 号",
         "payment": "cod"}  # fmt: skip


@pytest.fixture
def shop(db_url: str, erp_env: dict[str, str]) -> Iterator[Api]:
    """A server that checks stock with WDT and refuses unknown SKUs."""
    env = {**erp_env, "ORDERLEDGER_STOCK_CHECK": "wdt",
           "ORDERLEDGER_UNKNOWN_SKUS": "refuse"}  # fmt: skip
    added = run(db_url, "product", "add", "--sku", "TEA-1", "--name", "龙井",
                "--price", "59", "--brand", "狮峰", "--type", "实物")  # fmt: skip
    assert added.exit_code == 0, added.output
    with serving(db_url, ("website", "back_office"), env) as running:
        yield running


def test_orders_from_skus_and_a_short_order_confirmed_only_with_a_reason(
    shop: Api, wdt_server: SimServer
) -> None:
    web, office = shop.client("website"), shop.client("back_office")
    control(wdt_server, "/_sim/advance", {"step": "stock", "spec_no": "TEA-1",
                                          "available": 1})  # fmt: skip
    tea = [{"sku": "TEA-1", "quantity": 3}]
    created = web.post("/orders", json={**ORDER, "order_no": "H-1", "lines": tea})
    before = events_in(shop.db)
    nope = [{"sku": "NOPE", "quantity": 1}]
    unknown = web.post("/orders", json={**ORDER, "order_no": "H-2", "lines": nope})
    short = office.post("/orders/H-1/confirm", json={})
    after_refusals = events_in(shop.db)
    overridden = office.post(
        "/orders/H-1/confirm", json={"override_stock": "客户同意等到货"}
    )
    by_type = office.get("/stats", params={"by": "type", "brand": "狮峰"})

    assert created.status_code == 201, created.text
    line = created.json()["lines"][0]
    assert (line["brand"], line["type"], line["unit_price"]) == (
        "狮峰",
        "实物",
        "59.00",
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "invalid_input"
    assert "not in the catalog" in unknown.json()["error"]["message"]
    assert short.status_code == 409, short.text
    error = short.json()["error"]
    assert error["code"] == "stock_short"
    assert error["short_lines"] == [
        {"line": 1, "sku": "TEA-1", "spec_no": "TEA-1", "wanted": 3, "available": 1}
    ]
    assert after_refusals == before  # nothing appended by either refusal
    assert overridden.status_code == 200 and overridden.json()["status"] == "已确认"
    assert events_in(shop.db) == before + 2  # the override, then the confirmation
    assert [(r["type"], r["quantity"]) for r in by_type.json()] == [("实物", 3)]
