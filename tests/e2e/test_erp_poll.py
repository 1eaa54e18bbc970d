"""Polling WDT's own state back into the ledger, over real HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from orderledger.application import OrderLedger
from orderledger.config import WdtSettings
from orderledger.erp.poll import ErpPoller, PollReport
from orderledger.outbox.clients import WdtClient
from orderledger.outbox.messages import CHINA
from orderledger.projections.store import ProjectionStore
from orderledger.sim.server import SimServer
from tests.e2e.helpers import WHO, drain, relays
from tests.factories import draft
from tests.simfixtures import control


def later() -> datetime:
    """A clock two seconds ahead: the window reaches past this second's changes."""
    return datetime.now(CHINA) + timedelta(seconds=2)


def poller(ledger: OrderLedger, store: ProjectionStore, wdt: WdtSettings) -> ErpPoller:
    return ErpPoller(ledger, WdtClient(wdt), store.engine, settle_seconds=0, now=later)


def test_the_erps_own_steps_become_observations_once(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="P-1"), **WHO)
    ledger.confirm("P-1", **WHO)
    drain(relays(ledger, wdt_settings, None))
    p = poller(ledger, store, wdt_settings)
    for step in ("review", "print", "pick"):
        control(wdt_server, "/_sim/advance", {"tid": "P-1", "step": step})

    first = p.poll_once()
    second = p.poll_once()
    control(
        wdt_server, "/_sim/advance", {"tid": "P-1", "step": "ship", "tracking": "SF77"}
    )
    third = p.poll_once()

    observed = [e for e in ledger.history("P-1") if e["type"] == "ErpStatusObserved"]
    assert (first.recorded, second.recorded, third.recorded) == (1, 0, 1)
    assert [e["details"]["erp_label"] for e in observed] == ["待扫描", "已完成"]
    assert observed[-1]["details"]["observation"]["logistics_no"] == "SF77"
    assert observed[-1]["source"] == "erp"
    assert third.shipments_acked == 1
    assert WdtClient(wdt_settings).query("logistics_sync_query.php", {})["trades"] == []
    assert ledger.get("P-1")["status"] == "已确认"  # the ERP moved; the website did not


def test_a_page_that_shifts_while_paging_is_read_again(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    for i in range(7):
        ledger.create(draft("cod", order_no=f"S-{i}"), **WHO)
    drain(relays(ledger, wdt_settings, None))
    p = ErpPoller(
        ledger,
        WdtClient(wdt_settings),
        store.engine,
        settle_seconds=0,
        page_size=3,
        now=later,
    )
    query = p.client.query
    moved: list[str] = []

    def query_and_meanwhile_review_one(endpoint: str, params: dict[str, str]) -> Any:
        answer = query(endpoint, params)
        if endpoint == "trade_query.php" and params["page_no"] == "0" and not moved:
            # S-0 changes while we page: it leaves the window and the rest shift.
            control(wdt_server, "/_sim/advance", {"tid": "S-0", "step": "freeze"})
            moved.append("S-0")
        return answer

    p.client.query = query_and_meanwhile_review_one  # type: ignore[method-assign]
    report: PollReport = p.poll_once()

    seen = {
        no for no in (f"S-{i}" for i in range(7))
        if any(h["type"] == "ErpStatusObserved" for h in ledger.history(no))
    }  # fmt: skip
    assert report.rereads >= 1
    assert seen == {f"S-{i}" for i in range(7)}


def test_a_trade_modified_exactly_at_a_window_end_is_read_next_time(
    ledger: OrderLedger,
    store: ProjectionStore,
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
) -> None:
    ledger.create(draft("cod", order_no="E-1"), **WHO)
    drain(relays(ledger, wdt_settings, None))
    (trade,) = control(wdt_server, "/_sim/state")
    boundary = datetime.strptime(trade["modified"], "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=CHINA
    )
    clock = [boundary]
    p = ErpPoller(ledger, WdtClient(wdt_settings), store.engine, settle_seconds=0,
                  now=lambda: clock[0])  # fmt: skip

    at_the_edge = p.poll_once()  # window ends exactly at the trade's second
    clock[0] = boundary + timedelta(seconds=30)
    next_time = p.poll_once()  # overlaps the previous window

    assert at_the_edge.window[1] == trade["modified"] and at_the_edge.recorded == 0
    assert next_time.window[0] < trade["modified"] and next_time.recorded == 1
