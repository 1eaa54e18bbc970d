"""The personal-data vault: each customer's personal data, encrypted with a
key of their own, so that destroying the key erases the data for good while
the event log, which only refers to it, stays untouched (docs/privacy.md).

- `vault_subjects`: one row per data subject — one order's customer, made
  with the order; a customer's orders share the blind index of their phone —
  with the subject's AES-256-GCM key and commitment salt, wrapped by the
  master key. Erasure deletes the key, the salt and the phone index, and
  keeps who erased the subject, when and why.
- `vault_records`: the personal values of one event (or snapshot), encrypted
  under the subject's key; deleted on erasure.
- `vault_keys`: the key of the blind index, wrapped by the master key.

What an event carries in place of each value, and how it is made:
orderledger/store/sealing_keys.py.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
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
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orderledger.domain.errors import InvalidInput, StorageError
from orderledger.domain.personal import (
    ERASED,
    SEALED_KEY,
    is_sealed,
    personal_values,
    sealed_anywhere,
)
from orderledger.store.bounded_cache import BoundedCache
from orderledger.store.ddl import create_tables
from orderledger.store.master_key import KEY_BYTES, NONCE_BYTES, MasterKey
from orderledger.store.pooled import pooled
from orderledger.store.scrub import compact, zero_on_delete
from orderledger.store.sealing_keys import (
    RecordRow,
    SealingKeys,
    Subject,
    SubjectRow,
    subject_label,
)

SUBJECTS, RECORDS, KEYS = "vault_subjects", "vault_records", "vault_keys"
# The columns of a SubjectRow and a RecordRow, in their order.
SUBJECT_COLUMNS = "subject, phone_ix, wrapped, key_id, created_at"
RECORD_COLUMNS = "subject, record, sealed"
SUBJECTS_REMEMBERED = 50_000
INDEX_KEY = "index"
NO_KEY_MESSAGE = (
    "personal data needs a master key on this database: set "
    "ORDERLEDGER_MASTER_KEY (64 hex digits; `orderledger keys new` prints one) "
    "or ORDERLEDGER_MASTER_KEY_FILE, or master_key_file under [privacy] in the "
    "config file (docs/privacy.md)"
)


class Vault:
    def __init__(self, engine: Engine, master: MasterKey | None) -> None:
        self.engine = engine
        self.master = master
        md = MetaData()
        self.subjects = Table(
            SUBJECTS,
            md,
            Column("subject", String(32), primary_key=True),
            # No index: only an erasure looks a phone up (a scan), and every
            # new order would pay for one (docs/benchmarks.md).
            Column("phone_ix", String(64)),  # NULL once erased
            Column("wrapped", LargeBinary),  # key + salt; NULL once erased
            Column("key_id", String(16)),
            Column("created_at", Float, nullable=False),
            Column("erased_at", Float),
            Column("erased_by", String(100)),
            Column("erased_reason", Text),
            # One b-tree keyed by the id (SQLite), not a row id and an index:
            # a new order writes one page fewer.
            sqlite_with_rowid=False,
        )
        self.records = Table(
            RECORDS,
            md,
            Column("subject", String(32), primary_key=True),
            Column("record", String(32), primary_key=True),
            Column("sealed", LargeBinary, nullable=False),
            sqlite_with_rowid=False,
        )
        self.keys = Table(
            KEYS,
            md,
            Column("name", String(32), primary_key=True),
            Column("wrapped", LargeBinary, nullable=False),
            Column("key_id", String(16), nullable=False),
        )
        self._tables = (self.subjects, self.records, self.keys)
        # The driver's placeholder, for the statements sent straight to it.
        self._mark = "%s" if engine.dialect.name == "postgresql" else "?"
        self._known: BoundedCache[str, Subject] = BoundedCache(SUBJECTS_REMEMBERED)
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
        if self.engine.dialect.name == "postgresql":
            # Imported here: the PostgreSQL dialect pulls in asyncio and
            # psycopg's modules, which a read on SQLite does not need.
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        return sqlite_insert(table).on_conflict_do_nothing()

    # ---- the blind index ----------------------------------------------------

    def phone_index(self, phone: str) -> str:
        """The keyed blind index a phone is searched by (views hold only this)."""
        return self.sealing_keys().phone_index(phone)

    def sealing_keys(self) -> SealingKeys:
        """The keys sealing needs (for the import's worker processes too)."""
        return SealingKeys(self._master(), self._index())

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

    def _marks(self, count: int) -> str:
        return ", ".join([self._mark] * count)

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Rows of one query straight through the driver (the hot reads:
        building the statement with SQLAlchemy cost more than the query)."""
        with pooled(self.engine) as raw:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, list(params))
                return list(cursor.fetchall())
            finally:
                cursor.close()

    def _unwrapped(self, subject_id: str, wrapped: bytes, key_id: str) -> Subject:
        self._check_key_id(key_id)
        try:
            secret = self._master().unwrap(wrapped, subject_label(subject_id))
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
            rows = self._read(
                f"SELECT subject, wrapped, key_id FROM {SUBJECTS} WHERE "
                f"subject IN ({self._marks(len(wanted))}) AND wrapped IS NOT NULL",
                wanted,
            )
            for subject_id, wrapped, key_id in rows:
                subject = self._unwrapped(subject_id, bytes(wrapped), key_id)
                self._known.put(subject.id, subject)
                result[subject.id] = subject
        return result

    def subject_ids_for_phone(self, phone: str) -> list[str]:
        """The live subjects a phone belongs to (usually one)."""
        s = self.subjects
        with self.engine.connect() as conn:
            found = conn.execute(
                select(s.c.subject).where(
                    s.c.phone_ix == self.phone_index(phone), s.c.wrapped.is_not(None)
                )
            ).scalars()
            return [str(subject_id) for subject_id in found]

    # ---- sealing ------------------------------------------------------------

    def seal(self, subject: Subject, data: Any) -> RecordRow | None:
        """Seal the personal values in `data` (SealingKeys.seal)."""
        return self.sealing_keys().seal(subject, data)

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

    def open_messages(self, messages: Sequence[Any]) -> list[bool]:
        """Open the sealed values anywhere in each message (in place), with
        one read of the vault for all of them (a read per message was a third
        of the relay's time); per message, False when one of its values was
        erased: that message must not be sent."""
        places = [list(sealed_anywhere(data)) for data in messages]
        opened = self._open_all(places)
        return [_fill(some, opened) for some in places]

    def _open_places(self, places: list[tuple[Any, Any]]) -> bool:
        """Open each sealed value in place; whether all of them could be."""
        return _fill(places, self._open_all([places]))

    def _open_all(
        self, places: list[list[tuple[Any, Any]]]
    ) -> dict[tuple[str, str], Mapping[str, str]]:
        refs = sorted(
            {_ref(holder[key])[:2] for some in places for holder, key in some}
        )
        opened: dict[tuple[str, str], Mapping[str, str]] = {}
        for start in range(0, len(refs), _OPEN_AT_ONCE):
            opened.update(self.open(set(refs[start : start + _OPEN_AT_ONCE])))
        return opened

    def open(
        self, refs: set[tuple[str, str]]
    ) -> dict[tuple[str, str], Mapping[str, str]]:
        """The plain values of these records; an erased one is left out."""
        if not refs:
            return {}
        wanted = sorted(refs)
        pair = f"(subject = {self._marks(1)} AND record = {self._marks(1)})"
        rows = self._read(
            f"SELECT subject, record, sealed FROM {RECORDS} WHERE "
            + " OR ".join([pair] * len(wanted)),
            [value for ref in wanted for value in ref],
        )
        subjects = self.subjects_by_id(row[0] for row in rows)
        opened: dict[tuple[str, str], Mapping[str, str]] = {}
        for subject_id, record, sealed in rows:
            subject = subjects.get(subject_id)
            if subject is None:
                continue  # erased while its records were being deleted
            sealed = bytes(sealed)
            label = f"{subject_id}:{record}".encode()
            try:
                plain = AESGCM(subject.key).decrypt(
                    sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], label
                )
            except InvalidTag:
                raise StorageError(
                    f"the vault record {subject_id}:{record} does not decrypt: "
                    "it was altered"
                ) from None
            opened[(subject_id, record)] = orjson.loads(plain)
        return opened

    def insert(
        self, subjects: Sequence[SubjectRow], records: Sequence[RecordRow]
    ) -> None:
        """New subjects and records written on their own, in one transaction
        (the recorder normally writes them with the events that use them)."""
        with self.engine.begin() as conn:
            for sql, params in [
                *subjects_statements(self._mark, subjects),
                *records_statements(self._mark, records),
            ]:
                conn.exec_driver_sql(sql, tuple(params))

    # ---- erasure and rotation -----------------------------------------------

    def erase(self, subject_ids: Sequence[str], by: str, reason: str) -> None:
        """Crypto-shredding: the subjects' keys, salts, phone index and
        records are deleted; who, when and why are kept."""
        s = self.subjects
        with self.engine.begin() as conn:
            zero_on_delete(conn)
            conn.execute(
                delete(self.records).where(self.records.c.subject.in_(subject_ids))
            )
            conn.execute(
                update(s)
                .where(s.c.subject.in_(subject_ids))
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
                label = subject_label(row.subject)
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


# Records opened by one query: two parameters each, far under every bound.
_OPEN_AT_ONCE = 500


def _fill(
    places: list[tuple[Any, Any]], opened: Mapping[tuple[str, str], Mapping[str, str]]
) -> bool:
    """Put the opened values in place of the sealed ones (ERASED where a
    record is gone); whether every one of them could be opened."""
    complete = True
    for holder, key in places:
        subject_id, record, path = _ref(holder[key])
        values = opened.get((subject_id, record))
        complete = complete and values is not None
        holder[key] = ERASED if values is None else values[path]
    return complete


def sealed_subject(data: Any) -> str | None:
    """The subject of the first sealed value in this JSON, if any."""
    for _path, holder, key in personal_values(data):
        if is_sealed(holder[key]):
            return _ref(holder[key])[0]
    return None


ROWS_PER_STATEMENT = 1_000  # five parameters at most: under every driver's bound


def records_statements(
    mark: str, rows: Sequence[RecordRow]
) -> list[tuple[str, list[Any]]]:
    """The INSERTs the recorder runs in the events' transaction (driver
    placeholders): a record already there (the same values) is kept."""
    return _inserts(mark, f"{RECORDS} ({RECORD_COLUMNS})", rows)


def _inserts(
    mark: str, into: str, rows: Sequence[tuple[Any, ...]]
) -> list[tuple[str, list[Any]]]:
    statements = []
    for i in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[i : i + ROWS_PER_STATEMENT]
        values = ", ".join(["(" + ", ".join([mark] * len(chunk[0])) + ")"] * len(chunk))
        sql = f"INSERT INTO {into} VALUES {values} ON CONFLICT DO NOTHING"
        statements.append((sql, [value for row in chunk for value in row]))
    return statements


def subjects_statements(
    mark: str, rows: Sequence[SubjectRow]
) -> list[tuple[str, list[Any]]]:
    """The INSERTs of new subjects in the events' transaction: one already
    stored (by an earlier batch of the same import) is kept."""
    unique = list({row[0]: row for row in rows}.values())
    return _inserts(mark, f"{SUBJECTS} ({SUBJECT_COLUMNS})", unique)


def vault_rows(
    events: Iterable[object],
) -> tuple[list[RecordRow], list[SubjectRow]]:
    """The vault records and new subjects riding on these stored events
    (SealedStoredEvent)."""
    records, subjects = [], []
    for e in events:
        record = getattr(e, "vault_record", None)
        if record is not None:
            records.append(record)
        subject = getattr(e, "vault_subject", None)
        if subject is not None:
            subjects.append(subject)
    return records, subjects
