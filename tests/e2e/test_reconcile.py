"""Every mismatch class made on purpose against the WDT simulator, and settled.

Real HTTP on loopback, the real relay and poller, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orderledger.application import OrderLedger
from orderledger.audit.history import erp_as_of
from orderledger.bootstrap import build_delivery_store
from orderledger.config import ReconcileSettings, WdtSettings
from orderledger.domain.reconcile import DEFAULT_MODES, StepMode
from orderledger.erp.poll import ErpPoller, PollReport
from orderledger.erp.reconciler import Reconciler, ReconcileReport
from orderledger.outbox.clients import WdtClient
from orderledger.projections.one_order import erp_from_view
from orderledger.projections.store import ProjectionStore
from orderledger.sim.server import SimServer
from tests.e2e.helpers import WHO, drain, relays
from tests.e2e.test_erp_poll import later
from tests.factories import draft
from tests.simfixtures import control, trades


def poll(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt: WdtSettings,
    follow: Collection[str] = (),
) -> PollReport:
    return ErpPoller(
        ledger,
        WdtClient(wdt),
        store.engine,
        settle_seconds=0,
        now=later,
        follow=follow,
    ).poll_once()


def reconcile(
    ledger: OrderLedger,
    store: ProjectionStore,
    *,
    apply: bool = False,
    order_no: str | None = None,
    sla_minutes: float = 0,
    **modes: StepMode,
) -> ReconcileReport:
    settings = ReconcileSettings(
        sla=timedelta(minutes=sla_minutes), modes={**DEFAULT_MODES, **modes}
    )
    reconciler = Reconciler(ledger, store, build_delivery_store(ledger), settings)
    return reconciler.run(order_no=order_no, apply=apply)


def line(report: ReconcileReport, order_no: str) -> dict[str, object]:
    found = [vars(x) for x in report.orders if x.order_no == order_no]
    assert len(found) == 1, report.orders
    return found[0]


def types(ledger: OrderLedger, order_no: str) -> list[tuple[str, str, str]]:
    return [(e["type"], e["actor"], e["source"]) for e in ledger.history(order_no)]


def advance(server: SimServer, tid: str, *steps: str, **extra: str) -> None:
    for step in steps:
        control(server, "/_sim/advance", {"tid": tid, "step": step, **extra})


def test_missing_in_erp_is_re_pushed_and_then_in_sync(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="M-1"), **WHO)
    control(wdt_server, "/_sim/fault", {"mode": "reject", "key": "M-1"})
    drain(relays(ledger, wdt_settings, None))  # the push is parked
    poll(ledger, store, wdt_settings)

    head = ledger.log_head()
    dry = reconcile(ledger, store)
    assert dry.counts["missing_in_erp"] == 1
    assert line(dry, "M-1")["action"] == "repush"
    assert "parked" in str(line(dry, "M-1")["detail"])
    assert ledger.log_head() == head  # a dry run appends nothing

    control(wdt_server, "/_sim/fault", {"mode": "ok"})
    applied = reconcile(ledger, store, apply=True)
    assert "re-pushed" in str(line(applied, "M-1")["outcome"])
    assert types(ledger, "M-1")[-1] == ("ErpResyncRequested", "reconcile", "ops")
    head = ledger.log_head()
    again = reconcile(ledger, store, apply=True)  # nothing new since: no noise
    assert line(again, "M-1")["action"] == "none"
    assert ledger.log_head() == head

    drain(relays(ledger, wdt_settings, None))
    poll(ledger, store, wdt_settings)
    settled = reconcile(ledger, store, apply=True)
    assert "M-1" in trades(wdt_server)
    assert settled.in_sync == settled.checked == 1
    assert settled.orders == []


def test_erp_behind_waits_inside_the_sla_and_is_re_pushed_past_it(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
) -> None:
    ledger.create(draft("online", order_no="B-1"), **WHO)
    ledger.confirm("B-1", **WHO)
    drain(relays(ledger, wdt_settings, None))
    poll(ledger, store, wdt_settings)  # WDT: 10, unpaid
    ledger.confirm_payment("B-1", Decimal(ledger.get("B-1")["total"]), **WHO)

    inside = reconcile(ledger, store, sla_minutes=30)
    past = reconcile(ledger, store, sla_minutes=0)
    assert line(inside, "B-1")["mismatch"] == "erp_behind"
    assert (line(inside, "B-1")["within_sla"], line(inside, "B-1")["action"]) == (
        True,
        "wait",
    )
    assert (line(past, "B-1")["within_sla"], line(past, "B-1")["action"]) == (
        False,
        "repush",
    )
    assert "no WDT message queued yet" not in str(line(past, "B-1")["detail"])

    drain(relays(ledger, wdt_settings, None))
    poll(ledger, store, wdt_settings)
    assert reconcile(ledger, store).in_sync == 1


def test_erp_first_review_and_ship_are_followed_by_the_poll(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="A-1"), **WHO)
    drain(relays(ledger, wdt_settings, None))
    advance(wdt_server, "A-1", "review", "print", "pick", "scan", "weigh")
    advance(wdt_server, "A-1", "ship", carrier="ZTO", tracking="ZT123")

    poll(ledger, store, wdt_settings, follow=("review", "ship"))

    order = ledger.get("A-1")
    assert order["status"] == "已发货"
    assert order["delivery"]["tracking_no"] == "ZT123"
    assert order["delivery"]["carrier"] == "ZTO"
    assert types(ledger, "A-1")[1:] == [
        ("ErpStatusObserved", "erp-poll", "erp"),
        ("Confirmed", "erp-poll", "erp"),
        ("Shipped", "erp-poll", "erp"),
    ]
    assert reconcile(ledger, store).in_sync == 1


def test_erp_ahead_is_applied_by_reconcile_when_configured_so(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="A-2"), **WHO)
    drain(relays(ledger, wdt_settings, None))
    advance(wdt_server, "A-2", "review")
    advance(wdt_server, "A-2", "ship", tracking="SF9")
    poll(ledger, store, wdt_settings)  # nothing followed automatically
    modes = {"review": StepMode.RECONCILE, "ship": StepMode.RECONCILE}

    dry = reconcile(ledger, store, **modes)
    assert line(dry, "A-2")["mismatch"] == "erp_ahead"
    assert line(dry, "A-2")["steps"] == ["review", "ship"]
    applied = reconcile(ledger, store, apply=True, **modes)
    head = ledger.log_head()
    again = reconcile(ledger, store, apply=True, **modes)

    assert "review, ship" in str(line(applied, "A-2")["outcome"])
    assert types(ledger, "A-2")[-2:] == [
        ("Confirmed", "reconcile", "erp"),
        ("Shipped", "reconcile", "erp"),
    ]
    assert ledger.get("A-2")["delivery"]["tracking_no"] == "SF9"
    assert again.in_sync == 1
    assert ledger.log_head() == head


def test_erp_first_cancel_waits_for_a_person_when_configured(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="C-1"), **WHO)
    drain(relays(ledger, wdt_settings, None))
    advance(wdt_server, "C-1", "cancel")
    poll(ledger, store, wdt_settings, follow=("review", "ship"))
    assert ledger.get("C-1")["status"] == "未确认"  # not followed by itself

    applied = reconcile(ledger, store, apply=True, cancel=StepMode.PERSON)
    assert line(applied, "C-1")["action"] == "task"
    assert [t["kind"] for t in applied.open_tasks] == ["erp_first_step"]
    head = ledger.log_head()
    again = reconcile(ledger, store, apply=True, cancel=StepMode.PERSON)
    assert again.open_tasks[0]["order_no"] == "C-1"
    assert ledger.log_head() == head

    # The person checks with the customer and voids the order on the website.
    ledger.cancel("C-1", reason="customer confirmed", **WHO)
    closed = reconcile(ledger, store, apply=True)
    assert line(closed, "C-1")["outcome"] == "task closed"
    assert closed.open_tasks == []
    assert types(ledger, "C-1")[-1] == ("TaskClosed", "reconcile", "ops")


def test_erp_first_cancel_followed_automatically_when_configured(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("online", order_no="C-2"), **WHO)
    ledger.confirm("C-2", **WHO)
    ledger.confirm_payment("C-2", Decimal(ledger.get("C-2")["total"]), **WHO)
    drain(relays(ledger, wdt_settings, None))
    advance(wdt_server, "C-2", "cancel")

    poll(ledger, store, wdt_settings, follow=("cancel",))

    order = ledger.get("C-2")
    cancelled = ledger.history("C-2")[-1]
    assert order["status"] == "已作废"
    assert order["refund_due"] == order["total"]  # paid: the refund is owed
    assert (cancelled["type"], cancelled["source"]) == ("Cancelled", "erp")
    assert "cancelled in the ERP" in cancelled["reason"]


def test_cancel_blocked_requests_the_intercept_and_leaves_a_task(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="X-1"), **WHO)
    ledger.confirm("X-1", **WHO)
    drain(relays(ledger, wdt_settings, None))
    advance(wdt_server, "X-1", "review")
    ledger.cancel("X-1", reason="customer changed mind", **WHO)
    drain(relays(ledger, wdt_settings, None))
    poll(ledger, store, wdt_settings)
    assert trades(wdt_server)["X-1"]["intercepted"] is True

    applied = reconcile(ledger, store, apply=True)
    head = ledger.log_head()
    again = reconcile(ledger, store, apply=True)

    assert applied.counts["cancel_blocked"] == 1
    assert types(ledger, "X-1")[-2:] == [
        ("ErpInterceptRequested", "reconcile", "ops"),
        ("TaskOpened", "reconcile", "ops"),
    ]
    assert [t["kind"] for t in again.open_tasks] == ["intercept"]
    assert ledger.log_head() == head
    pushes = trades(wdt_server)["X-1"]["pushes"]
    drain(relays(ledger, wdt_settings, None))  # the close goes out once more
    assert trades(wdt_server)["X-1"]["pushes"] == pushes + 1

    # A person rejects it in WDT; the ledger sees 已取消 and settles the task.
    advance(wdt_server, "X-1", "cancel")
    poll(ledger, store, wdt_settings)
    settled = reconcile(ledger, store, apply=True)
    assert settled.in_sync == 1
    assert settled.open_tasks == []


def test_unknown_differences_are_escalated_once(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="U-1"), **WHO)
    ledger.confirm("U-1", **WHO)
    drain(relays(ledger, wdt_settings, None))
    advance(wdt_server, "U-1", "review")
    ledger.cancel("U-1", reason="duplicate order", **WHO)
    advance(wdt_server, "U-1", "ship")  # the warehouse ships it anyway
    poll(ledger, store, wdt_settings)

    applied = reconcile(ledger, store, apply=True, order_no="U-1")
    head = ledger.log_head()
    again = reconcile(ledger, store, apply=True, order_no="U-1")

    assert line(applied, "U-1")["mismatch"] == "unknown"
    assert line(applied, "U-1")["action"] == "escalate"
    assert again.open_tasks[0]["kind"] == "escalation"
    assert line(again, "U-1")["action"] == "none"
    assert ledger.log_head() == head
    store.catch_up_all()
    erp = erp_from_view(store, "U-1", store.tz)
    assert erp is not None
    assert erp["open_task"]["kind"] == "escalation"
    assert erp["mismatch"] is True
    assert erp["observed"]["wdt_code"] == 95
    assert erp["pushed"]["platform_status"] == 90  # the close, unpaid


def test_audit_erp_shows_what_was_observed_and_open_as_of_a_moment(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="H-1"), **WHO)
    ledger.confirm("H-1", **WHO)
    drain(relays(ledger, wdt_settings, None))
    advance(wdt_server, "H-1", "review")
    poll(ledger, store, wdt_settings)
    ledger.cancel("H-1", reason="customer asked", **WHO)
    reviewed_at = datetime.fromisoformat(ledger.history("H-1")[-1]["time"])
    drain(relays(ledger, wdt_settings, None))
    reconcile(ledger, store, apply=True)

    then = erp_as_of(ledger, "H-1", reviewed_at)
    now = erp_as_of(ledger, "H-1", datetime.now(UTC))

    assert then["expected"]["erp_label"] == "已取消"
    assert [o["details"]["erp_label"] for o in then["observed"]] == ["待打单"]
    assert then["open_task"] is None
    assert now["open_task"]["kind"] == "intercept"
