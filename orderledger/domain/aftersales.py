"""After-sales (售后): returns, exchanges and refunds, as pure values and rules.

A case follows the source document's flow (订单管理系统流程 §3, 订单管理制度
§3.4): the customer applies, customer service reviews, the warehouse
receives and inspects the goods line by line, finance refunds (a return) or
the warehouse ships the replacement (an exchange). An order can have several
cases; a quantity can be claimed once: by an open case, or by the accepted
part of a received one. Goods rejected at inspection go back to the
customer and can be claimed again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from orderledger.domain.errors import InvalidInput, RuleViolation
from orderledger.domain.values import OrderLine, parse_quantity


class CaseKind(StrEnum):
    RETURN = "return"  # 退货: goods back, money back
    EXCHANGE = "exchange"  # 换货: goods back, the same goods out again

    @property
    def label(self) -> str:
        return {"return": "退货", "exchange": "换货"}[self.value]

    @classmethod
    def parse(cls, value: object) -> CaseKind:
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise InvalidInput(
                f"unknown after-sales kind {value!r}: use return or exchange"
            ) from None


class CaseState(StrEnum):
    APPLIED = "applied"  # 待审核
    APPROVED = "approved"  # 待退回: waiting for the goods
    REJECTED = "rejected"  # 已拒绝 at review
    RECEIVED = "received"  # 已验收: goods inspected, refund or replacement due
    CLOSED = "closed"  # 已完成: refunded in full, replacement shipped, or
    # every line rejected at inspection (the goods went back to the customer)

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    CaseState.APPLIED: "待审核",
    CaseState.APPROVED: "待退回",
    CaseState.REJECTED: "已拒绝",
    CaseState.RECEIVED: "已验收",
    CaseState.CLOSED: "已完成",
}


@dataclass(frozen=True)
class ClaimLine:
    """A quantity of one order line, named by its 1-based line number."""

    line: int
    quantity: int

    def to_data(self) -> dict[str, int]:
        return {"line": self.line, "quantity": self.quantity}


def resolve_line(lines: Sequence[OrderLine], ref: object) -> int:
    """An order line from its SKU, or `#n` for line n (for a repeated SKU)."""
    text = str(ref).strip()
    if text.startswith("#"):
        try:
            number = int(text[1:])
        except ValueError:
            number = 0
        if not 1 <= number <= len(lines):
            raise InvalidInput(f"there is no line {text}: the order has {len(lines)}")
        return number
    found = [i for i, line in enumerate(lines, 1) if line.sku == text]
    if not found:
        skus = ", ".join(line.sku for line in lines)
        raise InvalidInput(f"the order has no line with SKU {text!r} (it has {skus})")
    if len(found) > 1:
        refs = ", ".join(f"#{i}" for i in found)
        raise InvalidInput(f"SKU {text} is on several lines: name one of {refs}")
    return found[0]


def parse_claim(
    lines: Sequence[OrderLine], items: object, what: str
) -> tuple[ClaimLine, ...]:
    """[{"sku" or "line": …, "quantity": n}, …] → claim lines, each line once."""
    if not isinstance(items, list | tuple) or not items:
        raise InvalidInput(f"{what}: name at least one line and quantity")
    out: dict[int, int] = {}
    for item in items:
        if not isinstance(item, Mapping):
            raise InvalidInput(f"{what}: each entry needs a line and a quantity")
        ref = item.get("line", item.get("sku"))
        number = resolve_line(lines, ref if ref is not None else "")
        count = parse_quantity(item.get("quantity"), f"{what}: quantity of {ref}")
        if number in out:
            raise InvalidInput(f"{what}: line {ref} is named twice")
        out[number] = count
    return tuple(ClaimLine(n, q) for n, q in sorted(out.items()))


def inspection(
    lines: Sequence[OrderLine],
    case: Mapping[str, Any],
    case_id: str,
    accepted: object,
    rejected: object,
) -> tuple[tuple[ClaimLine, ...], tuple[ClaimLine, ...]]:
    """The warehouse's inspection of a case's goods, checked: the accepted
    and the rejected items, which together must be exactly what the case
    returns (every item inspected once)."""
    good = parse_claim(lines, accepted, "accepted") if accepted else ()
    bad = parse_claim(lines, rejected, "rejected") if rejected else ()
    if not good and not bad:
        raise InvalidInput(f"case {case_id}: say what was accepted or rejected")
    inspected: dict[int, int] = {}
    for item in (*good, *bad):
        inspected[item.line] = inspected.get(item.line, 0) + item.quantity
    expected = {item["line"]: item["quantity"] for item in case["lines"]}
    if inspected != expected:
        raise RuleViolation(
            f"case {case_id}: every returned item is inspected once: the case "
            f"returns {_describe(lines, expected)}, the inspection covers "
            f"{_describe(lines, inspected)}"
        )
    return good, bad


def _describe(lines: Sequence[OrderLine], quantities: dict[int, int]) -> str:
    return (
        ", ".join(f"{lines[n - 1].sku} x{q}" for n, q in sorted(quantities.items()))
        or "nothing"
    )


def claimed(cases: Mapping[str, Mapping[str, Any]]) -> dict[int, int]:
    """Per line number, the quantity already claimed by after-sales cases."""
    total: dict[int, int] = {}
    for case in cases.values():
        state = CaseState(case["state"])
        if state is CaseState.REJECTED:
            continue
        if state in (CaseState.APPLIED, CaseState.APPROVED):
            items = case["lines"]
        else:
            items = case.get("accepted", [])
        for item in items:
            total[item["line"]] = total.get(item["line"], 0) + item["quantity"]
    return total


def check_claimable(
    lines: Sequence[OrderLine],
    cases: Mapping[str, Mapping[str, Any]],
    claim: Sequence[ClaimLine],
    order_no: str,
    refused: Mapping[int, int] | None = None,
) -> None:
    """Each quantity must be delivered (not `refused` at the door, per line
    number) and not already claimed."""
    already = claimed(cases)
    for item in claim:
        line = lines[item.line - 1]
        delivered = line.quantity - (refused or {}).get(item.line, 0)
        free = delivered - already.get(item.line, 0)
        if item.quantity > free:
            raise RuleViolation(
                f"order {order_no}: {line.sku} (line {item.line}): {item.quantity} "
                f"asked, but only {free} of {delivered} delivered are not "
                "already returned or in an open case"
            )


def replacement_tid(order_no: str, case_id: str) -> str:
    """The tid of an exchange's replacement shipment in WDT: its own trade,
    named after the order and the case (`NO-EX1` for case AS1)."""
    return f"{order_no}-EX{case_id.removeprefix('AS')}"


def replaced_case(tid: str) -> tuple[str, str] | None:
    """(order number, case id) of a replacement trade's tid, or None."""
    order_no, sep, number = tid.rpartition("-EX")
    if not sep or not order_no or not number.isdigit():
        return None
    return order_no, f"AS{number}"


