"""The four projections: what each keeps beside the shared core columns."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from orderledger.domain.aftersales import CASE_EVENTS, fold_case
from orderledger.domain.catalog import CODE_KINDS, line_key
from orderledger.domain.erp_mapping import (
    MAPPING_VERSION,
    ExpectedErp,
    expected_erp,
    pushes_trade,
)
from orderledger.domain.personal import erase_personal
from orderledger.domain.status import Payment, Shipping, WebsiteStatus
from orderledger.domain.values import PaymentMethod, stored_line_amount
from orderledger.projections.fold import Row, cents, phone_index
from orderledger.projections.fold import json_text as _dumps
from orderledger.projections.log import LoggedEvent
from orderledger.projections.schema import child_table, main_table
from orderledger.store.vault import sealed_subject

ChildRows = list[dict[str, Any]]


@dataclass(frozen=True)
class Tables:
    main: Table
    child: Table | None = None

    def all(self) -> list[Table]:
        return [self.main] if self.child is None else [self.main, self.child]


class Projection:
    """A per-order view: the core columns plus what `on_event` adds."""

    name = ""
    # Bump when the view's columns or derivation change: a view built with
    # another version is reported as stale by `projections status`.
    # 2: the core columns gained refunds and after-sales counts; 3: personal
    # data as sealed references and a blind index of the phone
    version = "3"
    indexed: tuple[str | tuple[str, ...], ...] = ()
    # Columns searched for any text they contain: a trigram index on
    # PostgreSQL when pg_trgm can be had (ProjectionStore.trigram).
    contains_searched: tuple[str, ...] = ()

    def extra_columns(self) -> list[Column[Any]]:
        return []

    def child_columns(self) -> list[Column[Any]] | None:
        return None

    def on_event(self, row: Row, event: LoggedEvent) -> ChildRows | None:
        """Update the row's own columns; return new child rows to replace the
        order's, or None to keep them."""
        return None

    def tables(
        self, metadata: MetaData, generation: int, *, trigram: bool = False
    ) -> Tables:
        main = main_table(
            metadata,
            self.name,
            generation,
            self.extra_columns(),
            self.indexed,
            self.contains_searched if trigram else (),
        )
        columns = self.child_columns()
        if columns is None:
            return Tables(main)
        return Tables(main, child_table(metadata, self.name, generation, columns))


def _lines_after(event: LoggedEvent) -> list[dict[str, Any]] | None:
    if event.type == "Created":
        return list(event.data["lines"])
    if event.type == "Modified" and "lines" in event.data["changes"]:
        return list(event.data["changes"]["lines"]["after"])
    return None


def _address_after(event: LoggedEvent) -> dict[str, str] | None:
    if event.type == "Created":
        return dict(event.data["address"])
    if event.type == "Modified" and "address" in event.data["changes"]:
        return dict(event.data["changes"]["address"]["after"])
    return None


def _erased(stored_json: str) -> dict[str, Any]:
    address = {"address": orjson.loads(stored_json)}
    erase_personal(address)
    return dict(address["address"])


class OrderStatus(Projection):
    """One row per order: everything `order show` prints."""

    name = "order_status"
    version = "4"  # 3: the lines refused at the door; 4: sealed personal data
    indexed = ("status", "ordered_at")

    def extra_columns(self) -> list[Column[Any]]:
        return [
            Column("address_json", Text, nullable=False, default="{}"),
            Column("lines_json", Text, nullable=False, default="[]"),
            Column("delivery_json", Text, nullable=True),
            Column("after_sales_json", Text, nullable=False, default="{}"),
            Column("refused_json", Text, nullable=False, default="[]"),
        ]

    def on_event(self, row: Row, event: LoggedEvent) -> ChildRows | None:
        lines, address = _lines_after(event), _address_after(event)
        if lines is not None:
            row["lines_json"] = _dumps(lines)
        if address is not None:
            row["address_json"] = _dumps(address)
        if event.type == "PersonalDataErased":
            row["address_json"] = _dumps(_erased(row["address_json"]))
        if event.type == "Created":
            row["delivery_json"] = None
            row["after_sales_json"] = "{}"
            row["refused_json"] = "[]"
        if event.type == "RefusedAtDoor":
            row["refused_json"] = _dumps(event.data["refused"])
        if event.type == "Shipped":
            row["delivery_json"] = _dumps(event.data["delivery"])
        if event.type in CASE_EVENTS:
            cases = orjson.loads(row["after_sales_json"])
            row["after_sales_json"] = _dumps(fold_case(cases, event.type, event.data))
        return None


