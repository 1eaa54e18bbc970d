"""The role × endpoint matrix, generated from the one rules table
(application/access.py): every allowed pair succeeds, every other pair is 403
and appends nothing. Against the real server process, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from orderledger.application import OrderLedger
from orderledger.application.access import PERMISSIONS, Role
from orderledger.bootstrap import build_ledger
from orderledger.config import Settings
from orderledger.domain.aftersales import CaseKind
from orderledger.domain.values import Delivery
from tests.api.conftest import Api
from tests.e2e.helpers import WHO
from tests.factories import ORDER_TOTAL, draft

TEA = [{"sku": "TEA-001", "quantity": 1}]
PHONE = "13800138000"  # the factories' customer


def flat_order(no: str) -> dict[str, Any]:
    return {
        "order_no": no, "customer": "张三", "phone": PHONE,
        "address": "科技园南路 88 号", "payment": "online",
        "lines": [{"sku": "TEA-001", "name": "西湖龙井", "quantity": 2,
                   "unit_price": "50.00"}],
    }  # fmt: skip


def _shipped(ledger: OrderLedger, no: str, payment: str) -> None:
    ledger.create(draft(payment, order_no=no), **WHO)
    ledger.confirm(no, **WHO)
    if payment != "cod":
        ledger.confirm_payment(no, Decimal(ORDER_TOTAL), **WHO)
    ledger.ship(no, Delivery("SF", f"SF-{no}"), **WHO)


def _case(ledger: OrderLedger, no: str, kind: CaseKind, upto: str) -> None:
    _shipped(ledger, no, "online")
    ledger.apply_after_sales(no, kind=kind, items=TEA, reason="broken", **WHO)
    if upto == "applied":
        return
    ledger.review_after_sales(no, "AS1", approve=True, **WHO)
    if upto == "approved":
        return
    ledger.receive_after_sales(no, "AS1", accepted=TEA, rejected=[], **WHO)


def _voided_paid(ledger: OrderLedger, no: str) -> None:
    ledger.create(draft("online", order_no=no), **WHO)
    ledger.confirm(no, **WHO)
    ledger.confirm_payment(no, Decimal(ORDER_TOTAL), **WHO)
    ledger.cancel(no, reason="changed mind", **WHO)


def _new(payment: str, confirm: bool = False) -> Callable[[OrderLedger, str], None]:
    def setup(ledger: OrderLedger, no: str) -> None:
        ledger.create(draft(payment, order_no=no), **WHO)
        if confirm:
            ledger.confirm(no, **WHO)

    return setup


Setup = Callable[[OrderLedger, str], None] | None
SETUPS: dict[str, Setup] = {
    "none": None,
    "new": _new("online"),
    "confirmed_online": _new("online", confirm=True),
    "confirmed_cod": _new("cod", confirm=True),
    "shipped_cod": lambda ledger, no: _shipped(ledger, no, "cod"),
    "shipped_paid": lambda ledger, no: _shipped(ledger, no, "online"),
    "applied": lambda ledger, no: _case(ledger, no, CaseKind.RETURN, "applied"),
    "approved": lambda ledger, no: _case(ledger, no, CaseKind.RETURN, "approved"),
    "received_return": lambda ledger, no: _case(ledger, no, CaseKind.RETURN, "done"),
    "received_exchange": lambda ledger, no: _case(
        ledger, no, CaseKind.EXCHANGE, "done"
    ),
    "voided_paid": _voided_paid,
}

# (action, the order's state first, method, path, body)
ENDPOINTS: list[tuple[str, str, str, str, Any]] = [
    ("order.create", "none", "POST", "/orders", flat_order),
    ("order.modify", "new", "POST", "/orders/{no}/modify", {"phone": "13912345678"}),
    ("order.confirm", "new", "POST", "/orders/{no}/confirm", {}),
    ("order.pay", "confirmed_online", "POST", "/orders/{no}/pay",
     {"amount": ORDER_TOTAL}),
    ("order.ship", "confirmed_cod", "POST", "/orders/{no}/ship",
     {"carrier": "SF", "tracking": "SF1"}),
    ("order.receive", "shipped_cod", "POST", "/orders/{no}/receive", {}),
    ("order.refuse", "shipped_cod", "POST", "/orders/{no}/refuse", {"reason": "拒收"}),
    ("order.cancel", "new", "POST", "/orders/{no}/cancel", {"reason": "changed"}),
    ("order.read", "new", "GET", f"/orders/{{no}}?customer_phone={PHONE}", None),
    ("order.reveal", "new", "POST", "/orders/{no}/reveal",
     {"reason": "a delivery question", "customer_phone": PHONE}),
    ("order.history", "new", "GET", "/orders/{no}/history", None),
    ("order.list", "none", "GET", f"/orders?customer_phone={PHONE}", None),
    ("return.apply", "shipped_paid", "POST", "/orders/{no}/returns",
     {"lines": TEA, "reason": "碎了"}),
    ("return.review", "applied", "POST", "/orders/{no}/returns/AS1/review",
     {"approve": True}),
    ("return.receive", "approved", "POST", "/orders/{no}/returns/AS1/receive",
     {"accepted": TEA}),
    ("return.ship", "received_exchange", "POST", "/orders/{no}/returns/AS1/ship",
     {"carrier": "SF", "tracking": "SF-EX"}),
    ("return.refund", "received_return", "POST", "/orders/{no}/returns/AS1/refund",
     {"amount": "50.00"}),
    ("return.refund", "voided_paid", "POST", "/orders/{no}/refunds",
     {"amount": ORDER_TOTAL}),
    ("stats.read", "none", "GET", "/stats", None),
    ("audit.history", "new", "GET", "/audit/orders/{no}", None),
    ("audit.verify", "new", "GET", "/audit/verify/{no}", None),
    ("reconcile.report", "none", "GET", "/reconcile", None),
    ("ops.status", "none", "GET", "/ops/status", None),
    ("console.read", "none", "GET", "/console?status=未确认", None),
    ("console.read", "new", "GET", "/console/orders/{no}", None),
    ("console.reveal", "new", "POST", "/console/orders/{no}/reveal", None),
    ("console.ops", "none", "GET", "/console/ops", None),
    ("console.ledger", "none", "GET", "/console/ledger", None),
    ("console.ledger", "new", "GET", "/console/ledger/export?order_no={no}", None),
]  # fmt: skip


def test_every_action_of_the_rules_table_has_an_endpoint_here() -> None:
    assert {action for action, *_ in ENDPOINTS} == set(PERMISSIONS)


def test_the_role_matrix(api: Api) -> None:
    ledger = build_ledger(Settings(db_url=api.db))
    outcomes: dict[tuple[str, str], int] = {}
    try:
        for n, (action, state, method, path, body) in enumerate(ENDPOINTS):
            for role in Role:
                no = f"M{n}-{role.value}"
                setup = SETUPS[state]
                if setup is not None:
                    setup(ledger, no)
                payload = body(no) if callable(body) else body
                before = ledger.log_head()
                with api.client(role.value) as http:
                    answer = http.request(method, path.format(no=no), json=payload)
                key = (f"{method} {path}", role.value)
                outcomes[key] = answer.status_code
                if role in PERMISSIONS[action]:
                    assert answer.status_code in (200, 201), (key, answer.text)
                else:
                    assert answer.status_code == 403, (key, answer.text)
                    assert answer.json()["error"]["code"] == "forbidden"
                    assert ledger.log_head() == before, key  # nothing appended
    finally:
        ledger.close()
    allowed = sum(1 for code in outcomes.values() if code != 403)
    assert allowed == sum(len(PERMISSIONS[a]) for a, *_ in ENDPOINTS)
