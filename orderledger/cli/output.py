"""Human-readable formatting of the plain data the application returns."""

from __future__ import annotations

from typing import Any

from orderledger.audit.describe import describe_event, items_text


def format_order(order: dict[str, Any]) -> str:
    customer, address = order["customer"], order["address"]
    lines = [
        f"订单 {order['order_no']}  {order['status']} ({order['status_code']})"
        f"  version {order['version']}",
        f"  payment   {order['payment_label']} ({order['payment']})"
        f"  total {order['total']}  paid {order['paid_amount']}"
        + (
            f"  refund due {order['refund_due']}"
            if order["refund_due"] != "0.00"
            else ""
        ),
        f"  axes      lifecycle={order['lifecycle']} payment={order['payment_status']}"
        f" shipping={order['shipping_status']}",
        f"  customer  {customer['name']} / {customer['contact']} {customer['phone']}",
        f"  ship to   {address['receiver']} {address['phone']}  "
        + " ".join(
            p
            for p in (
                address["province"],
                address["city"],
                address["district"],
                address["detail"],
            )
            if p
        ),
        f"  ordered   {order['ordered_at']}   updated {order['updated_at']}",
    ]
    for line in order["lines"]:
        spec = f" [{line['spec']}]" if line["spec"] else ""
        lines.append(
            f"    {line['sku']:<12} {line['name']}{spec} x{line['quantity']}"
            f" @ {line['unit_price']} = {line['amount']}"
        )
    if order["shipping_fee"] != "0.00":
        lines.append(f"    shipping fee {order['shipping_fee']}")
    if order["delivery"]:
        d = order["delivery"]
        eta = f" eta {d['estimated_arrival']}" if d["estimated_arrival"] else ""
        lines.append(f"  delivery  {d['carrier']} {d['tracking_no']}{eta}")
    if order.get("refused"):
        lines.append(f"  refused   at the door (拒收): {items_text(order['refused'])}")
    allowed = ", ".join(order["allowed_actions"]) or "nothing (final)"
    lines.append(f"  next      {allowed}")
    if order.get("erp"):
        lines += _erp_lines(order["erp"])
    return "\n".join(lines)


def _erp_lines(erp: dict[str, Any]) -> list[str]:
    expected, pushed, observed = erp["expected"], erp["pushed"], erp["observed"]
    codes = "/".join(str(c) for c in expected["wdt_codes"])
    out = [f"  ERP       expected {expected['erp_label']} ({codes})"]
    if pushed is not None:
        out.append(
            f"            to push  trade_status {pushed['platform_status']}"
            f" since {pushed['at']}{_delivered(pushed.get('delivery'))}"
        )
    if observed is None:
        out.append("            observed nothing yet (run `orderledger erp poll`)")
    else:
        flags = [f for f in ("frozen", "intercepted") if observed[f]]
        steps = f" steps {','.join(observed['steps'])}" if observed["steps"] else ""
        out.append(
            f"            observed {observed['erp_label']} ({observed['wdt_code']})"
            f"{steps}{' ' + ' '.join(flags) if flags else ''}"
            f" at {observed['reported_at']}" + ("  MISMATCH" if erp["mismatch"] else "")
        )
    task = erp["open_task"]
    if task is not None:
        out.append(f"  TASK      {task['kind']}: {task['detail']}")
    return out


def _delivered(delivery: dict[str, Any] | None) -> str:
    """What the delivery ledger says became of the push."""
    if delivery is None:
        return ""
    state = delivery["state"]
    if state == "acknowledged":
        return ": acknowledged by WDT"
    error = f" ({delivery['last_error']})" if delivery["last_error"] else ""
    return f": {state}{error}"


def format_history(entries: list[dict[str, Any]]) -> str:
    rows = []
    for e in entries:
        reason = f"  reason: {e['reason']}" if e["reason"] else ""
        rows.append(
            f"v{e['version']:<3} {e['time']}  {e['type']:<16} by {e['actor']}"
            f" via {e['source']}: {describe_event(e)}{reason}"
        )
    return "\n".join(rows)


def format_order_list(orders: list[dict[str, Any]]) -> str:
    if not orders:
        return "no orders match"
    rows = [
        f"{o['order_no']:<20} {o['status']:<4} {o['payment']:<7} {o['total']:>10}"
        f"  {o['customer']:<8} {o['phone']:<12} {o['ordered_at'][:19]}"
        + _erp_columns(o)
        for o in orders
    ]
    return "\n".join(rows) + f"\n({len(orders)} order(s))"


def _erp_columns(order: dict[str, Any]) -> str:
    """ERP expected / observed, when the ERP has reported the order."""
    if order.get("erp_observed") is None:
        return ""
    task = f"  task {order['open_task']}" if order["open_task"] else ""
    observed = f"{order['erp_observed']}({order['erp_observed_code']})"
    if not order["erp_mismatch"]:  # in sync: what the ERP shows, once
        return f"  ERP {observed}{task}"
    return f"  ERP expected {order['erp_expected']}, is {observed}  MISMATCH{task}"


def format_stats(by: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no orders in range"
    keys = list(rows[0])
    out = ["  ".join(f"{k:>10}" for k in keys)]
    out += ["  ".join(f"{r[k]!s:>10}" for k in keys) for r in rows]
    if by in ("product", "category", "brand"):
        out.append("(voided orders are left out)")
    return "\n".join(out)
