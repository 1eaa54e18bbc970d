"""A mapper that seals personal data (orderledger/store/sealing.py) and links
every order event into its order's hash chain on the way into the store (see
domain/chain.py for the canonical form): the chain covers the sealed
references, so erasing the data never breaks it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent

from orderledger.domain.chain import CHAIN_FIELDS, GENESIS
from orderledger.store.bounded_cache import BoundedCache
from orderledger.store.canonical import with_chain
from orderledger.store.sealing import (
    PERSONAL_TOPICS,
    Sealed,
    SealedStoredEvent,
    Sealer,
)

CHAINED_TOPIC_PREFIX = "orderledger."
HEADS_REMEMBERED = 50_000
HeadLookup = Callable[[UUID, int], str | None]  # the stored hash of (order, version)


def _with_vault_rows(stored: StoredEvent, sealed: Sealed | None) -> StoredEvent:
    """The stored event, carrying what the vault must store with it."""
    if sealed is None:
        return stored
    return SealedStoredEvent(
        stored.originator_id,
        stored.originator_version,
        stored.topic,
        stored.state,
        vault_record=sealed.record,
        vault_subject=sealed.subject,
    )


class ChainingMapper(Mapper[UUID]):
    def __init__(self, *args: Any, lookup: HeadLookup, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lookup = lookup
        # Set by the application once its vault exists (it needs the engine,
        # made after the mapper); None: personal data stays as it is.
        self.sealer: Sealer | None = None
        # Recently seen heads (bounded: a relay reads every order there is).
        self._heads: BoundedCache[UUID, tuple[int, str]] = BoundedCache(
            HEADS_REMEMBERED
        )

    def _prev(self, order_id: UUID, version: int) -> str:
        if version == 1:
            return GENESIS
        known = self._heads.get(order_id)
        if known is not None and known[0] == version - 1:
            return known[1]
        found = self._lookup(order_id, version - 1)
        return found if found is not None else GENESIS

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        sealing = self.sealer is not None and stored.topic in PERSONAL_TOPICS
        chained = stored.topic.startswith(CHAINED_TOPIC_PREFIX)
        if not (sealing or chained) or self.cipher or self.compressor:
            return stored
        order_id = UUID(str(stored.originator_id))
        content = orjson.loads(stored.state)
        sealed = None
        if sealing:
            assert self.sealer is not None
            sealed = self.sealer.seal(order_id, stored.topic, content)
            if sealed is not None:
                stored = StoredEvent(
                    stored.originator_id,
                    stored.originator_version,
                    stored.topic,
                    orjson.dumps(content),
                )
        if not chained:
            return _with_vault_rows(stored, sealed)
        prev = self._prev(order_id, stored.originator_version)
        state, digest = with_chain(
            stored.state,
            order_id.hex,
            stored.originator_version,
            stored.topic,
            content,
            prev,
        )
        self._remember(order_id, stored.originator_version, digest)
        return _with_vault_rows(
            StoredEvent(
                stored.originator_id, stored.originator_version, stored.topic, state
            ),
            sealed,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        state = vars(event)
        if self.sealer is not None and stored_event.topic in PERSONAL_TOPICS:
            self.sealer.unseal(UUID(str(stored_event.originator_id)), state)
        chain_hash = state.pop("chain_hash", None)
        for field in CHAIN_FIELDS:
            state.pop(field, None)
        if chain_hash is not None:
            order_id = UUID(str(stored_event.originator_id))
            self._remember(order_id, stored_event.originator_version, str(chain_hash))
        return event

    def _remember(self, order_id: UUID, version: int, digest: str) -> None:
        self._heads.put(order_id, (version, digest))