def claim_value(
    lines: Sequence[OrderLine], claim: Sequence[Mapping[str, int]]
) -> Decimal:
    """What the claimed goods were sold for (after each line's discount)."""
    value = Decimal("0.00")
    for item in claim:
        line = lines[item["line"] - 1]
        value += (line.amount * item["quantity"] / line.quantity).quantize(
            Decimal("0.01")
        )
    return value


CASE_EVENTS = frozenset(
    {
        "AfterSalesApplied",
        "AfterSalesReviewed",
        "AfterSalesReceived",
        "ExchangeShipped",
        "RefundIssued",
    }
)


def fold_case(
    cases: Mapping[str, Mapping[str, Any]], event_type: str, data: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """The cases after one after-sales event (its recorded data): shared by the
    aggregate and the order-status view, so they cannot disagree."""
    out = {k: dict(v) for k, v in cases.items()}
    case_id = data.get("case_id") or ""
    match event_type:
        case "AfterSalesApplied":
            out[case_id] = {
                "kind": data["kind"],
                "state": CaseState.APPLIED.value,
                "lines": [dict(x) for x in data["lines"]],
                "reason": data["reason"],
                "refunded": "0.00",
            }
        case "AfterSalesReviewed":
            state = CaseState.APPROVED if data["approved"] else CaseState.REJECTED
            out[case_id]["state"] = state.value
        case "AfterSalesReceived":
            state = CaseState.RECEIVED if data["accepted"] else CaseState.CLOSED
            out[case_id].update(
                state=state.value,
                accepted=[dict(x) for x in data["accepted"]],
                rejected=[dict(x) for x in data["rejected"]],
                refund_owed=data["refund_owed"],
            )
        case "ExchangeShipped":
            out[case_id].update(
                state=CaseState.CLOSED.value, delivery=dict(data["delivery"])
            )
        case "RefundIssued" if case_id:
            case = out[case_id]
            refunded = Decimal(case["refunded"]) + Decimal(data["amount"])
            case["refunded"] = format(refunded, ".2f")
            if data["closes_case"]:
                case["state"] = CaseState.CLOSED.value
    return out


def cases_view(cases: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The after-sales cases, oldest first, with their Chinese labels."""
    return [
        {
            "case_id": case_id,
            "kind": case["kind"],
            "kind_label": CaseKind(case["kind"]).label,
            "state": case["state"],
            "state_label": CaseState(case["state"]).label,
            "reason": case["reason"],
            "lines": case["lines"],
            "accepted": case.get("accepted", []),
            "rejected": case.get("rejected", []),
            "refund_owed": case.get("refund_owed", "0.00"),
            "refunded": case["refunded"],
            "delivery": case.get("delivery"),
        }
        for case_id, case in cases.items()
    ]


def after_sales_label(cases: int, still_open: int) -> str:
    """An order's after-sales state in a word: "" (none), 售后中, 售后完成."""
    if not cases:
        return ""
    return "售后中" if still_open else "售后完成"
