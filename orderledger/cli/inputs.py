"""Turning command-line text and files into the plain data the domain parses."""

from __future__ import annotations

from typing import IO, Any

from orderledger.domain.errors import InvalidInput
from orderledger.domain.json_input import loads_strict

MAX_FILE_BYTES = 1_000_000


def parse_line_option(text: str) -> dict[str, Any]:
    """SKU:NAME:QTY:PRICE; the name may itself contain ':'."""
    head, sep, rest = text.partition(":")
    parts = rest.rsplit(":", 2) if sep else []
    if len(parts) != 3:
        raise InvalidInput(f"--line {text!r} must look like SKU:NAME:QTY:PRICE")
    name, quantity, price = parts
    return {"sku": head, "name": name, "quantity": quantity, "unit_price": price}


def read_json_file(stream: IO[bytes], name: str) -> Any:
    raw = stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput(f"{name} is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InvalidInput(
            f"{name} is not UTF-8 (bad byte on line {line}, offset {error.start})"
        ) from None
    # Floats never reach the ledger: amounts come in as exact Decimals.
    return loads_strict(text, name)
