"""The bulk path's `Created` event is byte for byte the aggregate's own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_ledger, persistence_env
from orderledger.config import Settings
from orderledger.domain.bounds import is_blank
from orderledger.domain.draft import OrderDraft
from orderledger.domain.order import new_order, order_id
from orderledger.domain.personal import is_sealed, sealed_anywhere
from orderledger.domain.values import Source
from orderledger.store.first_events import (
    CREATED_TOPIC,
    created_state,
    order_key_bytes,
)

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp")),
    min_size=1,
    max_size=12,
).filter(lambda t: t.strip() == t and not is_blank(t))
MONEY = st.integers(0, 99_999).map(lambda c: f"{c // 100}.{c % 100:02d}")


@st.composite
def order_data(draw: Any) -> dict[str, Any]:
    lines = draw(
        st.lists(
            st.fixed_dictionaries(
                {"sku": TEXT, "name": TEXT, "quantity": st.integers(1, 99),
                 "unit_price": MONEY},
                optional={"spec": TEXT, "brand": TEXT, "category": TEXT},
            ),
            min_size=1, max_size=3, unique_by=lambda line: line["sku"],
        )
    )  # fmt: skip
    return {
        "order_no": draw(
            st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True)
        ),
        "customer": {"name": draw(TEXT), "phone": "13800138000"},
        "payment": draw(st.sampled_from(["online", "postal", "cod"])),
        "address": {
            "receiver": draw(TEXT),
            "phone": "13912345678",
            "detail": draw(TEXT),
        },
        "shipping_fee": draw(MONEY),
        "lines": lines,
    }


MEMORY = Settings(db_url="sqlite:///:memory:")
LEDGER = build_ledger(MEMORY)
PLAIN = OrderLedger(persistence_env(MEMORY), personal_data_vault=False)


@settings(max_examples=150, deadline=None)
@given(order_data(), st.sampled_from(list(Source)), TEXT)
def test_the_bulk_created_event_is_the_aggregates_own(
    data: dict[str, Any], source: Source, reason: str
) -> None:
    draft = OrderDraft.from_data(data, UTC)
    ordered_at = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
    order = new_order(
        order_no=str(draft.order_no), ordered_at=ordered_at, customer=draft.customer,
        lines=draft.lines, payment_method=draft.payment_method, address=draft.address,
        shipping_fee=draft.shipping_fee, actor="bulk", source=source, reason=reason,
    )  # fmt: skip
    (event,) = order.collect_events()
    expected = PLAIN.mapper.to_stored_event(event)
    sealed: Any = LEDGER.mapper.to_stored_event(event)

    key = order_key_bytes(str(draft.order_no))  # as the import does
    times = {"ordered_at": ordered_at, "timestamp": event.timestamp}
    who = {"actor": "bulk", "source": source, "reason": reason}
    state, _, _ = created_state(draft, key_hex=key.hex(), **times, **who)
    bulk = StoredEvent(UUID(bytes=key), 1, CREATED_TOPIC, state)
    assert bulk == expected

    # Sealed for the vault, as the import's workers seal it: the same event
    # but for the order's subject (random, so the record id differs too), and
    # a record that opens to the same values.
    vault = LEDGER.vault
    assert vault is not None
    state, subject, record = created_state(
        draft, key_hex=key.hex(), **times, **who, keys=vault.sealing_keys()
    )
    assert subject is not None and subject.row is not None and record is not None
    assert _shape(state) == _shape(sealed.state)
    vault.insert([subject.row, sealed.vault_subject], [record, sealed.vault_record])
    opened = vault.open({record[:2], sealed.vault_record[:2]})
    assert opened[record[:2]] == opened[sealed.vault_record[:2]]
    assert opened[record[:2]]["customer.name"] == draft.customer.name
    assert opened[record[:2]]["address.detail"] == draft.address.detail
    stored = orjson.loads(state)
    assert all(is_sealed(v) for v in stored["customer"].values())
    assert is_sealed(stored["address"]["detail"])


def _shape(state: bytes) -> Any:
    """The stored content without what is random per order: the chain (it
    hashes the rest) and the subject and record of each sealed value."""
    content = orjson.loads(state)
    del content["chain_prev"], content["chain_hash"]
    for holder, key in sealed_anywhere(content):
        holder[key] = {**holder[key], "pd": holder[key]["pd"].split(":", 2)[2]}
    return content


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}", fullmatch=True))
def test_the_bulk_order_key_is_the_order_id(order_no: str) -> None:
    assert order_key_bytes(order_no) == order_id(order_no).bytes
