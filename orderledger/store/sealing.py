"""Personal data sealed on the way into the store and opened on the way out
(the vault: orderledger/store/vault.py).

The mapper calls `Sealer.seal` before it links an event into its order's
hash chain, so the chain covers the sealed references, never the plaintext;
the record goes into the events' own transaction (`SealedStoredEvent`). On
the way out, `Sealer.unseal` puts the values back, or `[erased]`. The relay
reads with `sealed_reads()`, so that its messages keep references and are
opened only when sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from orderledger.domain.errors import StorageError
from orderledger.domain.personal import plain_values
from orderledger.store.bounded_cache import BoundedCache
from orderledger.store.first_events import CREATED_TOPIC
from orderledger.store.sealing_keys import RecordRow, Subject, SubjectRow
from orderledger.store.vault import Vault, sealed_subject

PERSONAL_TOPICS = frozenset(
    {CREATED_TOPIC, "orderledger.order:Modified.v1", "eventsourcing.domain:Snapshot"}
)
ORDERS_REMEMBERED = 50_000

_keep_sealed: ContextVar[bool] = ContextVar("keep_sealed", default=False)


@contextmanager
def sealed_reads() -> Iterator[None]:
    """Events read here keep their sealed references (the relay's reads)."""
    token = _keep_sealed.set(True)
    try:
        yield
    finally:
        _keep_sealed.reset(token)


@dataclass(frozen=True)
class SealedStoredEvent(StoredEvent):
    """A stored event with the vault record of its personal values (and the
    customer's subject when new), written in the same transaction
    (orderledger/store/recorder.py)."""

    vault_record: RecordRow | None = None
    vault_subject: SubjectRow | None = None


@dataclass(frozen=True)
class Sealed:
    record: RecordRow
    subject: SubjectRow | None  # a subject made for this event's customer


FirstState = Callable[[UUID], Any]  # an order's stored Created event, decoded


class Sealer:
    def __init__(self, vault: Vault, first_state: FirstState) -> None:
        self.vault = vault
        self._first_state = first_state
        self._subject_of: BoundedCache[UUID, str] = BoundedCache(ORDERS_REMEMBERED)

    def seal(self, order_id: UUID, topic: str, content: Any) -> Sealed | None:
        """Seal the personal values in `content` (in place)."""
        if not plain_values(content):
            return None
        if topic == CREATED_TOPIC:
            # A subject per order, made here and stored with the event: no
            # lookup, no race; the customer's orders share the blind index of
            # their phone, which erasure goes by.
            subject = self.vault.sealing_keys().new_subject(
                content["customer"]["phone"]
            )
        else:
            found = self._order_subject(order_id)
            if found is None:
                return None  # an order of a log not migrated: left as it was
            subject = found
        self._subject_of.put(order_id, subject.id)
        record = self.vault.seal(subject, content)
        return None if record is None else Sealed(record, subject.row)

    def _order_subject(self, order_id: UUID) -> Subject | None:
        """The subject of the order's Created event; None for an order of a
        log written before the vault (its values are in its events until
        `migrate personal-data`, which seals this event's too)."""
        subject_id = self._subject_of.get(order_id)
        if subject_id is None:
            subject_id = sealed_subject(self._first_state(order_id))
        if subject_id is None:
            return None
        subject = self.vault.subjects_by_id([subject_id]).get(subject_id)
        if subject is None:
            raise StorageError(
                "this customer's personal data was erased: it cannot be written again"
            )
        return subject

    def unseal(self, order_id: UUID, state: dict[str, Any]) -> None:
        """Open the sealed values of a decoded event (in place), unless this
        read keeps them sealed."""
        subject_id = sealed_subject(state)
        if subject_id is None:
            return
        self._subject_of.put(order_id, subject_id)
        if not _keep_sealed.get():
            self.vault.unseal(state)
