"""What a modification changes: each changed part before and after, decided
from the order's current data alone (the aggregate records the result)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from orderledger.domain.values import (
    Address,
    OrderLine,
    check_total,
    parse_lines,
    parse_phone,
    parse_text,
)

Changes = dict[str, dict[str, Any]]


def validated(lines: tuple[OrderLine, ...]) -> tuple[OrderLine, ...]:
    """Lines built in code bypass parsing: check them before they are recorded."""
    return parse_lines([line.to_data() for line in lines], OrderLine.revalidated)


def modification(
    *,
    current_lines: list[dict[str, Any]],
    current_address: dict[str, str],
    current_customer: dict[str, str],
    shipping_fee: Decimal,
    lines: tuple[OrderLine, ...] | None,
    address: Mapping[str, str] | None,
    contact: str | None,
    phone: str | None,
) -> Changes:
    """The parts that change, each with `before` and `after`; {} when the new
    values are the ones the order has. `address` may hold only the fields to
    change; the rest are kept."""
    changes: Changes = {}
    if lines is not None:
        lines = validated(lines)
        check_total(lines, shipping_fee)
        # Compared as lines, not as stored dicts (older events may lack keys).
        if lines != tuple(OrderLine.from_stored(d) for d in current_lines):
            changes["lines"] = {
                "before": [dict(d) for d in current_lines],
                "after": [line.to_data() for line in lines],
            }
    if address:
        new_address = Address.from_data({**current_address, **address}).to_data()
        if new_address != current_address:
            changes["address"] = {"before": dict(current_address), "after": new_address}
    if contact is not None or phone is not None:
        new_contact = {
            "contact": parse_text(contact or current_customer["contact"], "contact"),
            "phone": parse_phone(phone or current_customer["phone"]),
        }
        before = {k: current_customer[k] for k in new_contact}
        if new_contact != before:
            changes["contact"] = {"before": before, "after": new_contact}
    return changes
