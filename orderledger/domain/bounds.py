"""What a stored value may be: the bounds every reader of the log can hold.

The log is immutable, so a value let in once must be readable for ever: by
the aggregate, by every view (SQLite INTEGER and PostgreSQL columns), by the
message builders (dates turned into China time, amounts into text) and by
Python's own `datetime` and `Decimal`. These bounds are decided here, once,
and documented in docs/cli.md ("Bounds").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from orderledger.domain.errors import InvalidInput

# Money: every amount (price, discount, fee, payment, refund), every line's
# value and every order's total is at most this. In cents it is below 10**10,
# so a statistics bucket summed as a 64-bit integer (SQLite) holds more than
# 900 million maximal orders; PostgreSQL sums BIGINT as NUMERIC.
MAX_AMOUNT = Decimal("99999999.99")
MAX_QUANTITY = 1_000_000
MAX_LINES = 200
MAX_TEXT = 200

# Times an order may carry: from 2000-01-01 (UTC) to a day ahead of now (a
# website clock a little fast). Far from both ends of `datetime`'s range, so
# every conversion (to UTC, to China time, to the shop's day) succeeds.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
# Calendar dates (an estimated arrival): a real date within these years.
FIRST_YEAR, LAST_YEAR = 2000, 2100

# Characters that never belong in order text: controls (Cc: NUL, DEL, U+0085
# …), format characters (Cf: zero-width spaces, bidi overrides such as U+202E
# that make text read differently from what is stored), surrogates (Cs) and
# the line and paragraph separators (Zl, Zp). Ordinary and ideographic spaces
# (Zs) are fine.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Letters that render as nothing: a name made only of them is empty.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def refused_character(text: str) -> str | None:
    """The first character text must not hold (written U+ and its hex code,
    as in U+202E), or None."""
    if text.isprintable():  # C speed; false for any refused character
        return None
    for char in text:
        if char != " " and unicodedata.category(char) in _REFUSED_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def is_blank(text: str) -> bool:
    """Nothing visible: only spaces and letters that render as nothing."""
    return all(c.isspace() or c in _BLANK_LETTERS for c in text)


def clip(value: object, limit: int = 40) -> str:
    """A value for an error message: never the whole of a huge input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Phones: a mainland mobile (1[3-9] and nine digits), a mainland landline
# (0, area code and number: 10 to 12 digits), either optionally with +86; or
# an international number in E.164 form (+, 8 to 15 digits) for customers
# abroad, Hong Kong, Macau and Taiwan included. Digits may be grouped by
# single spaces or hyphens ("138 0013 8000", "010-12345678").
_PHONE_SHAPE = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*", re.ASCII)
_MAINLAND = re.compile(r"(?:86)?(?:1[3-9][0-9]{9}|0[1-9][0-9]{8,10})", re.ASCII)
_INTERNATIONAL = re.compile(r"[1-9][0-9]{7,14}", re.ASCII)


def is_phone(text: str) -> bool:
    if not _PHONE_SHAPE.fullmatch(text):
        return False
    digits = text.lstrip("+").replace(" ", "").replace("-", "")
    if _MAINLAND.fullmatch(digits):
        return True
    international = _INTERNATIONAL.fullmatch(digits) is not None
    return text.startswith("+") and international and not digits.startswith("86")


def check_order_time(moment: datetime, field: str) -> datetime:
    """An order's time within [EARLIEST_TIME, now + FUTURE_SLACK]."""
    latest = datetime.now(UTC) + FUTURE_SLACK
    try:
        inside = EARLIEST_TIME <= moment <= latest
    except OverflowError:
        inside = False
    if not inside:
        raise InvalidInput(
            f"{field} must lie between {EARLIEST_TIME.date()} and a day from now, "
            f"not {moment.isoformat()}"
        )
    return moment


def parse_calendar_date(text: str, field: str) -> str:
    """A real calendar date YYYY-MM-DD within FIRST_YEAR..LAST_YEAR."""
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text, re.ASCII):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None and FIRST_YEAR <= day.year <= LAST_YEAR:
            return text
    raise InvalidInput(
        f"{field} must be a calendar date like 2026-12-01 between {FIRST_YEAR} and "
        f"{LAST_YEAR}, not {clip(text)}"
    )
