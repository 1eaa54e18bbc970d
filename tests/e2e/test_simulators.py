"""The simulators over real HTTP: signing, limits, WDT's status machine and
cancel rules, U8's biz_id idempotency, and the fault controls."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest

from orderledger.config import Secret, U8Settings, WdtSettings
from orderledger.outbox.clients import RateLimited, TransientError, U8Client, WdtClient
from orderledger.outbox.wdt_protocol import signed
from orderledger.sim.server import SimServer
from tests.simfixtures import WDT_SECRET, control, trades


def trade(tid: str, status: int = 30, name: str = "张三") -> dict[str, Any]:
    return {
        "tid": tid,
        "trade_status": status,
        "receiver_name": name,
        "order_list": [{"oid": f"{tid}-1", "goods_no": "A", "num": 1}],
    }


def push(client: WdtClient, *trades_: dict[str, Any]) -> list[tuple[str, bool, str]]:
    return [(o.key, o.ok, o.error) for o in client.push_trades(list(trades_))]


def raw_post(server: SimServer, endpoint: str, params: dict[str, str]) -> Any:
    request = urllib.request.Request(
        f"{server.url}/openapi2/{endpoint}",
        data=urlencode(params).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_a_push_with_a_bad_signature_or_an_old_timestamp_is_refused(
    wdt_server: SimServer,
) -> None:
    base = {"shop_no": "s", "switch": "0", "trade_list": json.dumps([trade("T1")])}
    good = signed(
        base,
        sid="sid-1",
        appkey="key-1",
        appsecret=WDT_SECRET,
        timestamp=int(time.time()),
    )

    tampered = raw_post(wdt_server, "trade_push.php", {**good, "shop_no": "other"})
    stale = raw_post(
        wdt_server,
        "trade_push.php",
        signed(
            base,
            sid="sid-1",
            appkey="key-1",
            appsecret=WDT_SECRET,
            timestamp=int(time.time()) - 900,
        ),
    )
    accepted = raw_post(wdt_server, "trade_push.php", good)

    assert tampered["code"] == 3 and "signature" in tampered["message"]
    assert stale["code"] == 7
    assert accepted["code"] == 0 and accepted["new_count"] == 1


def test_chinese_text_is_signed_by_characters(
    wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    client = WdtClient(wdt_settings)

    assert push(client, trade("T-中文", name="欧阳娜娜")) == [("T-中文", True, "")]
    assert trades(wdt_server)["T-中文"]["receiver_name"] == "欧阳娜娜"


def test_pushing_a_known_tid_updates_it(
    wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    client = WdtClient(wdt_settings)

    push(client, trade("T2", 10))
    push(client, trade("T2", 30))

    (t2,) = trades(wdt_server).values()
    assert (t2["pushes"], t2["platform_history"], t2["system_status"]) == (
        2,
        [10, 30],
        30,
    )


def test_at_most_fifty_trades_per_push(wdt_settings: WdtSettings) -> None:
    client = WdtClient(wdt_settings)

    with pytest.raises(TransientError, match="at most 50"):
        client.push_trades([trade(f"T{i}") for i in range(51)])


def test_one_bad_trade_in_a_batch_gets_its_own_error(
    wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    control(wdt_server, "/_sim/fault", {"mode": "reject", "key": "BAD"})

    results = push(WdtClient(wdt_settings), trade("A"), trade("BAD"), trade("C"))

    assert [(tid, ok) for tid, ok, _ in results] == [
        ("A", True),
        ("BAD", False),
        ("C", True),
    ]
    assert set(trades(wdt_server)) == {"A", "C"}


@pytest.mark.parametrize(
    ("steps", "close_outcome", "system_status"),
    [
        ([], True, 5),  # 待客审: a pushed close cancels it
        (["review"], True, 55),  # 已审核: intercepted, waits for a person
        (["review", "print", "pick", "scan", "weigh", "ship"], False, 95),  # refused
        (["review", "freeze"], True, 5),  # frozen: can be cancelled
    ],
)
def test_wdt_cancel_rules(
    wdt_settings: WdtSettings,
    wdt_server: SimServer,
    steps: list[str],
    close_outcome: bool,
    system_status: int,
) -> None:
    client = WdtClient(wdt_settings)
    push(client, trade("C1", 30))
    for step in steps:
        control(wdt_server, "/_sim/advance", {"tid": "C1", "step": step})

    ((_, ok, error),) = push(client, trade("C1", 80))

    state = trades(wdt_server)["C1"]
    assert ok is close_outcome, error
    assert state["system_status"] == system_status
    assert state["intercepted"] is (steps == ["review"])


def test_review_waits_for_payment_and_steps_need_a_review(
    wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    push(WdtClient(wdt_settings), trade("U1", 10))

    with pytest.raises(urllib.error.HTTPError) as refused:
        control(wdt_server, "/_sim/advance", {"tid": "U1", "step": "review"})

    assert refused.value.code == 409


def test_trade_query_pages_by_modified_window_and_logistics_are_acknowledged(
    wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    client = WdtClient(wdt_settings)
    push(client, *[trade(f"Q{i}") for i in range(45)])
    control(wdt_server, "/_sim/advance", {"tid": "Q1", "step": "review"})
    control(
        wdt_server, "/_sim/advance", {"tid": "Q1", "step": "ship", "tracking": "SF9"}
    )
    window = {"start_time": "2000-01-01 00:00:00", "end_time": "2100-01-01 00:00:00"}

    first = client.query(
        "trade_query.php", {**window, "page_no": "0", "page_size": "40"}
    )
    second = client.query(
        "trade_query.php", {**window, "page_no": "1", "page_size": "40"}
    )
    shipments = client.query("logistics_sync_query.php", {})
    client.query(
        "logistics_sync_ack.php",
        {
            "logistics_list": json.dumps(
                [{"rec_id": shipments["trades"][0]["rec_id"], "status": 0}]
            )
        },
    )
    after_ack = client.query("logistics_sync_query.php", {})

    assert (
        first["total_count"] == 45
        and len(first["trades"]) == 40
        and len(second["trades"]) == 5
    )
    tids = [t["src_tid"] for t in first["trades"] + second["trades"]]
    assert len(set(tids)) == 45 and tids[-1] == "Q1"  # the last one modified comes last
    assert [(s["tid"], s["logistics_no"]) for s in shipments["trades"]] == [
        ("Q1", "SF9")
    ]
    assert after_ack["trades"] == []


def test_faults_down_500_slow_malformed_and_rate_limit(
    wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    fast = WdtSettings(
        wdt_settings.url, "sid-1", "key-1", Secret(WDT_SECRET), timeout=0.5
    )
    client = WdtClient(fast)
    outcomes = {}
    for mode in ("down", "error500", "malformed", "slow", "ratelimit"):
        control(wdt_server, "/_sim/fault", {"mode": mode, "seconds": 1.5, "count": 1})
        try:
            push(client, trade("F1"))
            outcomes[mode] = "ok"
        except RateLimited:
            outcomes[mode] = "rate limited"
        except TransientError as error:
            outcomes[mode] = str(error)

    assert "disconnected" in outcomes["down"] or "Connect" in outcomes["down"]
    assert "HTTP 500" in outcomes["error500"]
    assert "not JSON" in outcomes["malformed"]
    assert "timed out" in outcomes["slow"]
    assert outcomes["ratelimit"] == "rate limited"
    assert push(client, trade("F1")) == [("F1", True, "")]  # count=1: back to normal


def test_the_simulator_refuses_calls_past_its_per_minute_limit(
    wdt_settings: WdtSettings, wdt_server: SimServer
) -> None:
    client = WdtClient(wdt_settings)
    assert control(wdt_server, "/_sim/limit", {"calls_per_minute": 3})["refused"] == 0
    answers = []
    for i in range(5):
        try:
            push(client, trade(f"L{i}"))
            answers.append("ok")
        except RateLimited:
            answers.append("rate limited")

    assert answers == ["ok", "ok", "ok", "rate limited", "rate limited"]
    assert control(wdt_server, "/_sim/limit") == {"calls_per_minute": 3, "refused": 2}
    assert set(trades(wdt_server)) == {"L0", "L1", "L2"}  # refused: not taken
    control(wdt_server, "/_sim/limit", {"calls_per_minute": None})
    assert push(client, trade("L3")) == [("L3", True, "")]


def test_u8_biz_id_is_idempotent_and_tokens_are_renewed(
    u8_settings: U8Settings, u8_server: SimServer
) -> None:
    client = U8Client(u8_settings)

    first = client.add("saleorder", "B-1", {"saleorder": {"code": "1"}})
    control(u8_server, "/_sim/advance", {"step": "expire_tokens"})
    again = client.add("saleorder", "B-1", {"saleorder": {"code": "1"}})
    other = client.add("accept", "B-2", {"accept": {"amount": "1.00"}})
    unknown = client.add("nonsense", "B-3", {"nonsense": {}})

    assert first.ok and again.ok and first.remote_id == again.remote_id
    assert other.ok and other.remote_id != first.remote_id
    assert not unknown.ok and "20001" in unknown.error
    docs = control(u8_server, "/_sim/state")
    assert [(d["biz_id"], d["resource"], d["posts"]) for d in docs] == [
        ("B-1", "saleorder", 2),
        ("B-2", "accept", 1),
    ]


def test_u8_refuses_a_wrong_secret_without_repeating_it(u8_server: SimServer) -> None:
    wrong = U8Settings(u8_server.url, "shop", "fin", "u8key", Secret("not-the-secret"))

    with pytest.raises(TransientError) as error:
        U8Client(wrong).add("saleorder", "B-9", {"saleorder": {}})

    assert "errcode 40002" in str(error.value) and "not-the-secret" not in str(
        error.value
    )
