"""The HTTP contract against the real server process, on SQLite and
PostgreSQL: safe retries (Idempotency-Key), optimistic concurrency (ETag /
If-Match), errors a client can act on, the website's customer scope, and
who the events say acted."""

from __future__ import annotations

import json

from tests.api.conftest import Api
from tests.api.test_roles import PHONE, flat_order
from tests.cli.test_cli import events_in, run

MASKED = "138****8000"


def test_a_retry_with_the_same_key_appends_nothing_and_repeats_the_reply(
    api: Api,
) -> None:
    with api.client("website") as web, api.client("back_office") as office:
        first = web.post(
            "/orders", json=flat_order("H-1"), headers={"Idempotency-Key": "c1"}
        )
        again = web.post(
            "/orders", json=flat_order("H-1"), headers={"Idempotency-Key": "c1"}
        )
        office.post("/orders/H-1/confirm")
        paid = [
            office.post("/orders/H-1/pay", json={"amount": "50.00"},
                        headers={"Idempotency-Key": "p1"})
            for _ in range(3)
        ]  # fmt: skip
        other_body = office.post(
            "/orders/H-1/pay",
            json={"amount": "1.00"},
            headers={"Idempotency-Key": "p1"},
        )
        elsewhere = office.post(
            "/orders/H-1/confirm", headers={"Idempotency-Key": "p1"}
        )

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json() and first.headers["ETag"] == '"1"'
    assert {p.status_code for p in paid} == {200}
    assert len({p.text for p in paid}) == 1
    assert paid[0].json()["paid_amount"] == "50.00"  # once, not 150.00
    for refused in (other_body, elsewhere):
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "idempotency_key_reused"
    history = json.loads(run(api.db, "--json", "order", "history", "H-1").stdout)
    assert [e["type"] for e in history] == ["Created", "Confirmed", "PaymentConfirmed"]


def test_a_write_on_a_stale_version_is_412_and_appends_nothing(api: Api) -> None:
    with api.client("website") as web, api.client("back_office") as office:
        web.post("/orders", json=flat_order("E-1"))
        read = office.get("/orders/E-1")
        confirmed = office.post(
            "/orders/E-1/confirm", headers={"If-Match": read.headers["ETag"]}
        )
        before = events_in(api.db)
        stale = office.post(
            "/orders/E-1/pay", json={"amount": "1.00"}, headers={"If-Match": '"1"'}
        )
        garbled = office.post("/orders/E-1/pay", json={"amount": "1.00"},
                              headers={"If-Match": "yesterday"})  # fmt: skip

    assert read.headers["ETag"] == '"1"'
    assert confirmed.status_code == 200 and confirmed.headers["ETag"] == '"2"'
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "version_mismatch"
    assert garbled.status_code == 422
    assert events_in(api.db) == before


def test_errors_carry_a_stable_code_and_nothing_of_the_inside(api: Api) -> None:
    sql = "张三'); DROP TABLE orderledger_events; --"
    with api.client("website") as web, api.client("back_office") as office:
        created = web.post("/orders", json={**flat_order("X-1"), "customer": sql})
        before = events_in(api.db)
        answers = {
            "malformed": office.post("/orders/X-1/pay", content=b'{"amount": "1.0'),
            "wrong_type": web.post("/orders", json={**flat_order("X-2"), "lines": [
                {"sku": "T", "name": "n", "quantity": "many", "unit_price": "1.00"}]}),
            "unknown_field": web.post(
                "/orders", json={**flat_order("X-3"), "actor": "钱七"}
            ),
            "huge": web.post("/orders", content=b'{"pad": "' + b"x" * 70_000 + b'"}'),
            "unknown_order": office.post("/orders/NOPE/confirm"),
            "reason_type": office.post("/orders/X-1/cancel", json={"reason": 5}),
            "refused": office.post(
                "/orders/X-1/ship", json={"carrier": "SF", "tracking": "1"}
            ),
            "no_token": api.client().get("/orders/X-1"),
        }  # fmt: skip
        with api.client() as anonymous:
            answers["bad_token"] = anonymous.get(
                "/orders/X-1", headers={"Authorization": "Bearer olt_nope"}
            )

    expected = {
        "malformed": (422, "invalid_input"),
        "wrong_type": (422, "invalid_input"),
        "unknown_field": (422, "invalid_input"),
        "huge": (413, "body_too_large"),
        "unknown_order": (404, "order_not_found"),
        "reason_type": (422, "invalid_input"),
        "refused": (409, "transition_refused"),
        "no_token": (401, "unauthorized"),
        "bad_token": (401, "unauthorized"),
    }
    assert {
        k: (a.status_code, a.json()["error"]["code"]) for k, a in answers.items()
    } == expected
    refused = answers["refused"].json()["error"]
    assert (refused["order_status"], refused["allowed_actions"]) == (
        "未确认",
        ["modify", "confirm", "cancel"],
    )
    for answer in answers.values():
        assert "Traceback" not in answer.text and "SELECT" not in answer.text
    assert events_in(api.db) == before  # no refusal appended anything
    assert created.status_code == 201 and created.json()["customer"]["name"] == sql