@cache
def _expected(
    status: str, method: str, payment: str, shipping: str
) -> tuple[ExpectedErp, str]:
    """The mapping row for a state, looked up once per distinct state."""
    expected = expected_erp(
        WebsiteStatus(status),
        prepaid=PaymentMethod(method).is_prepaid,
        payment=Payment(payment),
        shipped=shipping != Shipping.NOT_SHIPPED.value,
    )
    return expected, ",".join(str(c) for c in expected.wdt_codes)


class ErpStatus(Projection):
    """Per order, the ERP state the website's events call for (VOCABULARY.md §5),
    beside what was last pushed to and observed from the ERP, and the task a
    person has to settle, if any. Reconciliation replays this same fold."""

    name = "erp_status"
    version = f"4+mapping{MAPPING_VERSION}"  # 4: sealed personal data
    indexed = ("mismatch",)

    def extra_columns(self) -> list[Column[Any]]:
        return [
            Column("expected_erp_label", String(16), nullable=False),
            Column("expected_wdt_codes", String(32), nullable=False),
            Column("expected_platform_status", Integer, nullable=True),
            Column("expected_note", String(200), nullable=False),
            # When the website last changed what the ERP should show: the
            # start of the ERP's SLA.
            Column("expected_since", String(32), nullable=False),
            Column("mapping_version", Integer, nullable=False),
            Column("pushed_platform_status", Integer, nullable=True),
            Column("pushed_at", String(32), nullable=True),
            Column("observed_wdt_code", Integer, nullable=True),
            Column("observed_erp_label", String(16), nullable=True),
            Column("observed_at", String(32), nullable=True),
            Column("observed_json", Text, nullable=True),
            Column("mismatch", Boolean, nullable=False),
            Column("open_task", String(32), nullable=True),
            Column("open_task_detail", Text, nullable=True),
            Column("open_task_since", String(32), nullable=True),
            # The mismatch class reconciliation re-pushed for, while that is
            # still the order's latest event.
            Column("resynced_for", String(32), nullable=True),
        ]

    def on_event(self, row: Row, event: LoggedEvent) -> ChildRows | None:
        d = event.data
        if event.type == "Created":
            row.update(
                expected_wdt_codes="",
                pushed_platform_status=None,
                pushed_at=None,
                observed_wdt_code=None,
                observed_erp_label=None,
                observed_at=None,
                observed_json=None,
                open_task=None,
                open_task_detail=None,
                open_task_since=None,
            )
        row["resynced_for"] = None
        match event.type:
            case "ErpStatusObserved":
                row["observed_wdt_code"] = d["observation"]["wdt_code"]
                row["observed_erp_label"] = d["erp_label"]
                row["observed_at"] = d["reported_at"]
                row["observed_json"] = _dumps(d["observation"])
            case "TaskOpened":
                row["open_task"] = d["kind"]
                row["open_task_detail"] = d["detail"]
                row["open_task_since"] = row["updated_at"]
            case "TaskClosed":
                row["open_task"] = row["open_task_detail"] = None
                row["open_task_since"] = None
            case "ErpResyncRequested":
                row["resynced_for"] = d["mismatch"]
        expected, codes = _expected(
            row["status"],
            row["payment_method"],
            row["payment_status"],
            row["shipping_status"],
        )
        if codes != row["expected_wdt_codes"]:
            row["expected_since"] = row["updated_at"]
        pushed = pushes_trade(event.type, d.get("source", ""))
        if pushed and expected.platform_status is not None:
            row["pushed_platform_status"] = expected.platform_status
            row["pushed_at"] = row["updated_at"]
        row["expected_erp_label"] = expected.erp_label
        row["expected_wdt_codes"] = codes
        row["expected_platform_status"] = expected.platform_status
        row["expected_note"] = expected.note
        row["mapping_version"] = MAPPING_VERSION
        observed = row["observed_wdt_code"]
        row["mismatch"] = observed is not None and observed not in expected.wdt_codes
        return None


