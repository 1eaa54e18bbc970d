"""A parcel refused at the door (拒收), wholly or in part: pure rules.

The carrier reports what the customer did at the door: refused the parcel,
or kept some lines and sent the rest back (VOCABULARY.md §1). The refused
goods return to the warehouse; the order is worth what was kept (the
shipping fee stays: the parcel was delivered), or it is voided when nothing
was kept. A quantity is named as after-sales claims are (`SKU` or `#LINE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orderledger.domain.aftersales import claim_value, parse_claim
from orderledger.domain.errors import InvalidInput
from orderledger.domain.values import OrderLine, money_str


def split_at_door(
    lines: Sequence[OrderLine], accept: object, order_no: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the kept, the refused) quantities per line, as events store them
    (`line`, `sku`, `quantity`). Nothing accepted: everything is refused."""
    claim = parse_claim(lines, accept, "--accept") if accept else ()
    kept = {c.line: c.quantity for c in claim}
    accepted: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        keep = kept.get(number, 0)
        if keep > line.quantity:
            raise InvalidInput(
                f"order {order_no}: {line.sku} (line {number}): {keep} accepted, "
                f"but only {line.quantity} were shipped"
            )
        if keep:
            accepted.append({"line": number, "sku": line.sku, "quantity": keep})
        if line.quantity - keep:
            refused.append(
                {"line": number, "sku": line.sku, "quantity": line.quantity - keep}
            )
    if not refused:
        raise InvalidInput(
            f"order {order_no}: every line was accepted, nothing was refused: "
            "confirm the receipt instead (order receive)"
        )
    return accepted, refused


def refused_quantities(refused: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """Per line number, how many came back at the door."""
    return {item["line"]: item["quantity"] for item in refused}


def kept_lines(
    lines: Sequence[OrderLine], refused: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The lines as sold once the door is settled, as events store lines: each
    kept quantity, worth its line's amount less the refused part's value (the
    discount keeps the difference, so a line's amount is still computed the
    one way). Lines refused in full are left out: what U8 and the statistics
    count as sold."""
    back = refused_quantities(refused)
    out: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        gone = back.get(number, 0)
        keep = line.quantity - gone
        if keep <= 0:
            continue
        amount = line.amount - claim_value(lines, [{"line": number, "quantity": gone}])
        out.append(
            {
                **line.to_data(),
                "quantity": keep,
                "discount": money_str(line.unit_price * keep - amount),
            }
        )
    return out
