"""Goods coming back keep WDT and U8 in step (issue 15, items 6 and 7): a
parcel refused at the door, a return approved, an exchange's replacement.
Asserted on what the simulators hold, over real HTTP on loopback, on SQLite
and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orderledger.application import OrderLedger
from orderledger.config import U8Settings, WdtSettings
from orderledger.domain.aftersales import CaseKind
from orderledger.domain.errors import RuleViolation
from orderledger.domain.values import Delivery
from orderledger.projections.statistics import statistics
from orderledger.projections.store import ProjectionStore
from orderledger.sim.server import SimServer
from tests.e2e.helpers import WHO, drain, relays
from tests.e2e.test_aftersales import TEA, items, return_case, shipped_by_the_erp
from tests.e2e.test_reconcile import advance, poll, reconcile
from tests.factories import draft
from tests.simfixtures import control, trades


def u8_docs(u8_server: SimServer, order_no: str) -> dict[str, Any]:
    return {
        d["resource"]: d["body"]
        for d in control(u8_server, "/_sim/state")
        if d["biz_id"].startswith(f"{order_no}-")
    }


def in_sync(ledger: OrderLedger, store: ProjectionStore, order_no: str) -> bool:
    return all(x.order_no != order_no for x in reconcile(ledger, store).orders)


def test_a_cod_parcel_refused_at_the_door_is_voided_and_wdt_expects_the_goods(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    u8_settings: U8Settings,
    wdt_server: SimServer,
    u8_server: SimServer,
) -> None:
    """The seed knows only receipt (订单流程文档 V1.0, 5. 确认收货: "如果支付方式为
    '货到付款',则订单状态修改为'已收货'"); a parcel refused at the door is never
    received nor paid, so it ends 已作废, and WDT, which has shipped it, keeps
    the shipment and is told the goods come back (VOCABULARY.md §1)."""
    shipped_by_the_erp(ledger, store, wdt_settings, wdt_server, "RJ-1", "cod")

    view = ledger.refuse("RJ-1", reason="拒收: 不要了", **WHO)
    drain(relays(ledger, wdt_settings, u8_settings))
    poll(ledger, store, wdt_settings)

    assert (view["status"], view["payment_status"]) == ("已作废", "unpaid")
    trade = trades(wdt_server)["RJ-1"]
    assert trade["system_status"] == 95  # WDT keeps its shipment: no close
    assert not {80, 90} & set(trade["platform_history"])
    (notice,) = trade["refunds"]
    assert (notice["refund_no"], notice["type"], notice["status"]) == ("RJ-1-RJ", 2, 3)
    assert notice["order_list"] == [
        {"oid": "RJ-1-1", "num": 2},
        {"oid": "RJ-1-2", "num": 1},
    ]
    assert notice["refund_amount"] == "0.00"
    assert u8_docs(u8_server, "RJ-1") == {}  # nothing was sold
    assert in_sync(ledger, store, "RJ-1")


def test_a_cod_parcel_accepted_in_part_reaches_u8_for_what_was_kept(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    u8_settings: U8Settings,
    wdt_server: SimServer,
    u8_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="RJ-2"), **WHO)
    ledger.confirm("RJ-2", **WHO)
    ledger.ship("RJ-2", Delivery("SF", "SF-RJ2"), **WHO)  # the website shipped

    kept = ledger.refuse("RJ-2", accept=items(TEA, 1), reason="一盒压坏", **WHO)
    ledger.confirm_payment("RJ-2", Decimal(kept["total"]), **WHO)
    drain(relays(ledger, wdt_settings, u8_settings))
    poll(ledger, store, wdt_settings)
    store.catch_up_all()

    assert kept["total"] == "60.00"  # one tea (50.00) and the shipping fee
    assert ledger.get("RJ-2")["status"] == "已完成"
    trade = trades(wdt_server)["RJ-2"]
    assert trade["platform_history"][-3:] == [50, 60, 70]
    (notice,) = trade["refunds"]
    assert notice["order_list"] == [
        {"oid": "RJ-2-1", "num": 1},
        {"oid": "RJ-2-2", "num": 1},
    ]
    docs = u8_docs(u8_server, "RJ-2")
    assert docs["saleorder"]["money"] == "60.00"
    assert [(e["inventorycode"], e["quantity"], e["money"]) for e in
            docs["saleorder"]["entry"]] == [(TEA, 1, "50.00")]  # fmt: skip
    assert docs["consignment"]["entry"] == docs["saleorder"]["entry"]
    assert docs["accept"]["amount"] == "60.00"
    (tea,) = statistics(store, "product")
    assert (tea["product"], tea["quantity"], tea["amount"]) == (TEA, 1, "50.00")
    assert in_sync(ledger, store, "RJ-2")


def test_a_prepaid_parcel_refused_in_part_completes_and_owes_back_the_rest(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    u8_settings: U8Settings,
    wdt_server: SimServer,
    u8_server: SimServer,
) -> None:
    shipped_by_the_erp(ledger, store, wdt_settings, wdt_server, "RJ-3", "online")

    kept = ledger.refuse("RJ-3", accept=items(TEA, 2), reason="杯子不要", **WHO)
    with pytest.raises(RuleViolation, match="owes back"):
        ledger.refund("RJ-3", Decimal("18.01"), **WHO)
    ledger.refund("RJ-3", Decimal("18.00"), **WHO)
    drain(relays(ledger, wdt_settings, u8_settings))

    assert (kept["status"], kept["total"], kept["refund_due"]) == (
        "已完成",
        "110.00",
        "18.00",
    )
    assert ledger.get("RJ-3")["refunded_amount"] == "18.00"
    with pytest.raises(RuleViolation, match="owes back"):  # settled
        ledger.refund("RJ-3", Decimal("0.01"), **WHO)
    assert u8_docs(u8_server, "RJ-3")["saleorder"]["money"] == "110.00"
    assert trades(wdt_server)["RJ-3"]["platform_history"][-1] == 70


def test_an_approved_return_tells_the_warehouse_to_expect_the_goods(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    """The seed, 订单退换货流程 3·3: "客服人员通知仓库进行商品收回" (customer
    service tells the warehouse to take the goods back) once it approves."""
    shipped_by_the_erp(ledger, store, wdt_settings, wdt_server, "RA-1", "online")
    case = ledger.apply_after_sales(
        "RA-1", kind=CaseKind.RETURN, items=items(TEA, 1), reason="碎了", **WHO
    )["case_id"]
    drain(relays(ledger, wdt_settings, None))
    assert trades(wdt_server)["RA-1"]["refunds"] == []  # applied: nothing yet

    ledger.review_after_sales("RA-1", case, approve=True, **WHO)
    drain(relays(ledger, wdt_settings, None))

    (notice,) = trades(wdt_server)["RA-1"]["refunds"]
    assert (notice["refund_no"], notice["type"], notice["status"]) == ("RA-1-AS1", 2, 3)
    assert notice["order_list"] == [{"oid": "RA-1-1", "num": 1}]
    assert notice["reason"] == "碎了"


def test_a_rejected_application_tells_wdt_nothing(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    shipped_by_the_erp(ledger, store, wdt_settings, wdt_server, "RA-2", "online")
    case = ledger.apply_after_sales(
        "RA-2", kind=CaseKind.RETURN, items=items(TEA, 1), reason="不想要", **WHO
    )["case_id"]
    ledger.review_after_sales("RA-2", case, approve=False, reason="用过了", **WHO)
    drain(relays(ledger, wdt_settings, None))

    assert trades(wdt_server)["RA-2"]["refunds"] == []


def test_an_exchange_replacement_is_its_own_trade_shipped_and_observed_back(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    shipped_by_the_erp(ledger, store, wdt_settings, wdt_server, "EX-1", "online")
    return_case(ledger, "EX-1", accept=1, kind=CaseKind.EXCHANGE)
    drain(relays(ledger, wdt_settings, None))

    wdt = trades(wdt_server)
    (notice,) = wdt["EX-1"]["refunds"]
    assert (notice["refund_no"], notice["type"], notice["status"]) == ("EX-1-AS1", 3, 3)
    replacement = wdt["EX-1-EX1"]
    assert (replacement["system_status"], replacement["platform_status"]) == (30, 30)
    assert replacement["receiver_name"] == "张三"

    advance(wdt_server, "EX-1-EX1", "review")
    advance(wdt_server, "EX-1-EX1", "ship", carrier="ZTO", tracking="ZTO-EX1")
    report = poll(ledger, store, wdt_settings)
    again = poll(ledger, store, wdt_settings)

    (shipped,) = ledger.get("EX-1")["after_sales"]
    assert shipped["state"] == "closed"
    assert shipped["delivery"]["tracking_no"] == "ZTO-EX1"
    assert "EX-1-EX1" not in report.unknown and report.recorded >= 1
    assert again.recorded == 0  # observed once
    drain(relays(ledger, wdt_settings, None))
    assert trades(wdt_server)["EX-1-EX1"]["pushes"] == 1  # nothing pushed back


def test_a_replacement_the_website_ships_reaches_wdt_as_shipped_outside(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    shipped_by_the_erp(ledger, store, wdt_settings, wdt_server, "EX-2", "online")
    case = return_case(ledger, "EX-2", accept=2, kind=CaseKind.EXCHANGE)
    ledger.ship_exchange("EX-2", case, Delivery("SF", "SF-EX2"), **WHO)
    drain(relays(ledger, wdt_settings, None))

    replacement = trades(wdt_server)["EX-2-EX1"]
    assert replacement["platform_history"] == [30, 50]
    assert replacement["system_status"] == 95 and replacement["shipped_outside"]
    assert replacement["logistics_no"] == "SF-EX2"
