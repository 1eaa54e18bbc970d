"""Turning command-line text and files into the plain data the domain parses."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import IO, Any

from orderledger.domain.errors import InvalidInput

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
        raise InvalidInput(
            f"{name} is not UTF-8 (bad byte at offset {error.start})"
        ) from None
    try:
        # Floats never reach the ledger: amounts come in as exact Decimals.
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"{name} is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}"
        ) from None
