"""The bulk path (binary COPY on PostgreSQL, a multi-row INSERT on SQLite)
stores exactly what the ordinary path would, all of a batch or none."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from orderledger.application import OrderLedger
from orderledger.domain.errors import ConcurrencyConflict
from orderledger.domain.order import order_id
from orderledger.domain.values import Source
from orderledger.store.first_events import CREATED_TOPIC, created_state, order_key_bytes
from tests.factories import draft

NOW = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)


def _created(order_no: str) -> StoredEvent:
    key = order_key_bytes(order_no)
    state, _, _ = created_state(
        draft("online", order_no=order_no), key_hex=key.hex(),
        ordered_at=NOW, timestamp=NOW, actor="导入", source=Source.OPS,
        reason="含\t制表符\\与反斜杠",
    )  # fmt: skip
    return StoredEvent(UUID(bytes=key), 1, CREATED_TOPIC, state)


def _row(event: StoredEvent) -> tuple[bytes, bytes]:
    assert isinstance(event.originator_id, UUID)
    return event.originator_id.bytes, event.state


def test_bulk_events_read_back_byte_for_byte(ledger: OrderLedger) -> None:
    events = [_created(f"BULK-{i}") for i in range(3)]

    ledger.append_created([_row(e) for e in events])

    for event in events:
        (stored,) = ledger.recorder.select_events(event.originator_id)
        assert stored == event
    assert ledger.get("BULK-1")["order_no"] == "BULK-1"
    assert ledger.log_head() == 3


def test_a_batch_with_one_order_already_in_stores_none_of_it(
    ledger: OrderLedger,
) -> None:
    ledger.append_created([_row(_created("DUP-1"))])
    head = ledger.log_head()

    with pytest.raises(ConcurrencyConflict, match="nothing of this batch"):
        ledger.append_created([_row(_created("NEW-1")), _row(_created("DUP-1"))])

    assert ledger.log_head() == head
    assert ledger.recorder.select_events(order_id("NEW-1")) == []
