"""Turning command-line text and files into the plain data the domain parses."""

from __future__ import annotations

from typing import IO, Any

from orderledger.domain.errors import InvalidInput
from orderledger.domain.json_input import loads_strict

MAX_FILE_BYTES = 1_000_000


LINE_FORMS = "SKU:QTY, SKU:QTY:PRICE (a catalog SKU) or SKU:NAME:QTY:PRICE"


def parse_line_option(text: str) -> dict[str, Any]:
    """SKU:QTY or SKU:QTY:PRICE (the rest from the catalog), or in full
    SKU:NAME:QTY:PRICE (the name may itself contain ':')."""
    parts = text.split(":")
    if len(parts) == 2:
        return {"sku": parts[0], "quantity": parts[1]}
    if len(parts) == 3:
        return {"sku": parts[0], "quantity": parts[1], "unit_price": parts[2]}
    if len(parts) < 2:
        raise InvalidInput(f"--line {text!r} must look like {LINE_FORMS}")
    head, rest = parts[0], ":".join(parts[1:])
    name, quantity, price = rest.rsplit(":", 2)
    return {"sku": head, "name": name, "quantity": quantity, "unit_price": price}


def parse_items(values: tuple[str, ...], option: str) -> list[dict[str, Any]]:
    """SKU:QTY (or #LINE:QTY for a SKU on several lines) per option value."""
    items = []
    for value in values:
        ref, sep, quantity = value.rpartition(":")
        if not sep or not ref.strip():
            raise InvalidInput(f"{option} {value!r}: write SKU:QTY (or #LINE:QTY)")
        items.append({"sku": ref.strip(), "quantity": quantity.strip()})
    return items


def write_output(path: str, text: str) -> None:
    """Write a file the user asked for; a missing folder or no permission is
    their input to fix (exit 2), not a bug."""
    try:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as error:
        raise InvalidInput(f"cannot write {path}: {error.strerror}") from None


def read_text(stream: IO[bytes], name: str) -> str:
    """A small UTF-8 file the user named (at most MAX_FILE_BYTES)."""
    raw = stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput(f"{name} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InvalidInput(
            f"{name} is not UTF-8 (bad byte on line {line}, offset {error.start})"
        ) from None


def read_json_file(stream: IO[bytes], name: str) -> Any:
    # Floats never reach the ledger: amounts come in as exact Decimals.
    return loads_strict(read_text(stream, name), name)
