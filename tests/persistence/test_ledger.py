"""The application on a real database. Every test body runs on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_ledger
from orderledger.config import Settings
from orderledger.domain.errors import (
    ConcurrencyConflict,
    DuplicateOrder,
    IllegalTransition,
    OrderNotFound,
)
from orderledger.domain.order import order_id
from orderledger.domain.values import Delivery, Source
from tests.factories import ORDER_TOTAL, draft

WHO = {"actor": "amy", "source": Source.BACK_OFFICE}


def test_a_prepaid_order_runs_its_lifecycle_and_reloads_from_the_log(
    ledger: OrderLedger, settings: Settings
) -> None:
    no = ledger.create(
        draft("online", order_no="W-1"), actor="web", source=Source.WEBSITE
    )["order_no"]

    ledger.confirm(no, **WHO)
    ledger.confirm_payment(no, Decimal(ORDER_TOTAL), reference="TX", **WHO)
    ledger.ship(no, Delivery("SF", "SF1"), **WHO)
    ledger.confirm_receipt(no, **WHO)

    reopened = build_ledger(settings)
    view = reopened.get(no)
    reopened.close()
    assert (view["status"], view["version"], view["paid_amount"]) == (
        "已完成",
        5,
        "128.00",
    )
    assert [e["type"] for e in ledger.history(no)] == [
        "Created",
        "Confirmed",
        "PaymentConfirmed",
        "Shipped",
        "ReceiptConfirmed",
    ]


def test_history_records_actor_source_reason_and_time(ledger: OrderLedger) -> None:
    ledger.create(draft("cod", order_no="W-2"), actor="web", source=Source.WEBSITE)

    ledger.cancel("W-2", reason="customer asked", **WHO)

    created, cancelled = ledger.history("W-2")
    assert (created["actor"], created["source"]) == ("web", "website")
    assert (cancelled["actor"], cancelled["source"], cancelled["reason"]) == (
        "amy",
        "back_office",
        "customer asked",
    )
    assert cancelled["time"] >= created["time"]
    assert created["details"]["customer"]["phone"] == "138****8000"
    assert ledger.history("W-2", reveal=True)[0]["details"]["customer"]["phone"] == (
        "13800138000"
    )


def test_a_refused_step_appends_nothing(ledger: OrderLedger) -> None:
    ledger.create(draft("online", order_no="W-3"), **WHO)
    head = ledger.log_head()

    with pytest.raises(IllegalTransition, match="W-3 is 未确认: cannot ship"):
        ledger.ship("W-3", Delivery("SF", "1"), **WHO)

    assert ledger.log_head() == head


def test_an_unknown_order_is_not_found(ledger: OrderLedger) -> None:
    with pytest.raises(OrderNotFound, match="order NOPE not found"):
        ledger.confirm("NOPE", **WHO)
    with pytest.raises(OrderNotFound):
        ledger.history("NOPE")


def test_an_identical_create_returns_the_existing_order(ledger: OrderLedger) -> None:
    first = ledger.create(draft(order_no="W-4"), **WHO)
    head = ledger.log_head()

    again = ledger.create(draft(order_no="W-4"), actor="retry", source=Source.WEBSITE)

    assert (first["created"], again["created"]) == (True, False)
    assert again["version"] == first["version"] == 1
    assert ledger.log_head() == head


def test_a_create_with_a_taken_number_and_other_content_is_refused(
    ledger: OrderLedger,
) -> None:
    ledger.create(draft(order_no="W-5"), **WHO)
    head = ledger.log_head()

    with pytest.raises(DuplicateOrder, match="W-5 already exists with different"):
        ledger.create(draft("cod", order_no="W-5"), **WHO)

    assert ledger.log_head() == head


def test_generated_numbers_are_readable_and_unique(ledger: OrderLedger) -> None:
    numbers = {ledger.create(draft(), **WHO)["order_no"] for _ in range(3)}

    assert len(numbers) == 3
    assert all(
        n.startswith("SO") and len(n) == len("SO20261128-000001") for n in numbers
    )


def test_a_concurrent_change_is_refused_and_nothing_is_half_written(
    ledger: OrderLedger, settings: Settings
) -> None:
    ledger.create(draft("online", order_no="W-6"), **WHO)
    other = build_ledger(settings)
    stale = other.repository.get(order_id("W-6"))
    ledger.confirm("W-6", **WHO)

    stale.cancel(reason="too late", **WHO)
    with pytest.raises(ConcurrencyConflict), other._storage():
        other.save(stale)

    other.close()
    assert ledger.get("W-6")["status"] == "已确认"
    assert [e["version"] for e in ledger.history("W-6")] == [1, 2]


def test_a_long_lived_order_is_snapshotted_and_loads_the_same(
    ledger: OrderLedger, settings: Settings
) -> None:
    ledger.create(draft(order_no="W-7"), **WHO)
    for i in range(60):
        ledger.modify("W-7", address={"detail": f"路 {i} 号"}, **WHO)

    snapshots = list(ledger.snapshots.get(order_id("W-7"))) if ledger.snapshots else []
    reopened = build_ledger(settings)

    assert [s.originator_version for s in snapshots] == [50]
    assert reopened.get("W-7") == ledger.get("W-7")
    assert reopened.get("W-7")["address"]["detail"] == "路 59 号"
    reopened.close()


def test_the_db_option_wins_over_a_stray_eventsourcing_variable(
    db_url: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    stray = f"sqlite:///{tmp_path}/stray.db"
    monkeypatch.setenv("ORDERLEDGER_SQLALCHEMY_URL", stray)
    monkeypatch.setenv("SQLALCHEMY_URL", stray)
    app = build_ledger(Settings(db_url=db_url))

    app.create(draft(order_no="W-8"), **WHO)

    app.close()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM orderledger_events")).scalar()
    engine.dispose()
    assert count == 1
