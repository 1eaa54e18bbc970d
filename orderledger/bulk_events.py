"""A new order's `Created` event, stored, without building the aggregate.

A bulk import writes tens of thousands of orders; building each through the
aggregate and eventsourcing's mapper cost most of the time. This writes the
very same bytes directly: the event's fields in the order the aggregate
records them, transcoded the way eventsourcing's JSON transcoder does
(datetimes as `datetime_iso`), and linked into the order's hash chain as
`ChainingMapper` does. tests/unit/test_bulk_events.py holds the bytes equal
to the aggregate's own path, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

from orderledger.chain_codec import fast_canonical
from orderledger.domain.chain import GENESIS, link
from orderledger.domain.draft import OrderDraft
from orderledger.domain.order import Order, order_id
from orderledger.domain.values import Source, money_str

CREATED_TOPIC = "orderledger.order:Created.v1"


def _when(moment: datetime) -> dict[str, str]:
    return {"_type_": "datetime_iso", "_data_": moment.isoformat()}


def created_event(
    draft: OrderDraft,
    *,
    key: UUID | None = None,
    ordered_at: datetime,
    timestamp: datetime,
    actor: str,
    source: Source,
    reason: str,
) -> StoredEvent:
    """The stored `Created` event of `draft` (read by OrderDraft.from_data,
    numbered), exactly as saving `new_order(...)` would store it."""
    order_no = str(draft.order_no)
    key = key or order_id(order_no)  # the caller may know it already
    fields = {
        "timestamp": _when(timestamp),
        "originator_topic": Order.TOPIC,
        "order_no": order_no,
        "ordered_at": _when(ordered_at),
        "customer": draft.customer.to_data(),
        "lines": [line.to_data() for line in draft.lines],
        "payment_method": draft.payment_method.value,
        "address": draft.address.to_data(),
        "shipping_fee": money_str(draft.shipping_fee),
        "actor": actor,
        "source": source.value,
        "reason": reason,
    }
    state = orjson.dumps(fields)
    # `fields` holds only JSON values: it is what decoding `state` would give.
    digest = link(GENESIS, fast_canonical(key.hex, 1, CREATED_TOPIC, fields))
    chained = state[:-1] + (
        b',"chain_prev":"%s","chain_hash":"%s"}'
        % (GENESIS.encode("ascii"), digest.encode("ascii"))
    )
    return StoredEvent(key, 1, CREATED_TOPIC, chained)
