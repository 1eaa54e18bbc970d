"""A realistic day, compressed into seconds, against the simulators on loopback.

The catalog loaded by product import and pushed to WDT's goods and U8's
inventory; orders of every payment method taken from it, two confirmed
only with a recorded override because WDT has no stock; every order event
fed to a CRM as signed webhooks; one paid at checkout and one by a postal
remittance short of the bank fee; WDT reviews them and its warehouse ships
through print, pick, scan and weigh; an ERP outage in the middle (the relay
keeps retrying and recovers by itself); a cancellation after WDT has
reviewed the order; a shipment by the back office; WDT cancelling an order
on its own; a parcel refused at the door; a return and an exchange; an order
WDT rejects until ops corrects its address. Polling and reconciliation settle
what they can and leave the rest to a person. Every line the demo prints is
an event in the log or a state of a simulator; the numbered parts are the
story's, not times the events carry.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from orderledger.application import OrderLedger
from orderledger.application.catalog import Catalog
from orderledger.application.who import Who
from orderledger.bootstrap import build_poller, build_reconciler, build_relay
from orderledger.config import (
    CrmSettings,
    ReconcileSettings,
    Secret,
    U8Settings,
    WdtSettings,
)
from orderledger.demo.catalog import demo_draft, load_catalog
from orderledger.domain.aftersales import CaseKind, replacement_tid
from orderledger.domain.errors import OrderLedgerError
from orderledger.domain.stock import StockShort
from orderledger.domain.values import Delivery, Source
from orderledger.erp.poll import PollReport
from orderledger.erp.reconciler import ReconcileReport
from orderledger.erp.stock import WdtStock
from orderledger.outbox.clients import WdtClient
from orderledger.outbox.destinations import ALL_DESTINATIONS
from orderledger.outbox.messages import CHINA, WDT
from orderledger.outbox.relay import Relay, RelayPolicy
from orderledger.outbox.runner import run_relay
from orderledger.outbox.store import DeliveryStore
from orderledger.projections.store import ProjectionStore
from orderledger.sim.crm import CrmSimulator
from orderledger.sim.server import SimServer
from orderledger.sim.u8 import U8Simulator
from orderledger.sim.wdt import WdtSimulator

Say = Callable[[str], None]
WEB: dict[str, Any] = {"actor": "shop-web", "source": Source.WEBSITE}
OFFICE: dict[str, Any] = {"actor": "ops-amy", "source": Source.BACK_OFFICE}
# Retries in fractions of a second so that the outage plays out in the demo.
DEMO_POLICY = RelayPolicy(
    backoff_base=0.1, backoff_cap=1.0, rate_limit_pause=2.0, poll_seconds=0.1
)


@dataclass
class DayResult:
    orders: list[str]
    report: ReconcileReport
    wdt_trades: int
    u8_documents: int
    crm_events: int


class Simulators:
    """WDT and U8 simulators on 127.0.0.1 with throwaway credentials."""

    def __init__(self) -> None:
        wdt_secret, u8_secret = secrets.token_hex(8), secrets.token_hex(8)
        crm_secret = secrets.token_hex(8)
        self.crm = SimServer(CrmSimulator(secret=crm_secret)).start()
        self.crm_settings = CrmSettings(
            self.crm.url + "/hooks/orders", Secret(crm_secret), timeout=2.0
        )
        self.wdt = SimServer(
            WdtSimulator(sid="demo", appkey="demo", appsecret=wdt_secret)
        ).start()
        self.u8 = SimServer(
            U8Simulator(
                app_key="demo", app_secret=u8_secret, from_account="shop",
                to_account="fin",
            )
        ).start()  # fmt: skip
        self.wdt_settings = WdtSettings(
            self.wdt.url, "demo", "demo", Secret(wdt_secret), timeout=2.0
        )
        self.u8_settings = U8Settings(
            self.u8.url, "shop", "fin", "demo", Secret(u8_secret), timeout=2.0
        )

    def wdt_step(self, tid: str, step: str, **extra: str) -> None:
        """What WDT's own users do: review, warehouse steps, ship, cancel."""
        status, answer = self.wdt.sim.control(
            "POST", "/_sim/advance", _json({"tid": tid, "step": step, **extra})
        )
        if status != 200:
            raise RuntimeError(f"WDT simulator refused {step} of {tid}: {answer}")

    def wdt_fault(self, mode: str, **extra: str) -> None:
        self.wdt.sim.control("POST", "/_sim/fault", _json({"mode": mode, **extra}))

    def wdt_stock(self, spec_no: str, available: int) -> None:
        """WDT's warehouse count (stock stays WDT's)."""
        body = {"step": "stock", "spec_no": spec_no, "available": available}
        self.wdt.sim.control("POST", "/_sim/advance", _json(body))

    def stop(self) -> None:
        self.wdt.stop()
        self.u8.stop()
        self.crm.stop()


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