class Search(Projection):
    """订单查询: find orders by number, customer, phone, product, status, date."""

    name = "search"
    # 3: status with the order time in one index (the newest of a status);
    # 4: phones found by their blind index only, no names or phones in clear
    version = "4"
    indexed = (
        "ordered_at",
        "phone_ix",
        "receiver_phone_ix",
        "subject",
        ("status", "ordered_at"),
    )
    contains_searched = ("products",)

    def extra_columns(self) -> list[Column[Any]]:
        return [
            Column("receiver_phone_ix", String(32), nullable=False, default=""),
            # The data subject (the vault's customer): an erasure's orders.
            Column("subject", String(32), nullable=False, default=""),
            # "sku name" per line, lower-cased: what --product matches.
            Column("products", Text, nullable=False, default=""),
        ]

    def on_event(self, row: Row, event: LoggedEvent) -> ChildRows | None:
        lines, address = _lines_after(event), _address_after(event)
        if lines is not None:
            row["products"] = "\n".join(
                f"{line['sku']} {line['name']}".lower() for line in lines
            )
        if event.type == "Created":
            row["subject"] = sealed_subject({"customer": event.data["customer"]}) or ""
        if address is not None:
            row["receiver_phone_ix"] = phone_index(address["phone"])
        if event.type == "PersonalDataErased":
            row["receiver_phone_ix"] = ""
        return None


class Statistics(Projection):
    """订单统计: per order and per line, for counts and amounts over time."""

    name = "statistics"
    # 4: the lines' type, and the keys statistics group brand, category and
    # type by (the catalog's code, else the line's own text)
    version = "4"
    indexed = ("order_day", "status")

    def child_columns(self) -> list[Column[Any]]:
        return [
            Column("sku", String(64), nullable=False),
            Column("name", String(200), nullable=False),
            Column("brand", String(200), nullable=False),
            Column("category", String(200), nullable=False),
            Column("type", String(200), nullable=False, default=""),
            *(
                Column(f"{kind}_key", String(200), nullable=False, default="")
                for kind in CODE_KINDS
            ),
            Column("quantity", Integer, nullable=False),
            Column("amount_cents", BigInteger, nullable=False),
        ]

    def on_event(self, row: Row, event: LoggedEvent) -> ChildRows | None:
        lines = _lines_after(event)
        if event.type == "RefusedAtDoor" and event.data["accepted"]:
            lines = list(event.data["kept_lines"])  # only what was sold counts
        if lines is None:
            return None
        return [
            {
                "order_key": event.order_key,
                "line_no": i,
                "sku": line["sku"],
                "name": line["name"],
                "brand": line.get("brand", ""),
                "category": line.get("category", ""),
                "type": line.get("type", ""),
                **{f"{kind}_key": line_key(line, kind) for kind in CODE_KINDS},
                "quantity": line["quantity"],
                "amount_cents": cents(stored_line_amount(line)),
            }
            for i, line in enumerate(lines, 1)
        ]


PROJECTIONS: dict[str, Projection] = {
    p.name: p for p in (OrderStatus(), ErpStatus(), Search(), Statistics())
}
