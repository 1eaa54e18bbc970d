"""Reading the stored events order by order, for verification and digests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import Engine, Table, select

from orderledger.projections.log import order_key_column

Progress = Callable[[int], None]
# The content given to an event whose stored bytes are not a JSON object.
UNDECODABLE = "_undecodable_"


@dataclass(frozen=True, slots=True)
class StoredOrderEvent:
    position: int
    version: int
    topic: str
    content: dict[str, Any]


def orders(
    engine: Engine,
    events: Table,
    *,
    up_to: int | None = None,
    only: str | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[str, list[StoredOrderEvent]]]:
    """Each order's events in version order, streamed order by order."""
    with engine.connect() as conn:
        key = order_key_column(conn, events)
        query = select(
            key,
            events.c.id,
            events.c.originator_version,
            events.c.topic,
            events.c.state,
        )
        if up_to is not None:
            query = query.where(events.c.id <= up_to)
        if only is not None:
            # The column itself, not the key expression: the index finds it.
            query = query.where(events.c.originator_id == UUID(hex=only))
        query = query.order_by(key, events.c.originator_version)
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(
            query
        )
        current: str | None = None
        batch: list[StoredOrderEvent] = []
        seen = 0
        for order_key, position, version, topic, state in result:
            if order_key != current:
                if current is not None:
                    yield current, batch
                current, batch = order_key, []
            try:
                content = orjson.loads(state)
            except orjson.JSONDecodeError:
                content = None
            if not isinstance(content, dict):
                content = {UNDECODABLE: True}
            batch.append(StoredOrderEvent(position, version, topic, content))
            seen += 1
            if progress is not None and seen % 5000 == 0:
                progress(5000)
        if current is not None:
            yield current, batch
        if progress is not None:
            progress(seen % 5000)
