"""The relay against the simulators over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_delivery_store
from orderledger.config import U8Settings, WdtSettings
from orderledger.outbox.relay import RelayPolicy
from orderledger.outbox.store import ACKED, PARKED
from orderledger.sim.server import SimServer
from tests.e2e.helpers import WHO, drain, full_lifecycle, is_non_decreasing, relays
from tests.factories import draft
from tests.simfixtures import control, trades


def test_both_payment_flows_reach_wdt_and_u8(
    ledger: OrderLedger,
    wdt_settings: WdtSettings,
    u8_settings: U8Settings,
    wdt_server: SimServer,
    u8_server: SimServer,
) -> None:
    full_lifecycle(ledger, "E-ONLINE", "online")
    full_lifecycle(ledger, "E-COD", "cod")
    ledger.create(draft("postal", order_no="E-VOID"), **WHO)
    ledger.cancel("E-VOID", reason="customer", **WHO)

    drain(relays(ledger, wdt_settings, u8_settings))

    wdt = trades(wdt_server)
    # created, confirmed, paid, shipped by the website (50), completed
    assert wdt["E-ONLINE"]["platform_history"] == [10, 10, 30, 50, 70]
    assert wdt["E-COD"]["platform_history"] == [30, 30, 50, 60, 70]
    assert wdt["E-ONLINE"]["system_status"] == 110
    assert wdt["E-VOID"]["platform_history"] == [10, 90]
    assert wdt["E-VOID"]["system_status"] == 5  # cancelled before review
    docs = control(u8_server, "/_sim/state")
    assert sorted((d["resource"], d["biz_id"].split("-v")[0]) for d in docs) == sorted(
        (r, no)
        for r in ("saleorder", "consignment", "accept")
        for no in ("E-ONLINE", "E-COD")
    )
    assert all(d["posts"] == 1 for d in docs)


def test_an_erp_outage_loses_nothing_and_keeps_order(
    ledger: OrderLedger, wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    """1,000 orders; WDT drops every connection during the middle third."""
    (relay,) = relays(ledger, wdt_settings, None)
    stop = threading.Event()
    follower = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    follower.start()
    expected: dict[str, int] = {}
    try:
        for i in range(1000):
            if i == 333:
                control(wdt_server, "/_sim/fault", {"mode": "down"})
            if i == 666:
                control(wdt_server, "/_sim/fault", {"mode": "ok"})
            no = f"OUT-{i:04d}"
            payment = ("online", "cod", "postal")[i % 3]
            ledger.create(draft(payment, order_no=no), **WHO)
            ledger.confirm(no, **WHO)
            expected[no] = 30 if payment == "cod" else 10
            if payment == "online":
                ledger.confirm_payment(no, Decimal(ledger.get(no)["total"]), **WHO)
                expected[no] = 30
    finally:
        stop.set()
        follower.join(30)
    drain([relay], seconds=120)

    wdt = trades(wdt_server)
    assert build_delivery_store(ledger).blocked("wdt") == []  # an outage kills nothing
    assert len(wdt) == 1000
    assert {no: t["platform_status"] for no, t in wdt.items()} == expected
    assert all(is_non_decreasing(t["platform_history"]) for t in wdt.values())
    assert relay.store.counts("wdt") == {ACKED: ledger.log_head()}


def test_the_rate_limit_is_honoured(
    ledger: OrderLedger, wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    policy = RelayPolicy(
        backoff_base=0.02, backoff_cap=0.2, rate_limit_pause=1.5, poll_seconds=0.05
    )
    (relay,) = relays(ledger, wdt_settings, None, policy)
    ledger.create(draft(order_no="RL-1"), **WHO)
    control(wdt_server, "/_sim/fault", {"mode": "ratelimit", "count": 1})
    stop = threading.Event()

    # Taken before the send: the pause runs from WDT's answer, which comes later.
    limited_at = time.monotonic()
    relay.run(stop, once=True)
    requests_then = wdt_server.sim.requests
    while time.monotonic() - limited_at < 1.0:
        relay.run(stop, once=True)
        time.sleep(0.05)
    requests_during_pause = wdt_server.sim.requests - requests_then
    drain([relay], seconds=10)

    assert requests_then == 1 and requests_during_pause == 0
    assert time.monotonic() - limited_at >= 1.45
    assert trades(wdt_server)["RL-1"]["pushes"] == 1


def test_a_poison_order_is_parked_while_the_rest_flow_then_retried(
    ledger: OrderLedger, wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    (relay,) = relays(ledger, wdt_settings, None)
    control(wdt_server, "/_sim/fault", {"mode": "reject", "key": "BAD-1"})
    for no in ("OK-1", "BAD-1", "OK-2"):
        ledger.create(draft(order_no=no), **WHO)
    drain([relay])
    ledger.confirm("BAD-1", **WHO)  # queues behind the parked create
    ledger.confirm("OK-1", **WHO)
    drain([relay])
    store = build_delivery_store(ledger)

    parked = store.blocked("wdt")
    while_parked = trades(wdt_server)
    control(wdt_server, "/_sim/fault", {"mode": "ok"})
    released = store.release("wdt", "BAD-1")
    drain([relay])

    assert [(p["order_no"], p["event_type"], p["state"]) for p in parked] == [
        ("BAD-1", "Created", PARKED)
    ]
    assert "code 1201" in parked[0]["last_error"]
    assert set(while_parked) == {"OK-1", "OK-2"}
    assert while_parked["OK-1"]["platform_history"] == [10, 10]
    assert released == 1
    assert trades(wdt_server)["BAD-1"]["platform_history"] == [10, 10]
    assert store.blocked("wdt") == []


def test_replay_after_the_erp_lost_its_data_restores_it(
    ledger: OrderLedger,
    wdt_settings: WdtSettings,
    u8_settings: U8Settings,
    wdt_server: SimServer,
    u8_server: SimServer,
) -> None:
    full_lifecycle(ledger, "RP-1", "online")
    ledger.create(draft("cod", order_no="RP-2"), **WHO)
    both = relays(ledger, wdt_settings, u8_settings)
    drain(both)
    before = {no: t["platform_history"] for no, t in trades(wdt_server).items()}
    docs_before = sorted(d["biz_id"] for d in control(u8_server, "/_sim/state"))
    control(wdt_server, "/_sim/reset", {})
    store = build_delivery_store(ledger)

    replayed = store.replay("wdt", from_position=0)
    drain(both)
    again = store.replay("u8", order_no="RP-1")
    drain(both)

    assert replayed == 5 + 1  # RP-1 pushes every step (5); RP-2 its create
    assert {no: t["platform_history"] for no, t in trades(wdt_server).items()} == before
    assert again == 3
    docs = control(u8_server, "/_sim/state")
    assert sorted(d["biz_id"] for d in docs) == docs_before  # no second document
    assert all(d["posts"] == 2 for d in docs)


def test_an_outage_longer_than_the_attempt_limit_is_waited_out(
    ledger: OrderLedger, wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    policy = RelayPolicy(
        backoff_base=0.01, backoff_cap=0.02, max_attempts=3, poll_seconds=0.01
    )
    (relay,) = relays(ledger, wdt_settings, None, policy)
    ledger.create(draft(order_no="LONG-1"), **WHO)
    control(wdt_server, "/_sim/fault", {"mode": "down"})
    stop = threading.Event()

    for _ in range(8):
        relay.run(stop, once=True)
        time.sleep(0.03)
    (row,) = relay.store.messages("wdt")
    control(wdt_server, "/_sim/fault", {"mode": "ok"})
    drain([relay])

    assert row["attempts"] >= 5 and row["state"] == "pending"
    assert trades(wdt_server)["LONG-1"]["pushes"] == 1
