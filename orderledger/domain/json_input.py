"""JSON documents read strictly: what the standard decoder lets through quietly
is refused here, with a message that says why.

- A key twice in one object (the decoder keeps the last one silently).
- `NaN`, `Infinity` (not JSON, though the decoder takes them).
- Integers longer than any quantity (a 5000-digit number raises a bare
  ValueError deep in the decoder), nesting so deep the decoder recurses
  out of stack.
- Numbers with a fraction become exact Decimals, never floats.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from orderledger.domain.bounds import clip
from orderledger.domain.errors import InvalidInput

MAX_INT_DIGITS = 20


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        keys = [k for k, _ in pairs]
        twice = next(k for i, k in enumerate(keys) if k in keys[:i])
        raise InvalidInput(f"the key {clip(twice)} appears twice in one object")
    return obj


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise InvalidInput(f"the number {clip(text)} is too long")
    return int(text)


def _constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not a number JSON allows")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object,
    parse_float=Decimal,
    parse_int=_int,
    parse_constant=_constant,
)


def loads_strict(text: str, name: str = "") -> Any:
    """One JSON document; InvalidInput (naming the file `name`, if given) for
    anything wrong."""
    subject = f"{name} is " if name else ""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"{subject}not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}"
        ) from None
    except RecursionError:
        raise InvalidInput(f"{subject}nested too deeply to be an order") from None
    except InvalidInput as error:
        raise InvalidInput(f"{name}: {error}" if name else str(error)) from None
