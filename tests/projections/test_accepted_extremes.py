"""Whatever the validators accept, every reader can hold: values at the
bounds go through the aggregate, every view (both databases), statistics and
the message builders without an error and without poisoning an order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderledger.application import OrderLedger
from orderledger.domain.bounds import EARLIEST_TIME, MAX_AMOUNT, MAX_QUANTITY, MAX_TEXT
from orderledger.domain.draft import OrderDraft
from orderledger.domain.order import order_id
from orderledger.domain.values import Delivery, Source
from orderledger.outbox.messages import DESTINATIONS, messages_for
from orderledger.projections.statistics import statistics
from orderledger.projections.store import ProjectionStore
from orderledger.projections.view_status import projection_status

WHO = {"actor": "t", "source": Source.OPS}
NUMBERS = itertools.count(1)

WIDE = st.sampled_from(["张", "𠀀", "😀", "é", "ﾝ", "Ω", " ", "　"])
TEXT = st.one_of(
    st.just("名" * MAX_TEXT),
    st.lists(WIDE, min_size=1, max_size=MAX_TEXT).map("".join),
).filter(lambda t: t.strip())
PHONE = st.sampled_from(
    ["13800138000", "+8613800138000", "010-12345678", "0755 1234 5678",
     "+852 9123 4567", "+14155550100", "86 139 0000 0000"]
)  # fmt: skip
LINE_PRICE = st.sampled_from(["0.00", "0.01", "99.99", str(MAX_AMOUNT)])


@st.composite
def extreme_order(draw: Any) -> dict[str, Any]:
    price = draw(LINE_PRICE)
    quantity = (
        1
        if Decimal(price) * 2 > MAX_AMOUNT
        else draw(
            st.sampled_from(
                [1, 2, MAX_QUANTITY if Decimal(price) <= Decimal("99.99") else 1]
            )
        )
    )
    now = datetime.now(UTC)
    ordered_at = draw(st.sampled_from([EARLIEST_TIME, now + timedelta(hours=23), now]))
    return {
        "order_no": f"X-{next(NUMBERS)}",
        "ordered_at": ordered_at.isoformat(),
        "customer": {"name": draw(TEXT), "contact": draw(TEXT), "phone": draw(PHONE)},
        "payment": draw(st.sampled_from(["online", "postal", "cod"])),
        "address": {
            "receiver": draw(TEXT), "phone": draw(PHONE), "province": draw(TEXT),
            "city": draw(TEXT), "district": draw(TEXT), "detail": draw(TEXT),
        },
        "shipping_fee": "0.00",
        "lines": [
            {"sku": "S" * 64, "name": draw(TEXT), "spec": draw(TEXT),
             "brand": draw(TEXT), "category": draw(TEXT), "quantity": quantity,
             "unit_price": price, "discount": "0.00"}
        ],
    }  # fmt: skip


def lifecycle(ledger: OrderLedger, data: dict[str, Any]) -> None:
    draft = OrderDraft.from_data(data, UTC)
    no = str(draft.order_no)
    view = ledger.create(draft, **WHO)
    ledger.confirm(no, **WHO)
    total = Decimal(view["total"])
    if data["payment"] != "cod":
        ledger.confirm_payment(no, total, **WHO)
    eta = Delivery("S" * 64, "T" * 64, "2100-12-31")
    ledger.ship(no, eta, **WHO)
    ledger.confirm_receipt(no, **WHO)
    if data["payment"] == "cod":
        ledger.confirm_payment(no, total, **WHO)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=extreme_order())
def test_values_at_the_bounds_reach_every_reader(
    ledger: OrderLedger, store: ProjectionStore, data: dict[str, Any]
) -> None:
    lifecycle(ledger, data)
    store.catch_up_all()

    assert all(not row["poisoned"] for row in projection_status(store))
    for by in ("status", "day", "product", "category", "brand"):
        assert statistics(store, by)  # sums over every order so far
    events = list(ledger.events.get(order_id(data["order_no"])))
    order = None
    for event in events:
        order = event.mutate(order)
        for destination in DESTINATIONS:
            messages_for(
                destination, order, type(event).__name__, event.originator_version
            )
    assert ledger.get(data["order_no"])["status"] == "已完成"
