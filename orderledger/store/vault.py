"""The personal-data vault: each customer's personal data, encrypted with a
key of their own, so that destroying the key erases the data for good while
the event log, which only refers to it, stays untouched (docs/privacy.md).

- `vault_subjects`: one row per data subject (a customer, found by the blind
  index of their phone): the subject's AES-256-GCM key and commitment salt,
  wrapped by the master key. Erasure deletes the key, the salt and the phone
  index, and keeps who erased the subject, when and why.
- `vault_records`: the personal values of one event (or snapshot), encrypted
  under the subject's key; deleted on erasure.
- `vault_keys`: the key of the blind index, wrapped by the master key.

An event carries, in place of each value, {"pd": "<subject>:<record>:<path>",
"c": <commitment>} (plus "ix": <blind index> for a phone): the commitment is
a keyed BLAKE2b of the path and the value under the subject's salt, so the
hash chain covers it, an auditor shown a value can check it, and nobody can
guess it once the salt is gone.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Column,
    Engine,
    Float,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orderledger.domain.errors import InvalidInput, StorageError
from orderledger.domain.personal import (
    ERASED,
    PHONE_FIELD,
    SEALED_KEY,
    is_sealed,
    normalised_phone,
    personal_values,
    sealed_anywhere,
)
from orderledger.store.bounded_cache import BoundedCache
from orderledger.store.ddl import create_tables
from orderledger.store.master_key import KEY_BYTES, NONCE_BYTES, MasterKey
from orderledger.store.scrub import compact, zero_on_delete

SUBJECTS, RECORDS, KEYS = "vault_subjects", "vault_records", "vault_keys"
SUBJECTS_REMEMBERED = 50_000
INDEX_KEY = "index"
NO_KEY_MESSAGE = (
    "personal data needs a master key on this database: set "
    "ORDERLEDGER_MASTER_KEY (64 hex digits; `orderledger keys new` prints one) "
    "or ORDERLEDGER_MASTER_KEY_FILE, or master_key_file under [privacy] in the "
    "config file (docs/privacy.md)"
)

RecordRow = tuple[str, str, bytes]  # subject, record, nonce + ciphertext


@dataclass(frozen=True)
class Subject:
    id: str
    key: bytes
    salt: bytes

    def commitment(self, path: str, value: str) -> str:
        return _mac(self.salt, f"{path}\x1f{value}".encode(), 16)


def _mac(key: bytes, data: bytes, size: int) -> str:
    return hashlib.blake2b(data, key=key, digest_size=size).hexdigest()


def _subject_label(subject_id: str) -> bytes:
    return b"subject:" + subject_id.encode("ascii")


class Vault:
    def __init__(self, engine: Engine, master: MasterKey | None) -> None:
        self.engine = engine
        self.master = master
        md = MetaData()
        self.subjects = Table(
            SUBJECTS,
            md,
            Column("subject", String(32), primary_key=True),
            Column("phone_ix", String(64), unique=True),  # NULL once erased
            Column("wrapped", LargeBinary),  # key + salt; NULL once erased
            Column("key_id", String(16)),
            Column("created_at", Float, nullable=False),
            Column("erased_at", Float),
            Column("erased_by", String(100)),
            Column("erased_reason", Text),
        )
        self.records = Table(
            RECORDS,
            md,
            Column("subject", String(32), primary_key=True),
            Column("record", String(32), primary_key=True),
            Column("sealed", LargeBinary, nullable=False),
        )
        self.keys = Table(
            KEYS,
            md,
            Column("name", String(32), primary_key=True),
            Column("wrapped", LargeBinary, nullable=False),
            Column("key_id", String(16), nullable=False),
        )
        self._tables = (self.subjects, self.records, self.keys)
        self._known: BoundedCache[str, Subject] = BoundedCache(SUBJECTS_REMEMBERED)
        self._by_phone: BoundedCache[str, str] = BoundedCache(SUBJECTS_REMEMBERED)
        self._index_key: bytes | None = None

    def ensure(self) -> None:
        create_tables(self.engine, self._tables)

    def _master(self) -> MasterKey:
        if self.master is None:
            raise InvalidInput(NO_KEY_MESSAGE)
        return self.master

    def _insert_new(self, table: Table) -> Any:
        """INSERT … ON CONFLICT DO NOTHING: of two processes adding the same
        row at once, the first wins and both then read what it wrote."""
        make = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        return make(table).on_conflict_do_nothing()

    # ---- the blind index ----------------------------------------------------

    def phone_index(self, phone: str) -> str:
        """The keyed blind index a phone is searched by (views hold only this)."""
        return _mac(self._index(), normalised_phone(phone).encode(), 16)

    def _index(self) -> bytes:
        if self._index_key is None:
            master = self._master()
            label = b"key:" + INDEX_KEY.encode()
            wrapped = master.wrap(secrets.token_bytes(KEY_BYTES), label)
            with self.engine.begin() as conn:
                conn.execute(
                    self._insert_new(self.keys),
                    {"name": INDEX_KEY, "wrapped": wrapped, "key_id": master.key_id},
                )
                row = conn.execute(
                    select(self.keys.c.wrapped, self.keys.c.key_id).where(
                        self.keys.c.name == INDEX_KEY
                    )
                ).one()
            self._check_key_id(row.key_id)
            self._index_key = master.unwrap(row.wrapped, label)
        return self._index_key

    def _check_key_id(self, key_id: str) -> None:
        master = self._master()
        if key_id != master.key_id:
            raise InvalidInput(
                f"the master key from {master.origin} (id {master.key_id}) is not "
                f"the one this database's personal data is locked with (id {key_id})"
            )

    # ---- subjects -----------------------------------------------------------

    def subjects_for_phones(self, phones: Iterable[str]) -> dict[str, Subject]:
        """Each phone's subject, made for a phone seen for the first time."""
        found: dict[str, Subject] = {}
        missing: dict[str, str] = {}  # blind index -> phone
        for phone in phones:
            ix = self.phone_index(phone)
            subject_id = self._by_phone.get(ix)
            subject = None if subject_id is None else self._known.get(subject_id)
            if subject is None:
                missing[ix] = phone
            else:
                found[phone] = subject
        if missing:
            for ix, subject in self._get_or_create(list(missing)).items():
                found[missing[ix]] = subject
        return found

    def subject_for_phone(self, phone: str) -> Subject:
        return self.subjects_for_phones([phone])[phone]

    def _get_or_create(self, indexes: list[str]) -> dict[str, Subject]:
        master = self._master()
        now = time.time()
        rows = []
        for ix in indexes:
            subject_id = secrets.token_hex(8)
            secret = secrets.token_bytes(KEY_BYTES) + secrets.token_bytes(KEY_BYTES)
            rows.append(
                {
                    "subject": subject_id,
                    "phone_ix": ix,
                    "wrapped": master.wrap(secret, _subject_label(subject_id)),
                    "key_id": master.key_id,
                    "created_at": now,
                }
            )
        s = self.subjects
        with self.engine.begin() as conn:
            conn.execute(self._insert_new(s), rows)
            stored = conn.execute(
                select(s.c.subject, s.c.phone_ix, s.c.wrapped, s.c.key_id).where(
                    s.c.phone_ix.in_(indexes)
                )
            ).all()
        result = {}
        for row in stored:
            subject = self._unwrapped(row.subject, row.wrapped, row.key_id)
            self._known.put(subject.id, subject)
            self._by_phone.put(row.phone_ix, subject.id)
            result[row.phone_ix] = subject
        return result

    def _unwrapped(self, subject_id: str, wrapped: bytes, key_id: str) -> Subject:
        self._check_key_id(key_id)
        try:
            secret = self._master().unwrap(wrapped, _subject_label(subject_id))
        except InvalidTag:
            raise StorageError(
                f"the key of data subject {subject_id} does not decrypt: the vault "
                "row was altered"
            ) from None
        return Subject(subject_id, secret[:KEY_BYTES], secret[KEY_BYTES:])

    def subjects_by_id(self, subject_ids: Iterable[str]) -> dict[str, Subject]:
        """The subjects not erased, by id."""
        result: dict[str, Subject] = {}
        wanted = []
        for subject_id in set(subject_ids):
            known = self._known.get(subject_id)
            if known is None:
                wanted.append(subject_id)
            else:
                result[subject_id] = known
        if wanted:
            s = self.subjects
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(s.c.subject, s.c.wrapped, s.c.key_id).where(
                        s.c.subject.in_(wanted), s.c.wrapped.is_not(None)
                    )
                ).all()
            for row in rows:
                subject = self._unwrapped(row.subject, row.wrapped, row.key_id)
                self._known.put(subject.id, subject)
                result[subject.id] = subject
        return result

    def subject_id_for_phone(self, phone: str) -> str | None:
        """The subject a phone belongs to, if it has one not erased."""
        s = self.subjects
        with self.engine.connect() as conn:
            found = conn.execute(
                select(s.c.subject).where(s.c.phone_ix == self.phone_index(phone))
            ).scalar_one_or_none()
        return None if found is None else str(found)

    # ---- sealing ------------------------------------------------------------

    def seal(self, subject: Subject, data: Any) -> RecordRow | None:
        """Replace the personal values in `data` (an event's JSON) by sealed
        references; the record to store with the event, or None when there
        was nothing to seal."""
        values = {
            path: holder[key]
            for path, holder, key in personal_values(data)
            if isinstance(holder[key], str) and holder[key] != ERASED
        }
        if not values:
            return None
        plain = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
        record = _mac(subject.salt, b"record\x1f" + plain, 8)
        label = f"{subject.id}:{record}"
        for path, holder, key in personal_values(data):
            value = values.get(path)
            if value is None:
                continue
            sealed = {
                SEALED_KEY: f"{label}:{path}",
                "c": subject.commitment(path, value),
            }
            if key == PHONE_FIELD:
                sealed["ix"] = self.phone_index(value)
            holder[key] = sealed
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = AESGCM(subject.key).encrypt(nonce, plain, label.encode())
        return subject.id, record, nonce + ciphertext

    def unseal(self, data: Any) -> Any:
        """Put the plain values back in place of sealed references (in place;
        `data` is returned); an erased subject's read as ERASED."""
        places = [
            (holder, key)
            for _path, holder, key in personal_values(data)
            if is_sealed(holder[key])
        ]
        self._open_places(places)
        return data

    def open_message(self, data: Any) -> bool:
        """Open the sealed values anywhere in a message (in place); False
        when one of them was erased: the message must not be sent."""
        return self._open_places(list(sealed_anywhere(data)))

    def _open_places(self, places: list[tuple[Any, Any]]) -> bool:
        """Open each sealed value in place; whether all of them could be."""
        if not places:
            return True
        refs = [_ref(holder[key]) for holder, key in places]
        opened = self.open({(subject_id, record) for subject_id, record, _ in refs})
        complete = True
        for (holder, key), (subject_id, record, path) in zip(places, refs, strict=True):
            values = opened.get((subject_id, record))
            complete = complete and values is not None
            holder[key] = ERASED if values is None else values[path]
        return complete

    def open(
        self, refs: set[tuple[str, str]]
    ) -> dict[tuple[str, str], Mapping[str, str]]:
        """The plain values of these records; an erased one is left out."""
        r = self.records
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(r.c.subject, r.c.record, r.c.sealed).where(
                    tuple_(r.c.subject, r.c.record).in_(list(refs))
                )
            ).all()
        subjects = self.subjects_by_id(row.subject for row in rows)
        opened: dict[tuple[str, str], Mapping[str, str]] = {}
        for row in rows:
            subject = subjects.get(row.subject)
            if subject is None:
                continue  # erased while its records were being deleted
            label = f"{row.subject}:{row.record}".encode()
            try:
                plain = AESGCM(subject.key).decrypt(
                    row.sealed[:NONCE_BYTES], row.sealed[NONCE_BYTES:], label
                )
            except InvalidTag:
                raise StorageError(
                    f"the vault record {row.subject}:{row.record} does not decrypt: "
                    "it was altered"
                ) from None
            opened[(row.subject, row.record)] = orjson.loads(plain)
        return opened

    def insert_records(self, rows: Iterable[RecordRow]) -> None:
        """Records written on their own (the recorder normally writes them in
        the events' transaction)."""
        values = [{"subject": s, "record": r, "sealed": b} for s, r, b in rows]
        if values:
            with self.engine.begin() as conn:
                conn.execute(self._insert_new(self.records), values)

    # ---- erasure and rotation -----------------------------------------------

    def erase(self, subject_id: str, by: str, reason: str) -> None:
        """Crypto-shredding: the subject's key, salt, phone index and records
        are deleted; who, when and why are kept."""
        s = self.subjects
        with self.engine.begin() as conn:
            zero_on_delete(conn)
            conn.execute(
                delete(self.records).where(self.records.c.subject == subject_id)
            )
            conn.execute(
                update(s)
                .where(s.c.subject == subject_id)
                .values(
                    wrapped=None,
                    phone_ix=None,
                    key_id=None,
                    erased_at=time.time(),
                    erased_by=by,
                    erased_reason=reason,
                )
            )
        compact(self.engine, (SUBJECTS, RECORDS), whole_file=False)
        self._known.clear()
        self._by_phone.clear()

    def erased(self, subject_id: str) -> bool:
        s = self.subjects
        with self.engine.connect() as conn:
            at = conn.execute(
                select(s.c.erased_at).where(s.c.subject == subject_id)
            ).scalar_one_or_none()
        return at is not None

    def rotate(self, new: MasterKey) -> int:
        """Re-wrap every key under `new`, in one transaction; the events and
        records are not touched. The number of keys re-wrapped."""
        old = self._master()
        s, k = self.subjects, self.keys
        count = 0
        with self.engine.begin() as conn:
            for row in conn.execute(
                select(s.c.subject, s.c.wrapped, s.c.key_id).where(
                    s.c.wrapped.is_not(None)
                )
            ).all():
                self._check_key_id(row.key_id)
                label = _subject_label(row.subject)
                secret = old.unwrap(row.wrapped, label)
                conn.execute(
                    update(s)
                    .where(s.c.subject == row.subject)
                    .values(wrapped=new.wrap(secret, label), key_id=new.key_id)
                )
                count += 1
            for row in conn.execute(select(k.c.name, k.c.wrapped, k.c.key_id)).all():
                self._check_key_id(row.key_id)
                label = b"key:" + row.name.encode()
                conn.execute(
                    update(k)
                    .where(k.c.name == row.name)
                    .values(
                        wrapped=new.wrap(old.unwrap(row.wrapped, label), label),
                        key_id=new.key_id,
                    )
                )
                count += 1
        self.master = new
        self._known.clear()
        return count


