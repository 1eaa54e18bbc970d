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

import hashlib
from datetime import datetime
from typing import Any

import orjson

from orderledger.domain.chain import GENESIS
from orderledger.domain.draft import OrderDraft
from orderledger.domain.order import ORDER_NAMESPACE, Order
from orderledger.domain.personal import created_plain_values
from orderledger.domain.values import Source, money_str
from orderledger.store.canonical import with_chain
from orderledger.store.sealing_keys import RecordRow, SealingKeys, Subject

CREATED_TOPIC = "orderledger.order:Created.v1"
_NAMESPACE = ORDER_NAMESPACE.bytes


def order_key_bytes(order_no: str) -> bytes:
    """`order_id(order_no).bytes` (uuid5) without the UUID objects: an import
    computes it for every row (tests/unit/test_bulk_events.py holds it equal)."""
    raw = bytearray(hashlib.sha1(_NAMESPACE + order_no.encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return bytes(raw)


def _when(moment: datetime) -> dict[str, str]:
    return {"_type_": "datetime_iso", "_data_": moment.isoformat()}


def created_state(
    draft: OrderDraft,
    *,
    key_hex: str,
    ordered_at: datetime,
    timestamp: datetime,
    actor: str,
    source: Source,
    reason: str,
    keys: SealingKeys | None = None,
) -> tuple[bytes, Subject | None, RecordRow | None]:
    """The stored bytes of the `Created` event of `draft` (read by
    OrderDraft.from_data, numbered) for the order whose id is `key_hex`,
    exactly as saving `new_order(...)` would store them; with `keys`, its
    personal data sealed as the mapper seals it (store/sealing.py): then also
    the order's new subject and the vault record to store with the event."""
    fields = {
        "timestamp": _when(timestamp),
        "originator_topic": Order.TOPIC,
        "order_no": str(draft.order_no),
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
    if keys is None:
        return _chained(fields, key_hex), None, None
    subject = keys.new_subject(draft.customer.phone)
    record = keys.seal(subject, fields, created_plain_values(fields))
    return _chained(fields, key_hex), subject, record


def _chained(fields: dict[str, Any], key_hex: str) -> bytes:
    """The stored bytes: `fields` linked into a new order's hash chain."""
    # `fields` holds only JSON values: it is what decoding the bytes gives.
    encoded = orjson.dumps(fields)
    return with_chain(encoded, key_hex, 1, CREATED_TOPIC, fields, GENESIS)[0]
