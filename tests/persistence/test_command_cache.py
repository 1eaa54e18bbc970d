"""The command cache stays correct with several writers: two ledgers on one
database stand for two processes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_ledger
from orderledger.config import Settings
from orderledger.domain.errors import IllegalTransition
from orderledger.domain.values import Delivery, Source
from tests.factories import draft

WHO = {"actor": "amy", "source": Source.BACK_OFFICE}


@pytest.fixture
def other(settings: Settings) -> OrderLedger:
    app = build_ledger(settings)
    yield app  # type: ignore[misc]
    app.close()


def test_a_command_on_an_outdated_copy_is_decided_again_on_fresh_data(
    ledger: OrderLedger, other: OrderLedger
) -> None:
    ledger.create(draft("online", order_no="C-1"), **WHO)
    ledger.confirm("C-1", **WHO)  # ledger now holds C-1 at v2 in its cache
    other.confirm_payment("C-1", Decimal("128.00"), **WHO)  # v3, elsewhere

    shipped = ledger.ship("C-1", Delivery("SF", "SF1"), **WHO)  # stale copy: unpaid

    assert shipped["status"] == "已发货"
    assert shipped["version"] == 4
    assert [e["type"] for e in other.history("C-1")] == [
        "Created", "Confirmed", "PaymentConfirmed", "Shipped",
    ]  # fmt: skip


def test_a_command_refused_on_fresh_data_stays_refused(
    ledger: OrderLedger, other: OrderLedger
) -> None:
    ledger.create(draft("cod", order_no="C-2"), **WHO)
    ledger.confirm("C-2", **WHO)
    other.cancel("C-2", reason="customer", **WHO)  # ledger's copy says confirmed

    with pytest.raises(IllegalTransition, match="已作废"):
        ledger.ship("C-2", Delivery("SF", "SF2"), **WHO)
    # The failed try left nothing behind: the next command reads fresh data.
    assert ledger.get("C-2")["status"] == "已作废"
    assert ledger.log_head() == 3  # created, confirmed, cancelled: no Shipped


def test_results_come_from_the_try_that_was_saved(
    ledger: OrderLedger, other: OrderLedger
) -> None:
    ledger.create(draft("online", order_no="C-3"), **WHO)
    other.modify("C-3", contact="李四", **WHO)  # ledger's copy: old contact

    again = ledger.modify("C-3", contact="李四", **WHO)  # nothing left to change

    assert again["changed"] is False
    assert again["version"] == 2
