"""Folding the log in memory, order by order: a view's rows, never written.

Reconciliation and `order show --from-log` use it to compute exactly what a
view would hold, straight from the log, holding one order at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orderledger.projections.definitions import Projection
from orderledger.projections.fold import Row, fold
from orderledger.projections.log import OrderCursor, read_by_order
from orderledger.projections.store import ProjectionStore

PAGE = 2_000


def replay_rows(
    store: ProjectionStore,
    projection: Projection,
    *,
    originator: Any = None,
    page: int = PAGE,
) -> Iterator[Row]:
    """Each order's row of `projection` (all orders, or one), from its events."""
    cursor: OrderCursor | None = None
    row: Row | None = None
    while True:
        with store.engine.connect() as conn:
            events, cursor = read_by_order(conn, store.events, cursor, page, originator)
        for event in events:
            if row is not None and event.order_key != row["order_key"]:
                yield row
                row = None
            row = fold(row, event, store.tz)
            projection.on_event(row, event)
        if len(events) < page:
            break
    if row is not None:
        yield row
