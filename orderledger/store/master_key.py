"""The master key that wraps every customer's key (docs/privacy.md).

It is 32 random bytes written as 64 hex digits, read from
ORDERLEDGER_MASTER_KEY or a key file; it is never stored in the database.
With neither, a SQLite database gets a key file of its own beside it
(`<database file>.key`, owner-only) on first use; a PostgreSQL database has no
such place, so writes of personal data are refused until one is configured.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orderledger.config import MASTER_KEY_ENV, Settings
from orderledger.domain.errors import InvalidInput

KEY_BYTES = 32
NONCE_BYTES = 12


@dataclass(frozen=True)
class MasterKey:
    raw: bytes = field(repr=False)
    origin: str  # where it was read from, for messages (never the key)

    @property
    def key_id(self) -> str:
        """A short fingerprint stored beside what this key wraps, so that the
        wrong key is named as such instead of failing to decrypt."""
        return _fingerprint(self.raw)

    def wrap(self, secret: bytes, label: bytes, nonce: bytes | None = None) -> bytes:
        """`secret` encrypted under this key, bound to `label`; `nonce`: 12
        random bytes the caller already drew (else drawn here)."""
        nonce = nonce or secrets.token_bytes(NONCE_BYTES)
        return nonce + _cipher(self.raw).encrypt(nonce, secret, label)

    def unwrap(self, wrapped: bytes, label: bytes) -> bytes:
        return _cipher(self.raw).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], label
        )


@lru_cache(maxsize=4)
def _fingerprint(raw: bytes) -> str:
    return hashlib.sha256(b"orderledger master key\x00" + raw).hexdigest()[:16]


@lru_cache(maxsize=4)
def _cipher(raw: bytes) -> AESGCM:
    """One cipher object per master key (an import wraps a key per row)."""
    return AESGCM(raw)


def new_key_text() -> str:
    return secrets.token_hex(KEY_BYTES)


def parse_master_key(text: str, origin: str) -> MasterKey:
    text = text.strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != KEY_BYTES:
        raise InvalidInput(
            f"the master key from {origin} must be {2 * KEY_BYTES} hex digits "
            "(`orderledger keys new` prints one)"
        )
    return MasterKey(raw, origin)


def read_key_file(path: str) -> MasterKey:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read the master key file {path}: {error}") from None
    return parse_master_key(text, path)


def write_key_file(path: str, text: str) -> None:
    """A new key file only the owner can read; an existing one is never
    overwritten (O_EXCL)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def sqlite_key_path(db_url: str) -> str | None:
    """`<database file>.key` for a SQLite URL; None for any other database."""
    path = db_url[len("sqlite:///") :].split("?")[0]
    if not db_url.startswith("sqlite:///") or path in ("", ":memory:"):
        return None
    return path + ".key"


def resolve_master_key(
    db_url: str,
    key_text: str | None,
    key_file: str | None,
    announce: Callable[[str], None],
) -> MasterKey | None:
    """The configured key; for SQLite with none configured, the key file
    beside the database, made on first use (announced once)."""
    if key_text:
        return parse_master_key(key_text, MASTER_KEY_ENV)
    if key_file:
        return read_key_file(key_file)
    beside = sqlite_key_path(db_url)
    if beside is None:
        return None
    try:
        write_key_file(beside, new_key_text())
    except FileExistsError:
        return read_key_file(beside)
    except OSError as error:
        raise InvalidInput(
            f"cannot create the master key file {beside}: {error}"
        ) from None
    announce(
        f"created the master key {beside} (owner-only): it unlocks the customers' "
        "personal data; back it up apart from the database (docs/privacy.md)"
    )
    return read_key_file(beside)


def configured_master_key(
    settings: Settings, announce: Callable[[str], None]
) -> MasterKey | None:
    """The master key the settings name (resolve_master_key)."""
    return resolve_master_key(
        settings.db_url,
        settings.master_key.reveal() if settings.master_key else None,
        settings.master_key_file,
        announce=announce,
    )


def replace_key_file(path: str, key: MasterKey) -> None:
    """Put `key` in the key file at `path`, atomically (owner-only)."""
    staged = path + ".new"
    if os.path.exists(staged):
        os.unlink(staged)
    write_key_file(staged, key.raw.hex())
    os.replace(staged, path)