def _ref(sealed: Mapping[str, str]) -> tuple[str, str, str]:
    subject_id, record, path = sealed[SEALED_KEY].split(":", 2)
    return subject_id, record, path


def sealed_subject(data: Any) -> str | None:
    """The subject of the first sealed value in this JSON, if any."""
    for _path, holder, key in personal_values(data):
        if is_sealed(holder[key]):
            return _ref(holder[key])[0]
    return None


def sealed_values(data: Any) -> Iterator[Mapping[str, str]]:
    for _path, holder, key in personal_values(data):
        if is_sealed(holder[key]):
            yield holder[key]


RECORDS_PER_STATEMENT = 2_000  # three parameters each: under every driver's bound


def records_statements(
    mark: str, rows: Sequence[RecordRow]
) -> list[tuple[str, list[Any]]]:
    """The INSERTs the recorder runs in the events' transaction (driver
    placeholders): a record already there (the same values) is kept."""
    statements = []
    for i in range(0, len(rows), RECORDS_PER_STATEMENT):
        chunk = rows[i : i + RECORDS_PER_STATEMENT]
        values = ", ".join([f"({mark}, {mark}, {mark})"] * len(chunk))
        sql = (
            f"INSERT INTO {RECORDS} (subject, record, sealed) VALUES {values} "
            "ON CONFLICT DO NOTHING"
        )
        statements.append((sql, [value for row in chunk for value in row]))
    return statements


def vault_records(events: Iterable[object]) -> list[RecordRow]:
    """The vault records riding on these stored events (SealedStoredEvent)."""
    return [r for e in events if (r := getattr(e, "vault_record", None)) is not None]
