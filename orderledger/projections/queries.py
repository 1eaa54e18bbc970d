"""Reading the live views: order list (search), order show, statistics, status."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from orderledger.application.order_json import OrderFields, order_json
from orderledger.domain.aftersales import after_sales_label
from orderledger.domain.errors import InvalidInput, OrderNotFound
from orderledger.domain.order import order_id
from orderledger.domain.status import Lifecycle, Payment, Shipping, WebsiteStatus
from orderledger.domain.values import (
    PaymentMethod,
    mask_phone,
)
from orderledger.projections.definitions import ErpStatus
from orderledger.projections.fold import utc_iso
from orderledger.projections.log import count_after, first_time_after
from orderledger.projections.replay import replay_rows
from orderledger.projections.store import ProjectionStore

STATS_DIMENSIONS = ("status", "day", "product", "category", "brand")


def money(amount_cents: int | None) -> str:
    return format(cents_to_amount(amount_cents), ".2f")


def cents_to_amount(amount_cents: int | None) -> Decimal:
    return Decimal(amount_cents or 0) / 100


@dataclass(frozen=True)
class OrderFilter:
    status: WebsiteStatus | None = None
    product: str | None = None
    customer: str | None = None
    phone: str | None = None
    order_no: str | None = None
    mismatch: bool = False  # only orders whose observed ERP state disagrees
    after_sales: str | None = None  # "open", "closed" or "any" (has a case)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50


def parse_status(text: str) -> WebsiteStatus:
    try:
        return WebsiteStatus.from_text(text.strip())
    except ValueError:
        choices = ", ".join(f"{s.value} ({s.code.lower()})" for s in WebsiteStatus)
        raise InvalidInput(f"unknown status {text!r}: use one of {choices}") from None


def _time_range(
    column: Any, since: datetime | None, until: datetime | None
) -> list[Any]:
    conditions = []
    if since is not None:
        conditions.append(column >= utc_iso(since.isoformat()))
    if until is not None:
        conditions.append(column < utc_iso(until.isoformat()))
    return conditions


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


AFTER_SALES_FILTERS = ("open", "closed", "any")


def _after_sales_condition(t: Any, which: str) -> ColumnElement[bool]:
    """售后中 (a case still open), 售后完成 (cases, all closed), or any case."""
    if which == "open":
        return t.c.after_sales_open > 0  # type: ignore[no-any-return]
    if which == "closed":
        return and_(t.c.after_sales_cases > 0, t.c.after_sales_open == 0)
    if which == "any":
        return t.c.after_sales_cases > 0  # type: ignore[no-any-return]
    raise InvalidInput(f"--after-sales must be one of {', '.join(AFTER_SALES_FILTERS)}")


def list_orders(
    store: ProjectionStore, f: OrderFilter, tz: tzinfo
) -> list[dict[str, Any]]:
    """订单查询 from the search view, newest first. Phones are masked."""
    t = store.live_tables("search").main
    conditions: list[Any] = _time_range(t.c.ordered_at, f.since, f.until)
    if f.status is not None:
        conditions.append(t.c.status == f.status.value)
    if f.product:
        conditions.append(_contains(t.c.products, f.product))
    if f.customer:
        conditions.append(
            or_(
                _contains(t.c.customer_name, f.customer),
                _contains(t.c.contact, f.customer),
                _contains(t.c.receiver, f.customer),
            )
        )
    if f.phone:
        conditions.append(
            or_(_contains(t.c.phone, f.phone), _contains(t.c.receiver_phone, f.phone))
        )
    if f.order_no:
        conditions.append(_contains(t.c.order_no, f.order_no))
    if f.after_sales is not None:
        conditions.append(_after_sales_condition(t, f.after_sales))
    if f.mismatch:
        erp = store.live_tables("erp_status").main
        disagreeing = select(erp.c.order_key).where(erp.c.mismatch.is_(True))
        conditions.append(t.c.order_key.in_(disagreeing))
    query = (
        select(t)
        .where(and_(literal(True), *conditions))
        .order_by(t.c.ordered_at.desc(), t.c.order_no)
        .limit(f.limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        sides = _erp_labels(store, conn, [r["order_key"] for r in rows])
    return [{**_summary(dict(r), tz), **sides.get(r["order_key"], {})} for r in rows]


def _erp_labels(
    store: ProjectionStore, conn: Any, keys: list[str]
) -> dict[str, dict[str, Any]]:
    """Both sides of the ERP for the listed orders, from the ERP-status view."""
    if not keys:
        return {}
    e = store.live_tables("erp_status").main
    rows = conn.execute(
        select(
            e.c.order_key, e.c.expected_erp_label, e.c.observed_erp_label,
            e.c.observed_wdt_code, e.c.mismatch, e.c.open_task,
        ).where(e.c.order_key.in_(keys))
    ).all()  # fmt: skip
    return {
        key: {
            "erp_expected": expected,
            "erp_observed": observed,
            "erp_observed_code": code,
            "erp_mismatch": bool(mismatch),
            "open_task": task,
        }
        for key, expected, observed, code, mismatch, task in rows
    }


def _summary(row: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    return {
        "order_no": row["order_no"],
        "status": row["status"],
        "status_code": row["status_code"],
        "payment": row["payment_method"],
        "total": money(row["total_cents"]),
        "paid_amount": money(row["paid_cents"]),
        "refunded_amount": money(row["refunded_cents"]),
        "after_sales": after_sales_label(
            row["after_sales_cases"], row["after_sales_open"]
        ),
        "customer": row["customer_name"],
        "phone": mask_phone(row["phone"]),
        "ordered_at": _local(row["ordered_at"], tz),
        "updated_at": _local(row["updated_at"], tz),
        "version": row["version"],
    }


def _local(utc_text: str, tz: tzinfo) -> str:
    return datetime.fromisoformat(utc_text).astimezone(tz).isoformat()


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
        customer={
            "name": row["customer_name"],
            "contact": row["contact"],
            "phone": row["phone"],
        },
        address=json.loads(row["address_json"]),
        lines=json.loads(row["lines_json"]),
        delivery=json.loads(delivery) if delivery else None,
        cases=json.loads(row["after_sales_json"]),
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
            "at": _local(row["pushed_at"], tz),
        }
    task = None
    if row["open_task"] is not None:
        task = {
            "kind": row["open_task"],
            "detail": row["open_task_detail"],
            "since": _local(row["open_task_since"], tz),
        }
    return {
        "expected": {
            "erp_label": row["expected_erp_label"],
            "wdt_codes": [int(c) for c in row["expected_wdt_codes"].split(",")],
            "platform_status": row["expected_platform_status"],
            "note": row["expected_note"],
            "since": _local(row["expected_since"], tz),
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


def statistics(
    store: ProjectionStore,
    by: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """订单统计. Amounts by product, category and brand leave voided orders out."""
    if by not in STATS_DIMENSIONS:
        raise InvalidInput(f"--by must be one of {', '.join(STATS_DIMENSIONS)}")
    tables = store.live_tables("statistics")
    o, lines = tables.main, tables.child
    assert lines is not None
    in_range = and_(literal(True), *_time_range(o.c.ordered_at, since, until))
    voided = o.c.status == WebsiteStatus.VOIDED.value
    live_amount = func.sum(case((voided, 0), else_=o.c.total_cents))
    # Net sales: what was sold and kept; a voided order's refund is not a
    # return of a sale, it was never counted.
    net_amount = func.sum(case((voided, 0), else_=o.c.total_cents - o.c.refunded_cents))
    if by == "status":
        query = (
            select(
                o.c.status.label("key"),
                func.count().label("orders"),
                func.sum(o.c.total_cents).label("amount"),
                func.sum(o.c.paid_cents).label("paid"),
                func.sum(o.c.refunded_cents).label("refunded"),
                net_amount.label("net"),
            )
            .where(in_range)
            .group_by(o.c.status)
        )
    elif by == "day":
        query = (
            select(
                o.c.order_day.label("key"),
                func.count().label("orders"),
                live_amount.label("amount"),
                func.sum(case((voided, 1), else_=0)).label("voided"),
                func.sum(o.c.refunded_cents).label("refunded"),
                net_amount.label("net"),
            )
            .where(in_range)
            .group_by(o.c.order_day)
        )
    else:
        column = {
            "product": lines.c.sku,
            "category": lines.c.category,
            "brand": lines.c.brand,
        }[by]
        query = (
            select(
                column.label("key"),
                func.max(lines.c.name).label("name"),
                func.count(func.distinct(lines.c.order_key)).label("orders"),
                func.sum(lines.c.quantity).label("quantity"),
                func.sum(lines.c.amount_cents).label("amount"),
            )
            .select_from(lines.join(o, o.c.order_key == lines.c.order_key))
            .where(in_range, ~voided)
            .group_by(column)
        )
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by("key")).mappings().all()
    return [_stat_row(by, dict(r)) for r in rows]


def _stat_row(by: str, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {by: row["key"], "orders": int(row["orders"])}
    if by == "product":
        out["name"] = row["name"]
    if "quantity" in row:
        out["quantity"] = int(row["quantity"] or 0)
    out["amount"] = money(row["amount"])
    if "paid" in row:
        out["paid"] = money(row["paid"])
    if "voided" in row:
        out["voided"] = int(row["voided"] or 0)
    if "refunded" in row:
        out["refunded"] = money(row["refunded"])
        out["net"] = money(row["net"])
    return out


def projection_status(store: ProjectionStore) -> list[dict[str, Any]]:
    """Per projection: generation, tracked position, head, lag in events and seconds."""
    store.ensure()
    now = datetime.now(UTC)
    out = []
    with store.engine.connect() as conn:
        log_head = store.head()
        for name, projection in store.projections.items():
            reg = store.registry_row(name) or {}
            generation = int(reg["live_generation"])
            position = store.position(name, generation, conn)
            oldest = first_time_after(conn, store.events, position)
            lag_seconds = (
                0.0
                if oldest is None
                else (now - datetime.fromisoformat(oldest)).total_seconds()
            )
            building = reg.get("building_generation")
            out.append(
                {
                    "name": name,
                    "generation": generation,
                    "position": position,
                    "head": log_head,
                    "lag_events": count_after(conn, store.events, position),
                    "lag_seconds": round(max(lag_seconds, 0.0), 3),
                    "version": reg.get("live_version"),
                    "code_version": projection.version,
                    "stale": reg.get("live_version") != projection.version,
                    "rebuilding_generation": building,
                    "rebuilding_position": (
                        None
                        if building is None
                        else store.position(name, int(building), conn)
                    ),
                    "poisoned": store.poisoned_orders(name, generation),
                }
            )
    return out