class RelaysInBackground:
    """`outbox run` for every destination, as ops would leave it running."""

    def __init__(self, ledger: OrderLedger, catalog: Catalog, sims: Simulators):
        self.relays = [
            build_relay(
                ledger, d, wdt=sims.wdt_settings, u8=sims.u8_settings,
                crm=sims.crm_settings, catalog=catalog, policy=DEMO_POLICY,
            )
            for d in ALL_DESTINATIONS
        ]  # fmt: skip
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._keep_running, args=(r,), daemon=True)
            for r in self.relays
        ]
        for thread in self.threads:
            thread.start()

    def _keep_running(self, relay: Relay) -> None:
        """As `outbox run --follow` does: a fault (a busy SQLite file) is
        retried; everything recorded stands, the rest is redone. The demo's
        own story says what happens, not the relay's retries."""
        run_relay(relay, self.stop, once=False, say=lambda _line: None)

    def wait_until_idle(self, seconds: float = 30.0) -> None:
        """Until every message that can be delivered is (parked ones wait)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if all(_idle(r) for r in self.relays):
                return
            time.sleep(0.1)
        raise RuntimeError("the relays did not catch up within the demo's time")

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        for relay in self.relays:
            relay.close()


def _idle(relay: Relay) -> bool:
    store = relay.store
    caught_up = store.position(relay.destination) == relay.source.log_head()
    return caught_up and not store.next_batch(relay.destination, 1, float("inf"))


def run_day(
    ledger: OrderLedger,
    catalog: Catalog,
    projections: ProjectionStore,
    deliveries: DeliveryStore,
    settings: ReconcileSettings,
    say: Say,
) -> DayResult:
    sims = Simulators()
    relays = RelaysInBackground(ledger, catalog, sims)
    try:
        day = _Day(
            ledger, catalog, projections, deliveries, settings, sims, relays, say
        )
        return day.run()
    finally:
        relays.close()
        sims.stop()


class _Day:
    def __init__(
        self,
        ledger: OrderLedger,
        catalog: Catalog,
        projections: ProjectionStore,
        deliveries: DeliveryStore,
        settings: ReconcileSettings,
        sims: Simulators,
        relays: RelaysInBackground,
        say: Say,
    ) -> None:
        self.ledger, self.sims, self.relays, self.say = ledger, sims, relays, say
        self.deliveries = deliveries
        self.catalog = catalog
        self.products = catalog.lookup(allow_unknown=False)
        self.stock = WdtStock(WdtClient(sims.wdt_settings))
        self.poller = build_poller(
            ledger,
            sims.wdt_settings,
            settings,
            # WDT stamps changes to the second: with no settling time, a poll
            # a second after the last change reads it (the overlap of the
            # next window would anyway).
            settle_seconds=0,
        )
        # A day squeezed into seconds: the ERP is "late" at once.
        self.reconciler = build_reconciler(
            ledger, projections, replace(settings, sla=timedelta(0))
        )
        self.day = datetime.now(CHINA).strftime("%Y%m%d")
        self.orders: list[str] = []
        self.done_steps: dict[str, list[str]] = {}  # warehouse steps per trade

    def no(self, letter: str) -> str:
        return f"SO{self.day}-{letter}"

    def create(self, letter: str, customer: int, payment: str, goods: Any) -> str:
        order_no = self.no(letter)
        draft = demo_draft(
            order_no, customer, payment, goods, self.ledger.tz, self.products
        )
        view = self.ledger.create(draft, **WEB)
        self.orders.append(order_no)
        self.say(
            f"   {order_no}  {view['payment_label']:<4} {view['total']:>8}  created"
        )
        return order_no

    def pay(
        self, order_no: str, reference: str, amount: Decimal | None = None, **who: Any
    ) -> None:
        """Money arrives: the total unless `amount`; the back office records it
        unless `who` says otherwise."""
        total = Decimal(self.ledger.get(order_no)["total"])
        self.ledger.confirm_payment(
            order_no, amount or total, reference=reference, **(who or OFFICE)
        )

    def refused(self, what: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except OrderLedgerError as error:
            self.say(f"   {what}: REFUSED ({error})")
        else:
            raise RuntimeError(f"demo step {what!r} should have been refused")

    def poll(self) -> PollReport:
        time.sleep(1.05)  # let WDT's current second end
        report = self.poller.poll_once()
        followed = "; ".join(
            f"{no} {'+'.join(steps)}" for no, steps in report.followed.items()
        )
        self.say(
            f"   erp poll: {report.recorded} new ERP observation(s), "
            f"{report.shipments_acked} shipment(s) acknowledged"
            + (f"; website followed the ERP: {followed}" if followed else "")
        )
        return report

    def outbox_line(self) -> str:
        counts = self.deliveries.counts(WDT)
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        return f"   WDT outbox: {shown}"

    def warehouse_ships(self, order_no: str, carrier: str, tracking: str) -> None:
        """The seed's chain in WDT: 待打单 → 待拣货 → 待扫描 → 待称重 → 出库发货."""
        for step in ("print", "pick", "scan", "weigh"):
            if step not in self.done_steps.get(order_no, ()):
                self.sims.wdt_step(order_no, step)
        self.sims.wdt_step(order_no, "ship", carrier=carrier, tracking=tracking)

    def warehouse_steps(self, order_no: str, *steps: str) -> None:
        for step in steps:
            self.sims.wdt_step(order_no, step)
        self.done_steps.setdefault(order_no, []).extend(steps)

    def after_sales(self, order_no: str) -> None:
        """退货: one cup arrives chipped; applied, approved, inspected, refunded."""
        ledger, cup = self.ledger, [{"sku": "CUP-010", "quantity": 1}]
        case = ledger.apply_after_sales(
            order_no, kind=CaseKind.RETURN, items=cup, reason="杯子有裂纹",
            actor="张三", source=Source.WEBSITE,
        )["case_id"]  # fmt: skip
        ledger.review_after_sales(order_no, case, approve=True, **OFFICE)
        ledger.receive_after_sales(order_no, case, accepted=cup, rejected=[], **OFFICE)
        owed = ledger.get(order_no)["after_sales"][-1]["refund_owed"]
        ledger.refund(
            order_no, Decimal(owed), case_id=case, reference="ALI-R1", **OFFICE
        )
        self.say(
            f"   {order_no} return {case}: a chipped cup back, {owed} refunded "
            f"(WDT told to expect it as {order_no}-{case}, the refund as "
            f"{order_no}-RF1; U8 red invoice)"
        )

    def exchange(self, order_no: str) -> str:
        """换货: the tea is the wrong kind; the warehouse takes it back and
        WDT ships the replacement as its own trade."""
        ledger, tea = self.ledger, [{"sku": "TEA-001", "quantity": 1}]
        case = ledger.apply_after_sales(
            order_no, kind=CaseKind.EXCHANGE, items=tea, reason="想换一盒新茶",
            actor="李四", source=Source.WEBSITE,
        )["case_id"]  # fmt: skip
        ledger.review_after_sales(order_no, case, approve=True, **OFFICE)
        ledger.receive_after_sales(order_no, case, accepted=tea, rejected=[], **OFFICE)
        tid = replacement_tid(order_no, case)
        self.say(
            f"   {order_no} exchange {case}: the tea came back; WDT gets the "
            f"replacement as trade {tid}"
        )
        return tid

    def confirm(self, order_no: str) -> None:
        """The back office confirms once WDT has the stock; an order it cannot
        fill now is confirmed only with a reason, which is recorded."""
        try:
            self.ledger.confirm(order_no, stock=self.stock, **OFFICE)
        except StockShort as short:
            self.say(f"   {order_no} refused: {short.shortages[0].describe()}")
            self.ledger.confirm(
                order_no, stock=self.stock, override_stock="到货在途,客户同意等",
                **OFFICE,
            )  # fmt: skip
            self.say(f"   {order_no} confirmed anyway: the override is recorded")

    def run(self) -> DayResult:
        say, ledger, wdt = self.say, self.ledger, self.sims
        say("== 0. The catalog: product import, pushed to WDT's goods and U8")
        loaded = load_catalog(self.catalog, Who(**OFFICE))
        for spec, available in (("TEA-001", 100), ("CUP-010-W", 100), ("POT-002", 0)):
            wdt.wdt_stock(spec, available)
        self.relays.wait_until_idle()
        goods = len(wdt.wdt.sim.part("goods"))
        say(f"   {len(loaded.added)} products imported; WDT holds {goods} goods")
        say("== 1. The website takes orders (every payment method)")
        a = self.create("A", 0, "online", [(0, 1), (1, 2)])
        b = self.create("B", 1, "postal", [(2, 1)])
        c = self.create("C", 2, "cod", [(0, 2)])
        d = self.create("D", 0, "cod", [(1, 4)])
        e = self.create("E", 1, "online", [(0, 2)])
        f = self.create("F", 2, "cod", [(2, 1)])
        i = self.create("I", 0, "online", [(1, 1)])
        self.pay(i, "ALI-CHECKOUT-1", **WEB)
        say(f"   {i} paid at checkout: recorded before the back office confirms")
        j = self.create("J", 1, "postal", [(0, 1)])
        k = self.create("K", 2, "cod", [(1, 2)])
        say("   the back office confirms; WDT has no 紫砂壶 in stock")
        for order_no in self.orders:
            self.confirm(order_no)
        self.refused(
            f"ship {e} before payment",
            lambda: ledger.ship(e, Delivery("SF", "SF0"), **OFFICE),
        )
        self.pay(a, "ALI-778899")
        self.pay(b, "POST-5521")
        self.pay(e, "WX-1203")
        short = Decimal(ledger.get(j)["total"]) - Decimal("2.00")
        ledger.confirm_payment(j, short, reference="POST-6610", **OFFICE)
        say(f"   {j} postal remittance {short}: 2.00 short (bank fee), part paid")
        self.refused(
            f"ship {j} before it is paid in full",
            lambda: ledger.ship(j, Delivery("EMS", "EMS0"), **OFFICE),
        )
        self.relays.wait_until_idle()
        say(f"   relay: every order pushed to WDT\n{self.outbox_line()}")

        say("== 2. WDT reviews the orders; the warehouse prints and picks")
        for order_no in (a, b, c, d, e, f, i, k):
            wdt.wdt_step(order_no, "review")
        for order_no in (a, c):
            self.warehouse_steps(order_no, "print", "pick")
        self.poll()

        say("== 3. WDT is down; the website carries on")
        wdt.wdt_fault("down")
        g = self.create("G", 1, "online", [(1, 1)])
        ledger.confirm(g, **OFFICE)  # no stock check: WDT is down (a person's call)
        self.pay(g, "ALI-990011")
        h = self.create("H", 0, "cod", [(0, 1)])
        wdt.wdt_fault("reject", key=h)  # WDT will refuse H's data
        ledger.cancel(d, reason="customer cancelled by phone", **OFFICE)
        say(f"   {d} cancelled on the website (WDT had already reviewed it)")
        time.sleep(1.5)
        say(f"   the relay keeps retrying with backoff\n{self.outbox_line()}")

        say("== 4. WDT is back: the relay recovers by itself")
        wdt.wdt_fault("ok")
        wdt.wdt_fault("reject", key=h)
        self.relays.wait_until_idle()
        say(self.outbox_line() + f"  ({h} rejected by WDT: parked)")

        say("== 5. Shipping: from WDT's warehouse, and one from the back office")
        self.warehouse_ships(a, "SF", "SF1234567890")
        self.warehouse_ships(c, "ZTO", "ZTO7700123")
        self.warehouse_ships(e, "SF", "SF1234500002")
        self.warehouse_ships(k, "YTO", "YTO5500321")
        ledger.ship(b, Delivery("EMS", "EMS9988776655"), **OFFICE)
        say(f"   {b} shipped by the back office: WDT marks it shipped outside (95)")
        wdt.wdt_step(f, "cancel")
        say(f"   WDT cancels {f} on its own")
        self.pay(j, "POST-6611-BALANCE", amount=Decimal("2.00"))
        say(f"   {j}: the 2.00 balance arrives, paid in full")
        self.relays.wait_until_idle()
        self.poll()

        say("== 6. At the door: goods received, one parcel refused")
        ledger.confirm_receipt(a, actor="张三", source=Source.WEBSITE)
        ledger.confirm_receipt(e, actor="李四", source=Source.WEBSITE)
        ledger.confirm_receipt(c, **OFFICE)
        self.pay(c, "COD-CASH-1")
        say(f"   {a}, {e} and {c} 已完成: U8 receives their documents")
        ledger.refuse(
            k, reason="拒收: 客户不要了", actor="carrier-YTO", source=Source.OPS
        )
        say(f"   {k} refused at the door: 已作废, WDT told to expect the goods")
        self.after_sales(a)
        tid = self.exchange(e)
        self.relays.wait_until_idle()
        wdt.wdt_step(tid, "review")
        self.warehouse_ships(tid, "SF", "SF1234500099")
        self.poll()

        say("== 7. Ops corrects H's address; reconciliation settles")
        ledger.modify(
            h, address={"detail": "科技园南路 88 号 3 栋 1201"}, **OFFICE,
            reason="WDT refused the address: no building and room",
        )  # fmt: skip
        wdt.wdt_fault("ok")  # WDT takes the corrected data
        applied = self.reconciler.run(apply=True)
        for line in applied.orders:
            say(f"   {line.order_no} {line.mismatch}: {line.action} -> {line.outcome}")
        self.relays.wait_until_idle()
        self.poll()
        final = self.reconciler.run()
        u8_docs = [d for d in self.sims.u8.sim.state() if d["resource"] != "inventory"]
        crm = self.sims.crm.sim.state()["events"]
        return DayResult(
            self.orders, final, len(self.sims.wdt.sim.state()), len(u8_docs), len(crm)
        )
