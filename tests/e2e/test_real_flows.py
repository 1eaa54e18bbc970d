"""Everyday flows of a real shop keep WDT in step (issue 15), asserted on what
the WDT simulator holds afterwards, not only on the ledger. Real HTTP on
loopback, the real relay, poller and reconciler, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from orderledger.application import OrderLedger
from orderledger.cli import cli
from orderledger.config import (
    Settings,
    U8Settings,
    WdtSettings,
    load_reconcile_settings,
)
from orderledger.domain.errors import InvalidInput, RuleViolation
from orderledger.domain.values import Delivery
from orderledger.outbox.messages import CHINA as CHINA_TZ
from orderledger.projections.search import OrderFilter, list_orders
from orderledger.projections.statistics import statistics
from orderledger.projections.store import ProjectionStore
from orderledger.sim.server import SimServer
from tests.e2e.helpers import WHO, drain, relays
from tests.e2e.test_aftersales import money_back, return_case
from tests.e2e.test_reconcile import advance, line, poll, reconcile, types
from tests.factories import draft
from tests.simfixtures import control, trades

# The shop's settings as shipped (no file, no environment).
DEFAULTS = load_reconcile_settings(None, {})


def paid(ledger: OrderLedger, order_no: str) -> None:
    ledger.create(draft("online", order_no=order_no), **WHO)
    ledger.confirm(order_no, **WHO)
    ledger.confirm_payment(order_no, Decimal(ledger.get(order_no)["total"]), **WHO)


def test_a_website_shipment_reaches_wdt_and_nobody_ships_twice(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    """The seed, 4. 发货: "网站后台发货 … 主动推送erp系统,修改订单状态为'已完成'"."""
    paid(ledger, "S-1")
    drain(relays(ledger, wdt_settings, None))
    assert trades(wdt_server)["S-1"]["system_status"] == 30

    ledger.ship("S-1", Delivery("SF", "SF100"), **WHO)
    drain(relays(ledger, wdt_settings, None))

    trade = trades(wdt_server)["S-1"]
    assert trade["system_status"] == 95 and trade["shipped_outside"] is True
    assert (trade["logistics_name"], trade["logistics_no"]) == ("SF", "SF100")
    assert trade["platform_history"][-1] == 50
    # WDT's warehouse cannot ship it a second time
    refused = control_status(wdt_server, "S-1", "ship")
    assert refused == 409 and trades(wdt_server)["S-1"]["system_status"] == 95
    poll(ledger, store, wdt_settings, follow=("review", "ship"))
    assert line_or_none(reconcile(ledger, store), "S-1") is None  # in sync


def test_wdt_ships_first_the_website_follows_and_pushes_nothing_back(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    paid(ledger, "S-2")
    drain(relays(ledger, wdt_settings, None))
    advance(wdt_server, "S-2", "review")
    advance(wdt_server, "S-2", "ship", carrier="ZTO", tracking="ZTO9")
    poll(ledger, store, wdt_settings, follow=("review", "ship"))
    drain(relays(ledger, wdt_settings, None))

    assert ledger.get("S-2")["status"] == "已发货"
    assert ("Shipped", "erp-poll", "erp") in types(ledger, "S-2")
    trade = trades(wdt_server)["S-2"]
    assert 50 not in trade["platform_history"] and trade["shipped_outside"] is False
    assert trade["system_status"] == 95


def test_a_resync_sends_the_current_trade_once(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    """A completed order WDT lost is sent as it is now (70), once: never its
    history again (10, 30, … would tell WDT "unpaid" about a paid order)."""
    paid(ledger, "R-1")
    ledger.ship("R-1", Delivery("SF", "SF1"), **WHO)
    ledger.confirm_receipt("R-1", **WHO)
    drain(relays(ledger, wdt_settings, None))
    control(wdt_server, "/_sim/reset")

    applied = reconcile(ledger, store, apply=True)
    assert line(applied, "R-1")["action"] == "repush"
    drain(relays(ledger, wdt_settings, None))

    trade = trades(wdt_server)["R-1"]
    assert trade["platform_history"] == [70] and trade["pushes"] == 1


def test_a_re_push_that_changes_nothing_becomes_a_task_with_its_age(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="B-1"), **WHO)
    control(wdt_server, "/_sim/fault", {"mode": "reject", "key": "B-1"})
    drain(relays(ledger, wdt_settings, None))  # rejected: parked, never in WDT

    first = reconcile(ledger, store, apply=True)
    assert line(first, "B-1")["action"] == "repush"
    drain(relays(ledger, wdt_settings, None))  # rejected again
    waiting = reconcile(ledger, store, apply=True, sla_minutes=60)
    assert line(waiting, "B-1")["action"] in ("wait", "none")

    later = reconcile(ledger, store, apply=True, sla_minutes=0)
    chased = line(later, "B-1")
    assert chased["action"] == "chase" and "still behind" in str(chased["detail"])
    assert isinstance(chased["age_minutes"], float)
    assert [t["kind"] for t in later.open_tasks] == ["erp_behind"]
    head = ledger.log_head()
    assert line(reconcile(ledger, store, apply=True), "B-1")["action"] == "none"
    assert ledger.log_head() == head  # the task is open: nothing more to do


def test_when_wdt_cancels_first_the_website_voids_by_default(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    """The seed, 6. 取消订单: "或: erp取消该订单"."""
    paid(ledger, "X-1")
    drain(relays(ledger, wdt_settings, None))
    advance(wdt_server, "X-1", "cancel")

    poll(ledger, store, wdt_settings, follow=DEFAULTS.followed_steps())

    order = ledger.get("X-1")
    assert order["status"] == "已作废" and order["refund_due"] == order["total"]
    assert ("Cancelled", "erp-poll", "erp") in types(ledger, "X-1")
    drain(relays(ledger, wdt_settings, None))
    assert trades(wdt_server)["X-1"]["system_status"] == 5


def test_a_prepaid_order_signed_for_in_wdt_completes_and_reaches_u8(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    paid(ledger, "G-1")
    ledger.ship("G-1", Delivery("SF", "SF7"), **WHO)
    drain(relays(ledger, wdt_settings, None))
    control(wdt_server, "/_sim/advance", {"tid": "G-1", "step": "sign"})

    poll(ledger, store, wdt_settings, follow=DEFAULTS.followed_steps())
    assert ledger.get("G-1")["status"] == "已完成"
    assert ("ReceiptConfirmed", "erp-poll", "erp") in types(ledger, "G-1")


def test_auto_receive_completes_prepaid_orders_shipped_long_ago(
    ledger: OrderLedger, store: ProjectionStore
) -> None:
    paid(ledger, "A-1")
    ledger.ship("A-1", Delivery("SF", "SF1"), **WHO)
    ledger.create(draft("cod", order_no="A-2"), **WHO)
    ledger.confirm("A-2", **WHO)
    ledger.ship("A-2", Delivery("SF", "SF2"), **WHO)
    now = datetime.now(UTC)

    assert not ledger.auto_receive("A-1", after=timedelta(days=10), now=now)
    due = now + timedelta(days=10, seconds=1)
    assert ledger.auto_receive("A-1", after=timedelta(days=10), now=due)
    assert not ledger.auto_receive("A-1", after=timedelta(days=10), now=due)
    assert not ledger.auto_receive("A-2", after=timedelta(days=10), now=due)  # COD

    assert ledger.get("A-1")["status"] == "已完成"
    assert types(ledger, "A-1")[-1] == ("ReceiptConfirmed", "auto-receive", "ops")
    assert ledger.get("A-2")["status"] == "已发货"


def test_order_auto_receive_from_the_cli_is_idempotent(
    ledger: OrderLedger, store: ProjectionStore, settings: Settings
) -> None:
    paid(ledger, "A-3")
    ledger.ship("A-3", Delivery("SF", "SF3"), **WHO)
    db = settings.db_url

    not_yet = CliRunner().invoke(cli, ["--db", db, "--json", "order", "auto-receive"])
    time.sleep(1.0)  # --after-days 0.00001 is 0.86 s
    now = CliRunner().invoke(
        cli, ["--db", db, "order", "auto-receive", "--after-days", "0.00001", "--json"]
    )
    again = CliRunner().invoke(
        cli, ["--db", db, "order", "auto-receive", "--after-days", "0.00001"]
    )
    bad = CliRunner().invoke(
        cli, ["--db", db, "order", "auto-receive", "--after-days", "0"]
    )

    assert not_yet.exit_code == 0 and '"count": 0' in not_yet.stdout
    assert now.exit_code == 0 and '"A-3"' in now.stdout, now.output
    assert again.exit_code == 0 and "0 order(s) received" in again.stdout
    assert bad.exit_code == 2
    assert ledger.get("A-3")["status"] == "已完成"


def control_status(server: SimServer, tid: str, step: str) -> int:
    status, _ = server.sim.control(
        "POST", "/_sim/advance", f'{{"tid": "{tid}", "step": "{step}"}}'.encode()
    )
    return int(status)


def line_or_none(report: object, order_no: str) -> object:
    found = [x for x in report.orders if x.order_no == order_no]  # type: ignore[attr-defined]
    return found[0] if found else None


def test_a_refund_never_exceeds_what_the_case_owes_without_an_override(
    ledger: OrderLedger,
    wdt_settings: WdtSettings,
    u8_settings: U8Settings,
    wdt_server: SimServer,
    u8_server: SimServer,
) -> None:
    """A case owing 39.90 (one accepted cup) once took a 50.00 refund and sent
    50.00 to WDT and U8; now only an explicit, recorded override can."""
    paid(ledger, "RF-1")
    ledger.ship("RF-1", Delivery("SF", "SF1"), **WHO)
    case = return_case(ledger, "RF-1", accept=1)
    owed = Decimal(ledger.get("RF-1")["after_sales"][0]["refund_owed"])
    head = ledger.log_head()

    with pytest.raises(RuleViolation, match="still owes"):
        ledger.refund("RF-1", owed + Decimal("10.10"), case_id=case, **WHO)
    with pytest.raises(InvalidInput, match="needs a reason"):
        ledger.refund("RF-1", owed + 10, case_id=case, override=True, **WHO)
    assert ledger.log_head() == head  # nothing recorded

    extra = owed + Decimal("10.00")
    ledger.refund(
        "RF-1", extra, case_id=case, override=True,
        reason="faulty item: the shipping fee too", **WHO,
    )  # fmt: skip
    ledger.confirm_receipt("RF-1", **WHO)  # completed: U8 has the sale to credit
    drain(relays(ledger, wdt_settings, u8_settings))

    refunded = [e for e in ledger.history("RF-1") if e["type"] == "RefundIssued"][-1]
    assert refunded["details"]["override"] is True
    assert refunded["reason"] == "faulty item: the shipping fee too"
    (wdt_refund,) = money_back(trades(wdt_server)["RF-1"])
    assert Decimal(wdt_refund["refund_amount"]) == extra
    credit = [
        d for d in control(u8_server, "/_sim/state") if d["resource"] == "saleinvoice"
    ]
    assert [d["body"]["money"] for d in credit] == [f"-{extra}"]


def test_what_order_show_says_was_pushed_comes_from_the_delivery_ledger(
    db_url: str,
    erp_env: dict[str, str],
    wdt_server: SimServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = CliRunner().invoke
    create = ["--db", db_url, "order", "create", "--customer", "张三", "--phone",
              "13800138000", "--address", "路 1 号", "--payment", "cod", "--line",
              "TEA-001:茶:2:10.00"]  # fmt: skip
    for no in ("V-1", "V-2", "V-3"):
        assert run(cli, [*create, "--order-no", no]).exit_code == 0

    alone = run(cli, ["--db", db_url, "--json", "order", "show", "V-1"])
    assert '"not sent: WDT is not configured"' in alone.stdout
    assert "to push  trade_status 30" in run(cli, ["--db", db_url, "order", "show",
                                                    "V-1"]).stdout  # fmt: skip

    for key, value in erp_env.items():
        monkeypatch.setenv(key, value)
    control(wdt_server, "/_sim/fault", {"mode": "reject", "key": "V-2"})
    assert (
        run(cli, ["--db", db_url, "outbox", "run", "--destination", "wdt"]).exit_code
        == 0
    )
    taken = run(cli, ["--db", db_url, "order", "show", "V-1"]).stdout
    refused = run(cli, ["--db", db_url, "--json", "order", "show", "V-2"]).stdout
    assert "to push  trade_status 30" in taken and "acknowledged by WDT" in taken
    assert '"state": "parked"' in refused

    # A modification reads as what changed, field by field.
    modified = run(cli, ["--db", db_url, "order", "modify", "V-3", "--line",
                         "TEA-001:茶:3:10.00"])  # fmt: skip
    history = run(cli, ["--db", db_url, "order", "history", "V-3"]).stdout
    assert modified.exit_code == 0 and "line TEA-001: quantity 2 -> 3" in history

    # In sync, a reviewed order lists as 待打单, not as a pair.
    control(wdt_server, "/_sim/advance", {"tid": "V-1", "step": "review"})
    time.sleep(2.1)  # the poll reads windows that closed a second ago
    assert run(cli, ["--db", db_url, "erp", "poll"]).exit_code == 0
    listed = run(cli, ["--db", db_url, "order", "list", "--order-no", "V-1"]).stdout
    assert "ERP 待打单(55)" in listed and "MISMATCH" not in listed


def test_payments_are_facts_and_wdt_receives_them_as_they_are(
    ledger: OrderLedger,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    """Money is recorded whenever it arrives (VOCABULARY.md §1); WDT gets
    pay_status 0/1/2 and `paid` as they are."""
    ledger.create(draft("online", order_no="P-EARLY"), **WHO)
    total = Decimal(ledger.get("P-EARLY")["total"])
    early = ledger.confirm_payment("P-EARLY", total, **WHO)  # at checkout
    ledger.create(draft("postal", order_no="P-SHORT"), **WHO)
    ledger.confirm("P-SHORT", **WHO)
    short = ledger.confirm_payment("P-SHORT", total - Decimal("3.00"), **WHO)
    ledger.create(draft("online", order_no="P-OVER"), **WHO)
    ledger.confirm("P-OVER", **WHO)
    over = ledger.confirm_payment("P-OVER", total + Decimal("5.00"), **WHO)
    ledger.create(draft("online", order_no="P-LATE"), **WHO)
    ledger.cancel("P-LATE", reason="customer", **WHO)
    late = ledger.confirm_payment("P-LATE", total, **WHO)
    drain(relays(ledger, wdt_settings, None))
    wdt = trades(wdt_server)

    assert (early["status"], early["payment_status"]) == ("未确认", "paid")
    assert (wdt["P-EARLY"]["platform_status"], pay(wdt, "P-EARLY")) == (10, (2, total))
    assert (short["status"], short["payment_status"]) == ("已确认", "part_paid")
    assert wdt["P-SHORT"]["platform_status"] == 20  # 待尾款
    assert pay(wdt, "P-SHORT") == (1, total - Decimal("3.00"))
    assert (over["status"], over["refund_due"]) == ("已支付", "5.00")
    assert pay(wdt, "P-OVER") == (2, total + Decimal("5.00"))
    assert (late["payment_status"], late["refund_due"]) == ("refund_due", str(total))

    ledger.confirm_payment("P-SHORT", Decimal("3.00"), **WHO)  # the balance
    drain(relays(ledger, wdt_settings, None))
    assert trades(wdt_server)["P-SHORT"]["platform_status"] == 30
    assert pay(trades(wdt_server), "P-SHORT") == (2, total)


def pay(wdt: dict[str, dict[str, object]], tid: str) -> tuple[int, Decimal]:
    trade = wdt[tid]
    return int(str(trade["pay_status"])), Decimal(str(trade["paid"]))


def test_a_customers_orders_by_payment_and_statistics_that_add_up(
    ledger: OrderLedger, store: ProjectionStore
) -> None:
    """The seed: 用户可以查询自己的订单, 包括已支付订单和未支付订单."""
    paid(ledger, "Q-1")
    ledger.create(draft("online", order_no="Q-2"), **WHO)  # unpaid
    ledger.create(draft("postal", order_no="Q-3"), **WHO)
    ledger.confirm_payment("Q-3", Decimal("1.00"), **WHO)  # part paid
    ledger.cancel("Q-3", reason="customer", **WHO)
    ledger.refund("Q-3", Decimal("1.00"), **WHO)  # a voided order's money back
    ledger.ship("Q-1", Delivery("SF", "SF1"), **WHO)
    case = return_case(ledger, "Q-1", accept=1)
    ledger.refund("Q-1", Decimal("10.00"), case_id=case, **WHO)  # a sale's
    someone_else = {"name": "李四", "contact": "李四", "phone": "13912345678"}
    ledger.create(draft("online", order_no="Q-4", customer=someone_else), **WHO)
    store.catch_up_all()

    def listed(**f: object) -> list[str]:
        rows = list_orders(store, OrderFilter(**f), UTC)  # type: ignore[arg-type]
        return sorted(o["order_no"] for o in rows)

    assert listed(customer_phone="13800138000") == ["Q-1", "Q-2", "Q-3"]
    assert listed(customer_phone="13800138000", payment="paid") == ["Q-1"]
    assert listed(payment="unpaid") == ["Q-2", "Q-4"]
    assert listed(payment="part_paid") == []  # Q-3 was voided: refund_due
    (day,) = statistics(store, "day")
    assert Decimal(day["refunded"]) == Decimal(day["refunded_sales"]) + Decimal(
        day["refunded_voided"]
    )
    assert (day["refunded_sales"], day["refunded_voided"]) == ("10.00", "1.00")
    assert Decimal(day["net"]) == Decimal(day["amount"]) - Decimal("10.00")


def test_u8_gets_the_sale_before_its_credit_note_and_each_its_own_date(
    ledger: OrderLedger,
    u8_settings: U8Settings,
    u8_server: SimServer,
) -> None:
    """Returned and refunded before the customer confirmed receipt: the red
    invoice once went to U8 before the sale order existed there."""
    paid(ledger, "U-1")
    ledger.ship("U-1", Delivery("SF", "SF1"), **WHO)
    case = return_case(ledger, "U-1", accept=1)
    ledger.refund("U-1", Decimal("50.00"), case_id=case, **WHO)
    drain(relays(ledger, None, u8_settings))
    assert control(u8_server, "/_sim/state") == []  # no sale in U8 yet: no credit

    ledger.confirm_receipt("U-1", **WHO)
    drain(relays(ledger, None, u8_settings))

    docs = sorted(  # tradeid: U8's running number across documents
        control(u8_server, "/_sim/state"), key=lambda d: int(d["tradeid"][1:])
    )
    assert [d["resource"] for d in docs] == [
        "saleorder", "consignment", "accept", "saleinvoice",
    ]  # fmt: skip
    refunded_on = datetime.now(CHINA_TZ).date().isoformat()
    assert docs[-1]["body"]["date"] == refunded_on
