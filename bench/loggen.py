"""Generate a realistic order log fast: the application's own stored events,
made by the real domain commands, written in batches (bypassing per-command
transactions so a million events are set up in minutes, not hours)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, inspect, select, text

from orderledger.application import OrderLedger
from orderledger.domain.order import Order, new_order
from orderledger.domain.values import (
    Address,
    Customer,
    Delivery,
    OrderLine,
    PaymentMethod,
    Source,
)
from orderledger.store.vault import vault_rows

SKUS = [(f"SKU-{i:03d}", f"商品{i}", f"品牌{i % 7}", f"类目{i % 5}") for i in range(50)]
WHO: dict[str, Any] = {"actor": "bench", "source": Source.WEBSITE}


def _order(n: int, rng: random.Random, start: datetime) -> Order:
    lines = tuple(
        OrderLine(
            sku=sku, name=name, brand=brand, category=category,
            quantity=rng.randint(1, 5),
            unit_price=Decimal(rng.randint(100, 99_999)) / 100,
        )
        for sku, name, brand, category in rng.sample(SKUS, rng.randint(1, 3))
    )  # fmt: skip
    return new_order(
        order_no=f"BENCH-{n:08d}",
        ordered_at=start + timedelta(minutes=n),
        customer=Customer("张三", "张三", f"138{n % 100_000_000:08d}"),
        lines=lines,
        payment_method=rng.choice(list(PaymentMethod)),
        address=Address("张三", "13800138000", "广东省", "深圳市", "南山区", f"{n} 号"),
        shipping_fee=Decimal("10.00"),
        **WHO,
    )


def _lifecycle(order: Order, rng: random.Random) -> None:
    """Take an order a random distance along its flow (about 5 events on average)."""
    order.confirm(**WHO)
    if rng.random() < 0.1:
        order.cancel(reason="customer asked", **WHO)
        return
    cod = order.payment_method is PaymentMethod.COD
    if not cod:
        order.confirm_payment(order.total, **WHO)
    order.ship(Delivery("SF", f"SF{rng.randint(1, 10**9)}"), **WHO)
    if rng.random() < 0.8:
        order.confirm_receipt(**WHO)
        if cod:
            order.confirm_payment(order.total, **WHO)


def stored_events(
    ledger: OrderLedger, events: int, seed: int = 7, first_order: int = 0
) -> Iterator[tuple[dict[str, Any], Any]]:
    rng = random.Random(seed + first_order)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    produced, n = 0, first_order
    while produced < events:
        order = _order(n, rng, start)
        _lifecycle(order, rng)
        for event in order.collect_events()[: events - produced]:
            stored = ledger.mapper.to_stored_event(event)
            produced += 1
            yield (
                {
                    "originator_id": stored.originator_id,
                    "originator_version": stored.originator_version,
                    "topic": stored.topic,
                    "state": stored.state,
                },
                stored,
            )
        n += 1


def generate(
    ledger: OrderLedger, events: int, batch: int = 5000, first_order: int = 0
) -> None:
    """Append `events` events of orders numbered from `first_order` on."""
    recorder: Any = ledger.recorder
    table = recorder.events_record_cls.__table__
    engine = recorder.datastore.engine
    rows: list[dict[str, Any]] = []
    sealed: list[Any] = []  # the vault's rows of the personal data
    with engine.begin() as conn:
        for row, stored in stored_events(ledger, events, first_order=first_order):
            rows.append(row)
            if getattr(stored, "vault_record", None) is not None:
                sealed.append(stored)
            if len(rows) == batch:
                conn.execute(insert(table), rows)
                rows.clear()
        if rows:
            conn.execute(insert(table), rows)
    if ledger.vault is not None:
        records, subjects = vault_rows(sealed)
        for i in range(0, len(records), batch):
            ledger.vault.insert(subjects[i : i + batch], records[i : i + batch])


DERIVED = ("olp_", "outbox_", "erp_")  # views, delivery ledger, poll cursor


def drop_tables(engine: Any, prefixes: tuple[str, ...]) -> None:
    with engine.begin() as conn:
        for name in inspect(conn).get_table_names():
            if name.startswith(prefixes):
                conn.execute(text(f'DROP TABLE "{name}"'))


def ensure_log(ledger: OrderLedger, events: int) -> bool:
    """A chained log of exactly `events` events, kept from an earlier run when
    it fits; otherwise regenerated, with every table derived from it dropped.
    True when it was (re)generated."""
    recorder: Any = ledger.recorder
    table = recorder.events_record_cls.__table__
    engine = recorder.datastore.engine
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(table)).scalar_one()
        sample = conn.execute(select(table.c.state).limit(1)).scalar()
    if have == events and (sample is None or b"chain_hash" in bytes(sample)):
        return False
    with engine.begin() as conn:
        conn.execute(delete(table))
    drop_tables(engine, DERIVED)
    generate(ledger, events)
    return True
