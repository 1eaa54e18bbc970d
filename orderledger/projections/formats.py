"""How the views' stored values are shown: amounts from cents, UTC text in
the shop's time zone."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal


def money(amount_cents: int | None) -> str:
    return format(cents_to_amount(amount_cents), ".2f")


def cents_to_amount(amount_cents: int | None) -> Decimal:
    return Decimal(amount_cents or 0) / 100


def local_time(utc_text: str, tz: tzinfo) -> str:
    return datetime.fromisoformat(utc_text).astimezone(tz).isoformat()
