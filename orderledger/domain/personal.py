"""Where personal data sits in an order's events, and what stands in for it
once it is sealed or erased (docs/privacy.md).

Personal data is the customer's name, contact person and phone, and the
receiver's name, phone and street address. It appears under a customer-like
key (`customer`, the aggregate's `_customer`, a modification's `contact`) or
an address-like key (`address`, `_address`); a modification's `before` and
`after` sit below those keys, so one walk finds every place in a Created or
Modified event and in a snapshot of an order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

# What an erased value reads as, everywhere.
ERASED = "[erased]"
SEALED_KEY = "pd"
# What a stored copy (an HTTP request's reply) holds in their place.
NOT_KEPT = "[not kept]"

_CUSTOMER_FIELDS = frozenset({"name", "contact", "phone"})
_ADDRESS_FIELDS = frozenset({"receiver", "phone", "detail"})
_KIND_OF_KEY = {
    "customer": _CUSTOMER_FIELDS,
    "_customer": _CUSTOMER_FIELDS,
    "contact": _CUSTOMER_FIELDS,
    "address": _ADDRESS_FIELDS,
    "_address": _ADDRESS_FIELDS,
}
PHONE_FIELD = "phone"
# (key, field, path) of each place a Created event may hold personal data.
_CREATED_PLACES = tuple(
    (kind, key, f"{kind}.{key}")
    for kind in ("customer", "address")
    for key in sorted(_KIND_OF_KEY[kind])
)
_NOT_DIGITS = re.compile(r"\D")

# The event types (and the snapshot) that can carry personal data.
PERSONAL_EVENT_TYPES = frozenset({"Created", "Modified"})


def is_sealed(value: Any) -> bool:
    """Whether this is what stands in for a value kept in the vault:
    {"pd": "<subject>:<record>:<path>"[, "ix": a phone's blind index]}."""
    return isinstance(value, dict) and SEALED_KEY in value


def personal_values(data: Any) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(path, the dict holding it, its key) of every personal value, as
    text or sealed."""
    yield from _walk(data, "", None)


def _walk(
    node: Any, path: str, fields: frozenset[str] | None
) -> Iterator[tuple[str, dict[str, Any], str]]:
    if not isinstance(node, dict):
        return
    # Values may be replaced while this walks (never keys added or removed).
    for key, value in node.items():
        here = f"{path}.{key}" if path else key
        if (
            fields is not None
            and key in fields
            and (isinstance(value, str) or is_sealed(value))
        ):
            yield here, node, key
        elif isinstance(value, dict) and "_type_" not in value:
            # (a transcoded time or amount holds no personal data)
            yield from _walk(value, here, _KIND_OF_KEY.get(key, fields))


def plain_values(data: Any) -> list[tuple[str, dict[str, Any], str]]:
    """The personal values still in plain text (neither sealed nor erased):
    what sealing replaces."""
    return [
        (path, holder, key)
        for path, holder, key in personal_values(data)
        if isinstance(holder[key], str) and holder[key] != ERASED
    ]


def created_plain_values(data: Any) -> list[tuple[str, dict[str, Any], str]]:
    """`plain_values` of a Created event, whose personal data sits one level
    down: the same places without the walk (an import seals one per row)."""
    found = []
    for kind, key, path in _CREATED_PLACES:
        holder = data.get(kind)
        if isinstance(holder, dict):
            value = holder.get(key)
            if isinstance(value, str) and value != ERASED:
                found.append((path, holder, key))
    return found


def sealed_anywhere(data: Any) -> Iterator[tuple[Any, Any]]:
    """(container, key or index) of every sealed value at any depth: a
    message built from sealed data holds them under its own field names."""
    items = (
        data.items() if isinstance(data, dict)
        else enumerate(data) if isinstance(data, list)
        else ()
    )  # fmt: skip
    for key, value in list(items):
        if is_sealed(value):
            yield data, key
        else:
            yield from sealed_anywhere(value)


def replace_personal(data: Any, replace: Callable[[str, Any], Any]) -> None:
    """Put `replace(path, value)` in place of every personal value."""
    for path, holder, key in personal_values(data):
        holder[key] = replace(path, holder[key])


def erase_personal(data: Any) -> None:
    """Every personal value of this JSON reads as ERASED from now on."""
    replace_personal(data, lambda _path, _value: ERASED)


def normalised_phone(phone: str) -> str:
    """The digits a phone is searched by: spaces, dashes and a leading +
    dropped, so that 138-0013-8000 finds 13800138000."""
    return _NOT_DIGITS.sub("", phone)