def test_the_website_sees_only_the_customer_it_names(api: Api) -> None:
    other = {**flat_order("C-2"), "phone": "13912345678", "customer": "李四"}
    with api.client("website") as web:
        web.post("/orders", json=flat_order("C-1"))
        web.post("/orders", json=other)
        mine = web.get("/orders/C-1", params={"customer_phone": PHONE})
        theirs = web.get("/orders/C-2", params={"customer_phone": PHONE})
        revealed = web.post(
            "/orders/C-1/reveal",
            json={"reason": "客户查询收货信息", "customer_phone": PHONE},
        )
        not_theirs = web.post(
            "/orders/C-2/reveal", json={"reason": "x", "customer_phone": PHONE}
        )
        no_reason = web.post("/orders/C-1/reveal", json={"customer_phone": PHONE})
        unscoped = web.get("/orders")
        listed = web.get("/orders", params={"customer_phone": PHONE})
    with api.client("auditor") as auditor:
        audited = auditor.get("/orders/C-2")

    assert mine.status_code == 200 and mine.json()["customer"]["phone"] == MASKED
    assert theirs.status_code == 404  # never says whose order it is
    assert revealed.status_code == 200
    assert revealed.json()["customer"]["phone"] == PHONE
    assert (not_theirs.status_code, no_reason.status_code) == (404, 422)
    history = json.loads(run(api.db, "--json", "order", "history", "C-1").stdout)
    assert [(e["type"], e["actor"], e["reason"]) for e in history][-1] == (
        "PersonalDataRevealed",
        "website-1",
        "客户查询收货信息",
    )
    assert unscoped.status_code == 422
    assert unscoped.json()["error"]["code"] == "customer_required"
    assert [o["order_no"] for o in listed.json()] == ["C-1"]
    assert audited.json()["customer"]["phone"] == "139****5678"  # masked


def test_the_events_record_the_token_never_the_body(api: Api) -> None:
    with api.client("website") as web:
        web.post("/orders", json={**flat_order("A-1"), "on_behalf_of": "张三"})
        web.post("/orders/A-1/cancel", json={"reason": "不要了"})
    tokens = json.loads(run(api.db, "--json", "token", "list").stdout)
    (website,) = [t["id"] for t in tokens if t["name"] == "website-1"]
    revoked = run(api.db, "token", "revoke", str(website))
    assert revoked.exit_code == 0, revoked.output
    with api.client("website") as web:
        after_revoke = web.get("/orders/A-1", params={"customer_phone": PHONE})

    history = json.loads(run(api.db, "--json", "order", "history", "A-1").stdout)
    assert [(e["actor"], e["source"]) for e in history] == [
        ("website-1 for 张三", "website"),
        ("website-1", "website"),
    ]
    assert after_revoke.status_code == 401


def test_health_readiness_and_the_openapi_document(api: Api) -> None:
    with api.client() as anonymous:
        health = anonymous.get("/healthz")
        ready = anonymous.get("/readyz")
        document = anonymous.get("/openapi.json")

    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert set(ready.json()["outbox_lag_events"]) == {
        "wdt",
        "u8",
        "crm",
        "wdt-goods",
        "u8-inventory",
    }
    paths = document.json()["paths"]
    for path in ("/orders", "/orders/{order_no}/confirm", "/orders/{order_no}/pay",
                 "/orders/{order_no}/ship", "/orders/{order_no}/receive",
                 "/orders/{order_no}/cancel", "/orders/{order_no}",
                 "/orders/{order_no}/history"):  # fmt: skip
        assert path in paths


def test_the_search_and_statistics_take_the_cli_filters(api: Api) -> None:
    with api.client("website") as web:
        for no in ("F-1", "F-2", "G-1"):
            web.post("/orders", json=flat_order(no))
    with api.client("back_office") as office:
        office.post("/orders/F-2/confirm")
        by_number = office.get("/orders", params={"order_no": "F-"})
        confirmed = office.get("/orders", params={"order_no": "F-", "status": "已确认"})
        today = office.get(
            "/orders", params={"since": "2000-01-01", "until": "2000-01-02"}
        )
        bad_time = office.get("/orders", params={"since": "yesterday"})
        stats = office.get("/stats", params={"by": "status"})
        bad_by = office.get("/stats", params={"by": "colour"})

    assert sorted(o["order_no"] for o in by_number.json()) == ["F-1", "F-2"]
    assert [o["order_no"] for o in confirmed.json()] == ["F-2"]
    assert today.json() == []  # nothing was ordered in 2000
    assert bad_time.status_code == 422 and bad_by.status_code == 422
    counts = {row["status"]: row["orders"] for row in stats.json()}
    assert counts == {"未确认": 2, "已确认": 1}
