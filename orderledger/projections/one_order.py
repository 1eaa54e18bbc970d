"""One order as the views know it (`order show`): its state and both sides of
the ERP, or the same folds replayed from the log."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, select

from orderledger.application.order_json import OrderFields, order_json
from orderledger.domain.errors import OrderNotFound
from orderledger.domain.order import order_id
from orderledger.domain.status import Lifecycle, Payment, Shipping
from orderledger.domain.values import (
    PaymentMethod,
)
from orderledger.projections.definitions import ErpStatus
from orderledger.projections.formats import cents_to_amount, local_time
from orderledger.projections.replay import replay_rows
from orderledger.projections.store import ProjectionStore


def log_version(store: ProjectionStore, order_no: str) -> int:
    """The order's latest version in the log itself (0 if it has none)."""
    events = store.events
    with store.engine.connect() as conn:
        value = conn.execute(
            select(func.max(events.c.originator_version)).where(
                events.c.originator_id == order_id(order_no)
            )
        ).scalar()
    return int(value or 0)


def order_from_view(
    store: ProjectionStore, order_no: str, tz: tzinfo, *, reveal: bool = False
) -> dict[str, Any] | None:
    """The order as the order-status view has it, in `order show`'s shape."""
    t = store.live_tables("order_status").main
    with store.engine.connect() as conn:
        found = (
            conn.execute(select(t).where(t.c.order_no == order_no)).mappings().first()
        )
    if found is None:
        return None
    row = dict(found)
    delivery = row["delivery_json"]
    personal = store.unseal(
        {
            "customer": json.loads(row["customer_json"]),
            "address": json.loads(row["address_json"]),
        }
    )
    fields = OrderFields(
        order_no=row["order_no"],
        lifecycle=Lifecycle(row["lifecycle"]),
        payment=Payment(row["payment_status"]),
        shipping=Shipping(row["shipping_status"]),
        method=PaymentMethod(row["payment_method"]),
        total=cents_to_amount(row["total_cents"]),
        shipping_fee=cents_to_amount(row["shipping_fee_cents"]),
        paid=cents_to_amount(row["paid_cents"]),
        refund_due=cents_to_amount(row["refund_due_cents"]),
        refunded=cents_to_amount(row["refunded_cents"]),
        ordered_at=datetime.fromisoformat(row["ordered_at"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        version=row["version"],
        customer=personal["customer"],
        address=personal["address"],
        lines=json.loads(row["lines_json"]),
        delivery=json.loads(delivery) if delivery else None,
        cases=json.loads(row["after_sales_json"]),
        refused=json.loads(row["refused_json"]),
    )
    return order_json(fields, tz, reveal=reveal)


def erp_section(row: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    """Both sides of the ERP for `order show`, from an ERP-status row."""
    observed = None
    if row["observed_json"] is not None:
        observed = {
            "erp_label": row["observed_erp_label"],
            "reported_at": row["observed_at"],
            **json.loads(row["observed_json"]),
        }
    pushed = None
    if row["pushed_at"] is not None:
        pushed = {
            "platform_status": row["pushed_platform_status"],
            "at": local_time(row["pushed_at"], tz),
        }
    task = None
    if row["open_task"] is not None:
        task = {
            "kind": row["open_task"],
            "detail": row["open_task_detail"],
            "since": local_time(row["open_task_since"], tz),
        }
    return {
        "expected": {
            "erp_label": row["expected_erp_label"],
            "wdt_codes": [int(c) for c in row["expected_wdt_codes"].split(",")],
            "platform_status": row["expected_platform_status"],
            "note": row["expected_note"],
            "since": local_time(row["expected_since"], tz),
        },
        "pushed": pushed,
        "observed": observed,
        "mismatch": bool(row["mismatch"]),
        "open_task": task,
    }


def erp_from_view(
    store: ProjectionStore, order_no: str, tz: tzinfo
) -> dict[str, Any] | None:
    t = store.live_tables("erp_status").main
    with store.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.order_no == order_no)).mappings().first()
    return None if row is None else erp_section(dict(row), tz)


def erp_from_log(store: ProjectionStore, order_no: str, tz: tzinfo) -> dict[str, Any]:
    rows = replay_rows(store, ErpStatus(), originator=order_id(order_no))
    row = next(iter(rows), None)
    if row is None:
        raise OrderNotFound(f"order {order_no} not found")
    return erp_section(row, tz)
