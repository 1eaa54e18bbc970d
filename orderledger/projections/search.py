"""订单查询: finding orders in the search view (`order list`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import orjson
from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from orderledger.domain.aftersales import after_sales_label
from orderledger.domain.draft import parse_time_range
from orderledger.domain.errors import InvalidInput
from orderledger.domain.status import Lifecycle, Payment, Shipping, WebsiteStatus
from orderledger.domain.values import PaymentMethod, mask_phone, parse_phone
from orderledger.projections.fold import utc_iso
from orderledger.projections.formats import local_time, money
from orderledger.projections.store import ProjectionStore

# Names are kept only encrypted, and phones only as a keyed blind index
# (docs/privacy.md): a phone is found when given whole, a name not at all.
EXACT_PHONE = "(search is by the whole number)"
NO_NAME_SEARCH = (
    "orders cannot be searched by name: names are kept only encrypted "
    "(docs/privacy.md); search by the customer's or receiver's whole phone number"
)


@dataclass(frozen=True)
class OrderFilter:
    status: WebsiteStatus | None = None
    product: str | None = None
    customer: str | None = None
    phone: str | None = None
    order_no: str | None = None
    mismatch: bool = False  # only orders whose observed ERP state disagrees
    open_task: bool = False  # only orders waiting for a person
    after_sales: str | None = None  # "open", "closed" or "any" (has a case)
    # The payment axis: "paid" (in full), "unpaid" or "part_paid".
    payment: str | None = None
    customer_phone: str | None = None  # exact: one customer's orders
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0  # for pages after the first

    @classmethod
    def parse(
        cls,
        tz: tzinfo,
        *,
        status: str | None = None,
        customer_phone: str | None = None,
        since: str | None = None,
        until: str | None = None,
        options: bool = False,
        **given: Any,
    ) -> OrderFilter:
        """A filter from what a person or a client typed: a status by label or
        code, a customer's phone exactly, a time range (a bare date includes
        its day); the rest as given. Errors name the CLI's options (`--since`)
        when `options`, else the fields (`since`)."""

        def name(field: str) -> str:
            return "--" + field.replace("_", "-") if options else field

        start, end = parse_time_range(
            since, until, tz, names=(name("since"), name("until"))
        )
        return cls(
            status=parse_status(status) if status else None,
            customer_phone=parse_phone(customer_phone, name("customer_phone"))
            if customer_phone
            else None,
            since=start,
            until=end,
            **given,
        )


def parse_status(text: str) -> WebsiteStatus:
    try:
        return WebsiteStatus.from_text(text.strip())
    except ValueError:
        choices = ", ".join(f"{s.value} ({s.code.lower()})" for s in WebsiteStatus)
        raise InvalidInput(f"unknown status {text!r}: use one of {choices}") from None


def time_range(
    column: Any, since: datetime | None, until: datetime | None
) -> list[Any]:
    conditions = []
    if since is not None:
        conditions.append(column >= utc_iso(since.isoformat()))
    if until is not None:
        conditions.append(column < utc_iso(until.isoformat()))
    return conditions


def _contains(column: Any, text: str, *, lowered: bool = False) -> ColumnElement[bool]:
    """The column holds `text`, whatever its case (`lowered`: the column is
    stored lower-cased already)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    target = column if lowered else func.lower(column)
    return target.like(f"%{escaped}%", escape="\\")


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
    conditions: list[Any] = time_range(t.c.ordered_at, f.since, f.until)
    if f.status is not None:
        conditions.append(t.c.status == f.status.value)
    if f.product:  # stored lower-cased: the column as it is (its trigram index)
        conditions.append(_contains(t.c.products, f.product, lowered=True))
    if f.customer:
        raise InvalidInput(NO_NAME_SEARCH)
    if f.phone:
        ix = store.phone_index(parse_phone(f.phone, f"phone {EXACT_PHONE}"))
        conditions.append(or_(t.c.phone_ix == ix, t.c.receiver_phone_ix == ix))
    if f.order_no:
        conditions.append(_contains(t.c.order_no, f.order_no))
    if f.payment is not None:
        conditions.append(t.c.payment_status == Payment(f.payment).value)
    if f.customer_phone:
        conditions.append(t.c.phone_ix == store.phone_index(f.customer_phone))
    if f.after_sales is not None:
        conditions.append(_after_sales_condition(t, f.after_sales))
    erp = store.live_tables("erp_status").main
    if f.mismatch:
        disagreeing = select(erp.c.order_key).where(erp.c.mismatch.is_(True))
        conditions.append(t.c.order_key.in_(disagreeing))
    if f.open_task:
        waiting = select(erp.c.order_key).where(erp.c.open_task.is_not(None))
        conditions.append(t.c.order_key.in_(waiting))
    query = (
        select(t)
        .where(and_(literal(True), *conditions))
        .order_by(t.c.ordered_at.desc(), t.c.order_no)
        .limit(f.limit)
        .offset(f.offset)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        sides = _erp_labels(store, conn, [r["order_key"] for r in rows])
    # The customers of the page opened together: one read of the vault.
    customers = store.unseal(
        {r["order_key"]: {"customer": orjson.loads(r["customer_json"])} for r in rows}
    )
    return [
        {
            **_summary(dict(r), tz),
            **_customer(customers[r["order_key"]]["customer"]),
            **sides.get(r["order_key"], {}),
        }
        for r in rows
    ]


def _customer(customer: dict[str, str]) -> dict[str, str]:
    return {"customer": customer["name"], "phone": mask_phone(customer["phone"])}


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
        "payment_status": row["payment_status"],
        "total": money(row["total_cents"]),
        "paid_amount": money(row["paid_cents"]),
        "refunded_amount": money(row["refunded_cents"]),
        "after_sales": after_sales_label(
            row["after_sales_cases"], row["after_sales_open"]
        ),
        "ordered_at": local_time(row["ordered_at"], tz),
        "updated_at": local_time(row["updated_at"], tz),
        "version": row["version"],
    }


def orders_of_subject(store: ProjectionStore, subject: str) -> list[str]:
    """Order numbers of one data subject (a customer in the vault)."""
    t = store.live_tables("search").main
    with store.engine.connect() as conn:
        found = conn.execute(
            select(t.c.order_no).where(t.c.subject == subject).order_by(t.c.order_no)
        )
        return list(found.scalars())


def shipped_not_received(store: ProjectionStore) -> list[str]:
    """Order numbers of prepaid orders shipped and not yet received: the
    candidates of the automatic receipt (the ledger decides each one)."""
    t = store.live_tables("order_status").main
    with store.engine.connect() as conn:
        found = conn.execute(
            select(t.c.order_no)
            .where(
                t.c.shipping_status == Shipping.SHIPPED.value,
                t.c.lifecycle != Lifecycle.VOIDED.value,
                t.c.payment_method != PaymentMethod.COD.value,
            )
            .order_by(t.c.updated_at)
        )
        return list(found.scalars())
