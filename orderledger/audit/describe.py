"""One line saying what an event changed: the CLI's `order history` and the
auditor's console print the same words."""

from __future__ import annotations

import json
from typing import Any


def describe_event(entry: dict[str, Any]) -> str:
    """One line saying what an event changed."""
    details = entry["details"]
    match entry["type"]:
        case "Created":
            return (
                f"created: {details['payment_method']}, {len(details['lines'])} line(s)"
                f", customer {details['customer']['name']}"
            )
        case "Confirmed":
            return "confirmed"
        case "StockShortageOverridden":
            if not details["stock_known"]:
                return "confirmed without WDT's stock (WDT could not be asked)"
            short = ", ".join(
                f"{s['sku']} wants {s['wanted']}, has {s['available']}"
                for s in details["shortages"]
            )
            return f"stock shortage overridden: {short}"
        case "Modified":
            return "modified " + "; ".join(
                _describe_change(name, change["before"], change["after"])
                for name, change in details["changes"].items()
            )
        case "PaymentConfirmed":
            done = " (completes the order)" if details["completes"] else ""
            return f"payment {details['amount']} confirmed{done}"
        case "Shipped":
            d = details["delivery"]
            return f"shipped with {d['carrier']} {d['tracking_no']}"
        case "ReceiptConfirmed":
            done = " (completes the order)" if details["completes"] else ""
            return f"receipt confirmed{done}"
        case "ErpStatusObserved":
            code, label = details["observation"]["wdt_code"], details["erp_label"]
            return f"ERP reports {code} {label} (at {details['reported_at']})"
        case "AfterSalesApplied":
            return f"{details['kind']} {details['case_id']} applied for: " + items_text(
                details["lines"]
            )
        case "AfterSalesReviewed":
            verdict = "approved" if details["approved"] else "rejected"
            return f"after-sales {details['case_id']} {verdict}"
        case "AfterSalesReceived":
            return (
                f"after-sales {details['case_id']} received: accepted "
                f"{items_text(details['accepted'])}; "
                f"rejected {items_text(details['rejected'])}"
                f"; refund owed {details['refund_owed']}"
            )
        case "ExchangeShipped":
            d = details["delivery"]
            return (
                f"exchange {details['case_id']} shipped with {d['carrier']} "
                f"{d['tracking_no']}: {items_text(details['lines'])}"
            )
        case "RefundIssued":
            case = f" for {details['case_id']}" if details["case_id"] else ""
            return f"refund {details['refund_id']} of {details['amount']}{case}"
        case "ErpResyncRequested":
            return f"re-push to the ERP ({details['mismatch']}): {details['detail']}"
        case "PersonalDataRevealed":
            return "shown unmasked: " + ", ".join(details["fields"])
        case "ErpInterceptRequested":
            return f"intercept requested in the ERP: {details['detail']}"
        case "TaskOpened":
            return f"task for a person opened ({details['kind']}): {details['detail']}"
        case "TaskClosed":
            return f"task {details['kind']} closed: {details['resolution']}"
        case "RefusedAtDoor":
            kept = details["accepted"]
            return f"refused at the door: {items_text(details['refused'])}" + (
                f"; kept {items_text(kept)}, now worth {details['total']}"
                if kept
                else "; nothing kept: voided"
            )
        case "Cancelled":
            refund = details["refund_due"]
            return "cancelled" + (f", refund due {refund}" if refund != "0.00" else "")
        case _:
            return f"{entry['type']} {_short(details)}"


def items_text(items: list[dict[str, Any]]) -> str:
    return ", ".join(f"{i['sku']} x{i['quantity']}" for i in items) or "-"


def _describe_change(name: str, before: Any, after: Any) -> str:
    if name == "lines":
        return _describe_lines(before, after)
    if isinstance(before, dict) and isinstance(after, dict):
        return ", ".join(
            f"{name}.{k}: {before.get(k)!r} -> {after.get(k)!r}"
            for k in after
            if before.get(k) != after.get(k)
        )
    return f"{name}: {_short(before)} -> {_short(after)}"


def _describe_lines(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    """Line by line, old -> new per field (a line is its SKU and spec)."""

    def key(line: dict[str, Any]) -> str:
        spec = line.get("spec") or ""
        return f"{line['sku']}/{spec}" if spec else str(line["sku"])

    old = {key(line): line for line in before}
    new = {key(line): line for line in after}
    parts = [f"line {k} removed" for k in old if k not in new]
    for k, line in new.items():
        if k not in old:
            parts.append(
                f"line {k} added: {line['name']} x{line['quantity']} "
                f"@ {line['unit_price']}"
            )
            continue
        changed = [
            f"{field} {old[k].get(field)!s} -> {line.get(field)!s}"
            for field in line
            if old[k].get(field) != line.get(field)
        ]
        if changed:
            parts.append(f"line {k}: " + ", ".join(changed))
    return "; ".join(parts) or "lines: unchanged"


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."
