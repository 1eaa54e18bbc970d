"""The cryptography of the personal-data vault, apart from its tables: a new
customer's key, a phone's blind index, an event's values sealed. Plain data
all through, so that an import's worker processes seal their rows themselves
(orderledger/application/order_import.py).

- A subject's key (AES-256-GCM) and salt are random, and stored only wrapped
  by the master key.
- A value is replaced by {"pd": "<subject>:<record>:<path>"} (phones also
  carry "ix", their blind index). `record` is a keyed BLAKE2b-128 of the
  event's personal values (canonical JSON) under the subject's salt: the
  commitment the hash chain covers. Anyone shown the values and the salt can
  check it; without the salt (destroyed by erasure) nobody can test a guess.
- The values themselves are encrypted under the subject's key, bound to
  "<subject>:<record>", in a record of the vault.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orderledger.domain.personal import (
    PHONE_FIELD,
    SEALED_KEY,
    normalised_phone,
    plain_values,
)
from orderledger.store.master_key import KEY_BYTES, NONCE_BYTES, MasterKey

RecordRow = tuple[str, str, bytes]  # subject, record, nonce + ciphertext
# subject, phone index, wrapped key and salt, master key id, created at
SubjectRow = tuple[str, str, bytes, str, float]


class Subject(NamedTuple):  # a tuple: an import makes one per row
    id: str
    key: bytes
    salt: bytes
    # A subject made here and maybe not stored yet: its row goes in with the
    # events that use it (INSERT … ON CONFLICT DO NOTHING).
    row: SubjectRow | None = None


def mac(key: bytes, data: bytes, size: int = 16) -> str:
    return hashlib.blake2b(data, key=key, digest_size=size).hexdigest()


@lru_cache(maxsize=1024)
def _phone_index(index_key: bytes, phone: str) -> str:
    """Cached: an order's customer and receiver phone are often one, and
    a new subject indexes the customer's too."""
    return mac(index_key, normalised_phone(phone).encode())


def subject_label(subject_id: str) -> bytes:
    return b"subject:" + subject_id.encode("ascii")


@dataclass(frozen=True)
class SealingKeys:
    master: MasterKey
    index_key: bytes

    def phone_index(self, phone: str) -> str:
        """The keyed blind index a phone is searched by (views hold only this)."""
        return _phone_index(self.index_key, phone)

    def new_subject(self, phone: str) -> Subject:
        # Time first, so that new subjects go in at the end of the table's
        # b-tree (one page per commit); 48 random bits make it unique.
        # One call for all the randomness: id, key and salt, wrapping nonce.
        random = os.urandom(6 + 2 * KEY_BYTES + NONCE_BYTES)
        subject_id = f"{time.time_ns() // 1_000_000:011x}{random[:6].hex()}"
        secret = random[6 : 6 + 2 * KEY_BYTES]
        wrapped = self.master.wrap(
            secret, subject_label(subject_id), nonce=random[-NONCE_BYTES:]
        )
        row = (
            subject_id,
            self.phone_index(phone),
            wrapped,
            self.master.key_id,
            time.time(),
        )
        return Subject(subject_id, secret[:KEY_BYTES], secret[KEY_BYTES:], row)

    def opened(self, subject: SubjectRow, record: RecordRow) -> dict[str, str]:
        """The values of a record of a subject not stored yet (an import
        compares them with an order already in the ledger)."""
        secret = self.master.unwrap(subject[2], subject_label(subject[0]))
        subject_id, record_id, sealed = record
        plain = AESGCM(secret[:KEY_BYTES]).decrypt(
            sealed[:NONCE_BYTES],
            sealed[NONCE_BYTES:],
            f"{subject_id}:{record_id}".encode(),
        )
        values: dict[str, str] = orjson.loads(plain)
        return values

    def seal(
        self, subject: Subject, data: Any, places: list[Any] | None = None
    ) -> RecordRow | None:
        """Replace the personal values in `data` (an event's JSON) by sealed
        references (in place); the vault record to store with the event, or
        None when there was nothing to seal. `places`: plain_values(data),
        when the caller knows them more cheaply."""
        places = plain_values(data) if places is None else places
        if not places:
            return None
        values = {path: holder[key] for path, holder, key in places}
        plain = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
        record = mac(subject.salt, plain)
        label = f"{subject.id}:{record}"
        for path, holder, key in places:
            sealed = {SEALED_KEY: f"{label}:{path}"}
            if key == PHONE_FIELD:
                sealed["ix"] = self.phone_index(holder[key])
            holder[key] = sealed
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(subject.key).encrypt(nonce, plain, label.encode())
        return subject.id, record, nonce + ciphertext
