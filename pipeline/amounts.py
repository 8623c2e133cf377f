"""Spanish amounts and dates as printed or OCRed: decimal comma, thousands dot, OCR slips."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from pipeline.spanish import MONTH_NUMBERS

CENT: Final = Decimal("0.01")

# Characters OCR puts where a digit was printed (inside a number only): O/o→0, l/I/|→1, S→5, B→8.
_DIGIT_LOOKALIKES: Final = str.maketrans(
    {"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5", "B": "8"}
)
# A token that looks like an amount: digits with lookalikes, "." or "," groups, 2 decimals,
# an optional "€"/"e"/"EUR" and a trailing minus (refunds print "3,50-").
AMOUNT_PATTERN: Final = re.compile(
    r"(?<![\w.,])(?P<sign>-\s?)?(?:€\s?)?"
    r"(?P<units>[0-9OolIS|B](?:[0-9OolIS|B]{0,2}(?:[.\s][0-9OolIS|B]{3})+|[0-9OolIS|B]*))"
    r"\s?(?P<sep>[,.])\s?(?P<cents>[0-9OolIS|B]{2})(?![\w])"
    r"(?P<trail>-)?(?:\s?(?:€|eur|e)(?![a-z]))?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount found in text: its value, where it was, and whether OCR slips were fixed."""

    value: Decimal
    start: int
    end: int
    repaired: bool


def parse_amount(text: str) -> Decimal | None:
    """The Decimal in ``text`` ("1.234,56 €", "12.35", "3,50-", "1O,5O") or None."""
    found = find_amounts(text)
    return found[0].value if found else None


def find_amounts(text: str) -> list[Amount]:
    """Every amount in ``text``, in order; ``repaired`` marks fixed O/0, l/1… confusions."""
    amounts: list[Amount] = []
    for match in AMOUNT_PATTERN.finditer(text):
        units, cents = match.group("units"), match.group("cents")
        if not any(c.isdigit() for c in units + cents):
            continue
        # A lookalike letter alone next to a price ("IVA 10,00") is a word, not a digit.
        if units[0].isalpha() and not units[1:2].isdigit() and len(units) > 1:
            continue
        raw = units + cents
        fixed_units = units.translate(_DIGIT_LOOKALIKES).replace(".", "").replace(" ", "")
        fixed_cents = cents.translate(_DIGIT_LOOKALIKES)
        try:
            value = Decimal(f"{fixed_units}.{fixed_cents}")
        except InvalidOperation:
            continue
        if match.group("sign") or match.group("trail"):
            value = -value
        repaired = raw.replace(".", "").replace(" ", "") != fixed_units + fixed_cents
        amounts.append(Amount(value, match.start(), match.end(), repaired))
    return amounts


def format_amount(value: Decimal) -> str:
    """Canonical JSON form of an amount: "1234.56"."""
    return str(value.quantize(CENT))


_MONTHS: Final = MONTH_NUMBERS | {
    "ene": 1,
    "feb": 2,
    "mar": 3,
    "abr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "ago": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dic": 12,
}
DATE_PATTERN: Final = re.compile(
    r"(?<![\dA-Za-z])(?P<d>[0-3Oo]?[0-9Oo])\s?[/.\-]\s?(?P<m>[01Oo]?[0-9Oo]|[a-z]{3})\s?[/.\-]\s?"
    r"(?P<y>(?:19|20)[0-9Oo]{2}|[0-9]{2})(?!\d)",
    re.IGNORECASE,
)
WORDED_DATE_PATTERN: Final = re.compile(
    r"(?<!\d)(?P<d>\d{1,2})\s+de\s+(?P<m>"
    + "|".join(m for m in _MONTHS if len(m) > 3)
    + r")\s+(?:de\s+|del\s+)?(?P<y>\d{4})(?!\d)",
    re.IGNORECASE,
)


def parse_date_parts(day: str, month: str, year: str) -> dt.date | None:
    """A day-first date from its printed parts (never US order); two-digit years are 20xx."""
    fix = str.maketrans({"O": "0", "o": "0"})
    day, year = day.translate(fix), year.translate(fix)
    month_number = _MONTHS.get(month.lower()) if month.isalpha() else int(month.translate(fix))
    if month_number is None:
        return None
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    try:
        return dt.date(full_year, month_number, int(day))
    except ValueError:
        return None


def find_dates(text: str) -> list[tuple[dt.date, int]]:
    """Every valid day-first date in ``text`` with its position, in order."""
    found: list[tuple[dt.date, int]] = []
    for pattern in (DATE_PATTERN, WORDED_DATE_PATTERN):
        for match in pattern.finditer(text):
            date = parse_date_parts(match.group("d"), match.group("m"), match.group("y"))
            if date is not None and 1990 <= date.year <= 2100:
                found.append((date, match.start()))
    return sorted(found, key=lambda item: item[1])
