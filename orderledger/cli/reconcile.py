"""`orderledger reconcile`: the website against the ERP, replayed from the log."""

from __future__ import annotations

import csv
from dataclasses import asdict, fields
from typing import Any

import click

from orderledger.bootstrap import build_reconciler
from orderledger.cli.context import CliContext, json_option, pass_cli
from orderledger.domain.errors import InvalidInput
from orderledger.erp.reconciler import ReconcileLine, ReconcileReport


@click.command("reconcile")
@click.option("--order", "order_no", help="Only this order.")
@click.option(
    "--apply",
    "apply_",
    is_flag=True,
    help="Take each corrective action (actor `reconcile`); default: dry run.",
)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write one line per order to this CSV file.",
)
@json_option
@pass_cli
def reconcile(
    cli: CliContext, order_no: str | None, apply_: bool, csv_file: str | None
) -> None:
    """Replay the log, compare every order's expected ERP state with the one
    last observed, and classify each difference: missing_in_erp, erp_behind,
    erp_ahead, cancel_blocked, unknown. Run `erp poll` first for a fresh view
    of the ERP."""
    reconciler = build_reconciler(
        cli.ledger(), cli.projections(), cli.reconcile_settings()
    )
    report = reconciler.run(order_no=order_no, apply=apply_)
    if apply_:
        cli.after_write()
    if csv_file is not None:
        write_csv(csv_file, report.orders)
    cli.emit(report.to_data(), lambda _: format_report(report))


CSV_COLUMNS = [f.name for f in fields(ReconcileLine)]


def write_csv(path: str, lines: list[ReconcileLine]) -> None:
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for line in lines:
                row: dict[str, Any] = asdict(line)
                row["steps"] = " ".join(line.steps)
                writer.writerow(row)
    except OSError as error:
        raise InvalidInput(f"cannot write {path}: {error.strerror}") from None


def format_report(report: ReconcileReport) -> str:
    mode = "applied" if report.applied else "dry run, nothing changed; --apply acts"
    out = [
        f"reconciliation ({mode}): {report.checked} order(s) checked, "
        f"{report.in_sync} in sync; ERP SLA {report.sla_minutes:g} min",
        "  " + "  ".join(f"{k} {v}" for k, v in report.counts.items()),
    ]
    for line in report.orders:
        observed = (
            "never seen"
            if line.observed_wdt_code is None
            else f"{line.observed_erp_label}({line.observed_wdt_code})"
        )
        sla = ""
        if line.within_sla is not None:
            sla = " within SLA" if line.within_sla else " past SLA"
        steps = f" [{', '.join(line.steps)}]" if line.steps else ""
        outcome = f" -> {line.outcome}" if line.outcome else ""
        out.append(
            f"{line.order_no:<20} {line.status:<4} expected "
            f"{line.expected_erp_label}({line.expected_wdt_codes}) observed "
            f"{observed}  {line.mismatch or 'in_sync'}{sla}  {line.action}{steps}"
            f"{outcome}\n    {line.detail} (age {line.age_minutes:g} min)"
        )
    if report.open_tasks:
        out.append(f"open tasks for a person ({len(report.open_tasks)}):")
        out += [
            f"  {t['order_no']:<20} {t['kind']:<15} {t['detail']}"
            for t in report.open_tasks
        ]
    if report.failed:
        out.append(f"{report.failed} action(s) failed: see the lines above")
    return "\n".join(out)
