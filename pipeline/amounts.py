"""Spanish amounts and dates as printed or OCRed: decimal comma, thousands dot, OCR slips."""

from __future__ import annotations

import datetime as dt
import itertools
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
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dic": 12,
    # Tills with English firmware: the other abbreviations are the same as in Spanish.
    "jan": 1,
    "apr": 4,
    "aug": 8,
    "dec": 12,
}
_DIGIT: Final = r"[0-9Oo]"
DATE_PATTERN: Final = re.compile(
    rf"(?<![\dA-Za-z])(?P<d>{_DIGIT}{{1,2}})\s?[/.\-]\s?(?P<m>{_DIGIT}{{1,2}}|[a-z]{{3}})\s?[/.\-]\s?"
    rf"(?P<y>{_DIGIT}{{4}}|[0-9]{{2}})(?!\d)",
    re.IGNORECASE,
)
# Year first, as some till software prints it: "2026-01-25".
ISO_DATE_PATTERN: Final = re.compile(
    rf"(?<![\dA-Za-z])(?P<y>{_DIGIT}{{4}})[/.\-](?P<m>{_DIGIT}{{1,2}})[/.\-](?P<d>{_DIGIT}{{1,2}})(?!\d)",
    re.IGNORECASE,
)
# A month by name or abbreviation between spaces or dashes: "9 de septiembre de 2026",
# "11 MAR 2025", "16-ABR-2025", "12 nov. 26".
WORDED_DATE_PATTERN: Final = re.compile(
    rf"(?<![\dA-Za-z])(?P<d>{_DIGIT}{{1,2}})(?:\s+de)?[\s/.\-]+(?P<m>[a-z]{{3,10}})\.?"
    rf"(?:\s+del?)?[\s/.\-]+(?P<y>{_DIGIT}{{4}}|[0-9]{{2}})(?![\dA-Za-z])",
    re.IGNORECASE,
)
# Till fonts print a slashed or dotted zero that OCR reads as 8, 6 or 9; tried in place of
# a zero only when the date is impossible as read ("2826", month "89").
_ZERO_LOOKALIKES: Final = "869"


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date found in text, where it starts, and whether OCR digit slips were repaired."""

    date: dt.date
    start: int
    repaired: bool


def parse_date_parts(day: str, month: str, year: str) -> dt.date | None:
    """A day-first date from its printed parts (never US order); two-digit years are 20xx."""
    fix = str.maketrans({"O": "0", "o": "0"})
    day, year = day.translate(fix), year.translate(fix)
    month_number = _MONTHS.get(month.lower()) if month.isalpha() else int(month.translate(fix))
    if month_number is None:
        return None
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    if not 1990 <= full_year <= 2100:
        return None
    try:
        return dt.date(full_year, month_number, int(day))
    except ValueError:
        return None


def _zero_repairs(part: str) -> list[str]:
    """``part`` with one zero lookalike (see _ZERO_LOOKALIKES) read as 0, each way."""
    return [
        part[:i] + "0" + part[i + 1 :] for i, char in enumerate(part) if char in _ZERO_LOOKALIKES
    ]


def read_date(day: str, month: str, year: str) -> tuple[dt.date, bool] | None:
    """(date, repaired) from printed parts. An impossible date gets zero-lookalike fixes
    (one per part, fewest first) and is kept only if one date comes out at that count."""
    if (date := parse_date_parts(day, month, year)) is not None:
        return date, False
    options = [
        [(part, 0)] + ([] if part.isalpha() else [(fix, 1) for fix in _zero_repairs(part)])
        for part in (day, month, year)
    ]
    by_changes: dict[int, set[dt.date]] = {}
    for (d, a), (m, b), (y, c) in itertools.product(*options):
        if a + b + c and (date := parse_date_parts(d, m, y)) is not None:
            by_changes.setdefault(a + b + c, set()).add(date)
    if not by_changes:
        return None
    fewest = by_changes[min(by_changes)]
    return (next(iter(fewest)), True) if len(fewest) == 1 else None


def find_date_matches(text: str) -> list[DateMatch]:
    """Every valid day-first (or ISO year-first) date in ``text``, in order of position."""
    found: dict[int, DateMatch] = {}
    for pattern in (DATE_PATTERN, ISO_DATE_PATTERN, WORDED_DATE_PATTERN):
        for match in pattern.finditer(text):
            if match.start() in found:
                continue
            read = read_date(match.group("d"), match.group("m"), match.group("y"))
            if read is not None:
                found[match.start()] = DateMatch(read[0], match.start(), read[1])
    return [found[start] for start in sorted(found)]


def find_dates(text: str) -> list[tuple[dt.date, int]]:
    """Every valid day-first date in ``text`` with its position, in order."""
    return [(match.date, match.start) for match in find_date_matches(text)]
