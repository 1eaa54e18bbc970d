"""What the benchmarks' `--personal-data` runs share: the ledger with the
personal-data vault or without it (the values left in the events, as before
issue 18), and the result line comparing the two."""

from __future__ import annotations

import argparse
from typing import Any

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_ledger, persistence_env
from orderledger.config import Settings


def ledger_for(db: str, *, vault: bool) -> OrderLedger:
    settings = Settings(db_url=db)
    if vault:
        return build_ledger(settings)
    return OrderLedger(persistence_env(settings), personal_data_vault=False)


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--personal-data",
        action="store_true",
        help="Compare with the personal-data vault against without it.",
    )


def result(name: str, db: str, rate: float, plain: float) -> dict[str, Any]:
    """The JSON line: the rate with the vault, without, and their ratio."""
    return {
        "name": name, "rate": round(rate), "baseline_rate": round(plain),
        "ratio": round(rate / plain, 3),
        "baseline": "the same work without the vault, same run",
        "db": db.split(":")[0],
    }  # fmt: skip
