"""A realistic day, compressed into seconds, against the simulators on loopback.

Orders of both payment methods; WDT reviews and moves them through its
warehouse steps; an ERP outage in the middle (the relay keeps retrying and
recovers by itself); a cancellation after WDT has reviewed the order; a
shipment started in WDT and followed by the website; an order WDT rejects
until its data is fixed; and WDT cancelling an order on its own. Polling and
reconciliation settle what they can and leave the rest to a person.
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
from orderledger.bootstrap import build_poller, build_reconciler, build_relay
from orderledger.config import ReconcileSettings, Secret, U8Settings, WdtSettings
from orderledger.demo.catalog import demo_draft
from orderledger.domain.aftersales import CaseKind
from orderledger.domain.errors import OrderLedgerError
from orderledger.domain.values import Delivery, Source
from orderledger.erp.poll import PollReport
from orderledger.erp.reconciler import ReconcileReport
from orderledger.outbox.messages import CHINA, U8, WDT
from orderledger.outbox.relay import Relay, RelayPolicy
from orderledger.outbox.runner import run_relay
from orderledger.outbox.store import DeliveryStore
from orderledger.projections.store import ProjectionStore
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


class Simulators:
    """WDT and U8 simulators on 127.0.0.1 with throwaway credentials."""

    def __init__(self) -> None:
        wdt_secret, u8_secret = secrets.token_hex(8), secrets.token_hex(8)
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

    def stop(self) -> None:
        self.wdt.stop()
        self.u8.stop()


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


class RelaysInBackground:
    """`outbox run` for WDT and U8, as ops would leave it running."""

    def __init__(self, ledger: OrderLedger, store: DeliveryStore, sims: Simulators):
        wdt, u8 = sims.wdt_settings, sims.u8_settings
        self.relays = [
            build_relay(ledger, d, wdt=wdt, u8=u8, policy=DEMO_POLICY)
            for d in (WDT, U8)
        ]
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
    caught_up = store.position(relay.destination) == relay.ledger.log_head()
    return caught_up and not store.next_batch(relay.destination, 1, float("inf"))


def run_day(
    ledger: OrderLedger,
    projections: ProjectionStore,
    deliveries: DeliveryStore,
    settings: ReconcileSettings,
    say: Say,
) -> DayResult:
    sims = Simulators()
    relays = RelaysInBackground(ledger, deliveries, sims)
    try:
        return _Day(ledger, projections, deliveries, settings, sims, relays, say).run()
    finally:
        relays.close()
        sims.stop()


class _Day:
    def __init__(
        self,
        ledger: OrderLedger,
        projections: ProjectionStore,
        deliveries: DeliveryStore,
        settings: ReconcileSettings,
        sims: Simulators,
        relays: RelaysInBackground,
        say: Say,
    ) -> None:
        self.ledger, self.sims, self.relays, self.say = ledger, sims, relays, say
        self.deliveries = deliveries
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

    def no(self, letter: str) -> str:
        return f"SO{self.day}-{letter}"

    def create(self, letter: str, customer: int, payment: str, goods: Any) -> str:
        order_no = self.no(letter)
        draft = demo_draft(order_no, customer, payment, goods, self.ledger.tz)
        view = self.ledger.create(draft, **WEB)
        self.orders.append(order_no)
        self.say(
            f"   {order_no}  {view['payment_label']:<4} {view['total']:>8}  created"
        )
        return order_no

    def pay(self, order_no: str, reference: str) -> None:
        total = Decimal(self.ledger.get(order_no)["total"])
        self.ledger.confirm_payment(order_no, total, reference=reference, **OFFICE)

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
            "(WDT refund list, U8 red invoice)"
        )

    def run(self) -> DayResult:
        say, ledger, wdt = self.say, self.ledger, self.sims
        say("== 09:00 the website takes orders (both payment methods)")
        a = self.create("A", 0, "online", [(0, 1), (1, 2)])
        b = self.create("B", 1, "postal", [(2, 1)])
        c = self.create("C", 2, "cod", [(0, 2)])
        d = self.create("D", 0, "cod", [(1, 4)])
        e = self.create("E", 1, "online", [(0, 1)])
        f = self.create("F", 2, "cod", [(2, 1)])
        for order_no in self.orders:
            ledger.confirm(order_no, **OFFICE)
        self.refused(
            f"ship {e} before payment",
            lambda: ledger.ship(e, Delivery("SF", "SF0"), **OFFICE),
        )
        self.pay(a, "ALI-778899")
        self.pay(b, "POST-5521")
        self.pay(e, "WX-1203")
        self.relays.wait_until_idle()
        say(f"   relay: every order pushed to WDT\n{self.outbox_line()}")

        say("== 10:00 WDT reviews the orders; the warehouse prints and picks")
        for order_no in (a, b, c, d, e, f):
            wdt.wdt_step(order_no, "review")
        for order_no in (a, c):
            wdt.wdt_step(order_no, "print")
            wdt.wdt_step(order_no, "pick")
        self.poll()

        say("== 11:00 WDT is down; the website carries on")
        wdt.wdt_fault("down")
        g = self.create("G", 1, "online", [(1, 1)])
        ledger.confirm(g, **OFFICE)
        self.pay(g, "ALI-990011")
        h = self.create("H", 0, "cod", [(0, 1)])
        wdt.wdt_fault("reject", key=h)  # WDT will refuse H's data
        ledger.cancel(d, reason="customer cancelled by phone", **OFFICE)
        say(f"   {d} cancelled on the website (WDT had already reviewed it)")
        time.sleep(1.5)
        say(f"   the relay keeps retrying with backoff\n{self.outbox_line()}")

        say("== 12:00 WDT is back: the relay recovers by itself")
        wdt.wdt_fault("ok")
        wdt.wdt_fault("reject", key=h)
        self.relays.wait_until_idle()
        say(self.outbox_line() + f"  ({h} rejected by WDT: parked)")

        say("== 13:00 the warehouse ships from WDT; WDT cancels one on its own")
        wdt.wdt_step(a, "scan")
        wdt.wdt_step(a, "weigh")
        wdt.wdt_step(a, "ship", carrier="SF", tracking="SF1234567890")
        wdt.wdt_step(c, "ship", carrier="ZTO", tracking="ZTO7700123")
        wdt.wdt_step(f, "cancel")
        self.poll()

        say("== 16:00 customers receive their goods")
        ledger.confirm_receipt(a, actor="张三", source=Source.WEBSITE)
        ledger.confirm_receipt(c, **OFFICE)
        self.pay(c, "COD-CASH-1")
        say(f"   {a} and {c} 已完成: U8 receives their documents")
        self.after_sales(a)
        self.relays.wait_until_idle()
        self.poll()

        say("== 17:00 ops fixes H's data in WDT; reconciliation settles")
        wdt.wdt_fault("ok")
        applied = self.reconciler.run(apply=True)
        for line in applied.orders:
            say(f"   {line.order_no} {line.mismatch}: {line.action} -> {line.outcome}")
        self.relays.wait_until_idle()
        self.poll()
        final = self.reconciler.run()
        u8_docs = len(self.sims.u8.sim.state())
        return DayResult(self.orders, final, len(self.sims.wdt.sim.state()), u8_docs)
