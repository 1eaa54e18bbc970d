"""订单统计: counts and amounts by status, day, product, category or brand."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, case, func, literal, select

from orderledger.application.catalog import Catalog
from orderledger.domain.catalog import CODE_KINDS
from orderledger.domain.errors import InvalidInput
from orderledger.domain.status import WebsiteStatus
from orderledger.projections.formats import money
from orderledger.projections.search import time_range
from orderledger.projections.store import ProjectionStore

STATS_DIMENSIONS = ("status", "day", "product", "category", "brand", "type")


def statistics(
    store: ProjectionStore,
    by: str,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    only: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """订单统计. Amounts by product, category, brand and type leave voided
    orders out. `only`: brand, category or type → the key (a catalog code,
    or a line's own text) the lines must have; then every dimension counts
    the matching lines (status and day too). `names`: the current name of
    each key of the brand, category or type grouped by (the catalog's list)."""
    if by not in STATS_DIMENSIONS:
        raise InvalidInput(f"--by must be one of {', '.join(STATS_DIMENSIONS)}")
    tables = store.live_tables("statistics")
    o, lines = tables.main, tables.child
    assert lines is not None
    in_range = and_(literal(True), *time_range(o.c.ordered_at, since, until))
    if only or by not in ("status", "day"):  # counted from the lines
        return _line_statistics(o, lines, by, in_range, only or {}, names or {}, store)
    voided = o.c.status == WebsiteStatus.VOIDED.value
    live_amount = func.sum(case((voided, 0), else_=o.c.total_cents))
    # Net sales: what was sold and kept; a voided order's refund is not a
    # return of a sale, it was never counted.
    net_amount = func.sum(case((voided, 0), else_=o.c.total_cents - o.c.refunded_cents))
    # `refunded` splits into refunds of sales (returns, excesses: they reduce
    # net sales) and refunds of voided orders (money given back for a sale
    # that never counted): refunded = refunded_sales + refunded_voided.
    refunded_sales = func.sum(case((voided, 0), else_=o.c.refunded_cents))
    refunded_voided = func.sum(case((voided, o.c.refunded_cents), else_=0))
    if by == "status":
        query = (
            select(
                o.c.status.label("key"),
                func.count().label("orders"),
                func.sum(o.c.total_cents).label("amount"),
                func.sum(o.c.paid_cents).label("paid"),
                func.sum(o.c.refunded_cents).label("refunded"),
                refunded_sales.label("refunded_sales"),
                refunded_voided.label("refunded_voided"),
                net_amount.label("net"),
            )
            .where(in_range)
            .group_by(o.c.status)
        )
    else:  # by day
        query = (
            select(
                o.c.order_day.label("key"),
                func.count().label("orders"),
                live_amount.label("amount"),
                func.sum(case((voided, 1), else_=0)).label("voided"),
                func.sum(o.c.refunded_cents).label("refunded"),
                refunded_sales.label("refunded_sales"),
                refunded_voided.label("refunded_voided"),
                net_amount.label("net"),
            )
            .where(in_range)
            .group_by(o.c.order_day)
        )
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by("key")).mappings().all()
    return [_stat_row(by, dict(r), {}) for r in rows]


def catalog_statistics(
    store: ProjectionStore,
    catalog: Catalog,
    by: str,
    since: datetime | None,
    until: datetime | None,
    filters: Mapping[str, str | None],
) -> list[dict[str, Any]]:
    """`statistics` with brand, category and type filters given as a code or
    a name, and the current names of the brand, category or type grouped by
    (`stats` and GET /stats)."""
    return statistics(
        store,
        by,
        since,
        until,
        only=catalog.filter_keys(filters),
        names=catalog.codes(by) if by in CODE_KINDS else None,
    )


def _line_statistics(
    o: Table,
    lines: Table,
    by: str,
    in_range: Any,
    only: Mapping[str, str],
    names: Mapping[str, str],
    store: ProjectionStore,
) -> list[dict[str, Any]]:
    """Counts, quantities and line amounts of the lines that match `only`,
    grouped by `by`; voided orders left out."""
    column = {
        "product": lines.c.sku,
        "status": o.c.status,
        "day": o.c.order_day,
        **{kind: lines.c[f"{kind}_key"] for kind in CODE_KINDS},
    }[by]
    matching = [lines.c[f"{kind}_key"] == key for kind, key in only.items()]
    query = (
        select(
            column.label("key"),
            func.max(lines.c.name).label("name"),
            func.count(func.distinct(lines.c.order_key)).label("orders"),
            func.sum(lines.c.quantity).label("quantity"),
            func.sum(lines.c.amount_cents).label("amount"),
        )
        .select_from(lines.join(o, o.c.order_key == lines.c.order_key))
        .where(in_range, o.c.status != WebsiteStatus.VOIDED.value, *matching)
        .group_by(column)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by("key")).mappings().all()
    return [_stat_row(by, dict(r), names) for r in rows]


def _stat_row(by: str, row: dict[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {by: row["key"], "orders": int(row["orders"])}
    if by == "product":
        out["name"] = row["name"]
    elif by in CODE_KINDS:
        out["name"] = names.get(row["key"], row["key"])
    if "quantity" in row:
        out["quantity"] = int(row["quantity"] or 0)
    out["amount"] = money(row["amount"])
    if "paid" in row:
        out["paid"] = money(row["paid"])
    if "voided" in row:
        out["voided"] = int(row["voided"] or 0)
    if "refunded" in row:
        out["refunded"] = money(row["refunded"])
        out["refunded_sales"] = money(row["refunded_sales"])
        out["refunded_voided"] = money(row["refunded_voided"])
        out["net"] = money(row["net"])
    return out
