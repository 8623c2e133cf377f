"""Spanish VAT (IVA) rates by date, as data, and the arithmetic checks of a VAT breakdown.

One entry per period in ``VAT_PERIODS``: next change is one new row, not scattered literals.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from pipeline.amounts import CENT


@dataclass(frozen=True, slots=True)
class VatPeriod:
    """The IVA rates (percent) in force from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: dt.date
    end: dt.date
    rates: frozenset[Decimal]


def _rates(*values: str) -> frozenset[Decimal]:
    return frozenset(Decimal(v) for v in values)


# Ley 37/1992 arts. 90-91 and the temporary food/energy cuts (RDL 20/2022, 4/2024).
VAT_PERIODS: Final[tuple[VatPeriod, ...]] = (
    VatPeriod(dt.date(1995, 1, 1), dt.date(2010, 7, 1), _rates("16", "7", "4", "0")),
    VatPeriod(dt.date(2010, 7, 1), dt.date(2012, 9, 1), _rates("18", "8", "4", "0")),
    VatPeriod(dt.date(2012, 9, 1), dt.date(2021, 6, 26), _rates("21", "10", "4", "0")),
    # Electricity at 10 % (mid-2021) and 5 % (2022-2024); food at 0 %/5 % (2023-2024).
    VatPeriod(dt.date(2021, 6, 26), dt.date(2022, 7, 1), _rates("21", "10", "4", "0")),
    VatPeriod(
        dt.date(2022, 7, 1), dt.date(2025, 1, 1), _rates("21", "10", "7.5", "5", "4", "2", "0")
    ),
    VatPeriod(dt.date(2025, 1, 1), dt.date(2100, 1, 1), _rates("21", "10", "4", "0")),
)
# Recargo de equivalencia (LIVA art. 161) by IVA rate, and tobacco.
SURCHARGE_RATES: Final[dict[Decimal, Decimal]] = {
    Decimal("21"): Decimal("5.2"),
    Decimal("10"): Decimal("1.4"),
    Decimal("4"): Decimal("0.5"),
    Decimal("16"): Decimal("4"),
    Decimal("18"): Decimal("4"),
    Decimal("8"): Decimal("1"),
    Decimal("7"): Decimal("1"),
}
IRPF_RATES: Final = _rates("1", "2", "7", "15", "19", "35")
# Rounding slack: per line (base × rate) and for the sum of the lines against the total.
LINE_TOLERANCE: Final = Decimal("0.01")
TOTAL_TOLERANCE: Final = Decimal("0.02")


def rates_on(date: dt.date | None) -> frozenset[Decimal]:
    """IVA rates valid on ``date`` (today's when None)."""
    day = date or dt.date.today()
    for period in VAT_PERIODS:
        if period.start <= day < period.end:
            return period.rates
    return VAT_PERIODS[-1].rates


def is_valid_rate(rate: Decimal, date: dt.date | None) -> bool:
    """Whether ``rate`` (percent) was an IVA rate on ``date``."""
    return rate.normalize() in {r.normalize() for r in rates_on(date)}


@dataclass(frozen=True, slots=True)
class VatLine:
    """One row of a VAT breakdown; ``surcharge_*`` is the recargo de equivalencia."""

    rate: Decimal
    base: Decimal
    amount: Decimal
    surcharge_rate: Decimal | None = None
    surcharge_amount: Decimal | None = None

    def as_json(self) -> dict[str, str | None]:
        return {
            "rate": rate_text(self.rate),
            "base": str(self.base.quantize(CENT)),
            "amount": str(self.amount.quantize(CENT)),
            "surcharge_rate": None
            if self.surcharge_rate is None
            else rate_text(self.surcharge_rate),
            "surcharge_amount": None
            if self.surcharge_amount is None
            else str(self.surcharge_amount.quantize(CENT)),
        }


def rate_text(rate: Decimal) -> str:
    """A rate as plain text without trailing zeros ("21", "5.2"), never "2E+1"."""
    return format(rate.normalize(), "f")


def percent_of(base: Decimal, rate: Decimal) -> Decimal:
    """``base`` × ``rate`` % rounded half-up to cents."""
    return (base * rate / 100).quantize(CENT, ROUND_HALF_UP)


def check_vat(
    lines: Sequence[VatLine],
    total: Decimal | None,
    *,
    date: dt.date | None,
    withholding: Decimal = Decimal(0),
) -> list[str]:
    """Problems of a VAT breakdown, as sentences; empty when everything adds up.

    Checks base × rate ≈ amount per line, rates valid on ``date``, and
    Σ(base + amount + surcharge) − ``withholding`` ≈ ``total``.
    """
    problems: list[str] = []
    for line in lines:
        expected = percent_of(line.base, line.rate)
        if abs(expected - line.amount) > LINE_TOLERANCE:
            problems.append(
                f"IVA {rate_text(line.rate)}% of {line.base} should be {expected}, "
                f"read {line.amount}"
            )
        if not is_valid_rate(line.rate, date):
            problems.append(f"IVA rate {rate_text(line.rate)}% was not in force on {date}")
    if total is not None and lines:
        summed = (
            sum(
                (line.base + line.amount + (line.surcharge_amount or 0) for line in lines),
                Decimal(0),
            )
            - withholding
        )
        if abs(summed - total) > TOTAL_TOLERANCE:
            problems.append(f"VAT lines add up to {summed}, total read {total}")
    return problems


# --- repairing OCR slips by arithmetic ---------------------------------------------------

# Digits OCR takes for one another on receipts: a slashed or dotted zero read as 8, 6 or 9;
# 1/7, 3/8 and 5/6 in worn thermal print.
LOOKALIKE_DIGITS: Final = ("0869", "17", "38", "56")
# Every rate any period knows: a rate read from OCR must be one of them.
ALL_RATES: Final = frozenset(rate for period in VAT_PERIODS for rate in period.rates)


def _lookalike(a: str, b: str) -> bool:
    return any(a in group and b in group for group in LOOKALIKE_DIGITS)


def one_slip_apart(read: Decimal, value: Decimal) -> bool:
    """Whether ``value`` is ``read`` with exactly one digit swapped for a look-alike one."""
    first, second = f"{read.quantize(CENT)}", f"{value.quantize(CENT)}"
    if len(first) != len(second):
        return False
    different = [(a, b) for a, b in zip(first, second, strict=True) if a != b]
    return len(different) == 1 and _lookalike(*different[0])


def rate_from_amounts(base: Decimal, amount: Decimal) -> Decimal | None:
    """The one known IVA rate (see ALL_RATES) for which ``base`` gives ``amount``, or None."""
    if base <= 0:
        return None
    fitting = [
        rate
        for rate in ALL_RATES
        if rate and abs(percent_of(base, rate) - amount) <= LINE_TOLERANCE
    ]
    return fitting[0] if len(fitting) == 1 else None


@dataclass(frozen=True, slots=True)
class VatRow:
    """One VAT row as read: any number may be missing; ``gross`` is its total column."""

    rate: Decimal
    base: Decimal | None
    amount: Decimal | None
    gross: Decimal | None = None


def row_readings(row: VatRow) -> list[VatLine]:
    """Readings of ``row`` that satisfy its arithmetic (base × rate = amount, base + amount =
    gross): as read when it does; otherwise each reading with one number replaced that was
    missing or one look-alike digit away from what was read (see LOOKALIKE_DIGITS), or that
    the two others agree on. A rate no period knows, or under which nothing fits, is
    replaced by each known one (one slip away) that fits; a total column that fits nothing
    is ignored. Empty when nothing fits.
    """
    rate, base, amount, gross = row.rate, row.base, row.amount, row.gross
    if rate not in ALL_RATES:
        readings = [
            reading
            for known in sorted(ALL_RATES, reverse=True)
            if known
            for reading in row_readings(VatRow(known, base, amount, gross))
        ]
        # A rate under which the numbers fit as read beats one that needs them repaired.
        as_read = [r for r in readings if (r.base, r.amount) == (base, amount)]
        return list(dict.fromkeys(as_read or readings))
    found = (_readings(rate, base, amount, gross) if gross is not None else []) or _readings(
        rate, base, amount, None
    )
    if not found:
        # "18%" for "10%": the rate itself may be the misread number.
        found = [
            reading
            for known in sorted(ALL_RATES, reverse=True)
            if known and one_slip_apart(rate, known)
            for reading in _readings(known, base, amount, None)
        ]
    return found


def _readings(
    rate: Decimal, base: Decimal | None, amount: Decimal | None, gross: Decimal | None
) -> list[VatLine]:
    readings: list[VatLine] = []
    if base is not None and amount is not None and _consistent(rate, base, amount, gross):
        if amount == percent_of(base, rate):
            return [VatLine(rate, base, amount)]
        # Right only within the rounding slack: a base one slip away that fits exactly
        # may be what was printed, and the total decides (see settle_vat_rows).
        return [
            VatLine(rate, base, amount),
            *(
                VatLine(rate, candidate, amount)
                for candidate in _bases_for(rate, amount)
                if one_slip_apart(base, candidate)
            ),
        ]
    # With a total column, two numbers that agree outvote the third, however misread.
    if base is not None:
        computed = percent_of(base, rate)
        if (amount is None or gross is not None or one_slip_apart(amount, computed)) and (
            _consistent(rate, base, computed, gross)
        ):
            readings.append(VatLine(rate, base, computed))
    if amount is not None:
        bases = _bases_for(rate, amount) if gross is None else [gross - amount]
        readings += [
            VatLine(rate, candidate, amount)
            for candidate in bases
            if (base is None or gross is not None or one_slip_apart(base, candidate))
            and _consistent(rate, candidate, amount, gross)
        ]
    return list(dict.fromkeys(readings))


def settle_vat_rows(rows: Sequence[VatRow], total: Decimal | None) -> tuple[list[VatLine], bool]:
    """The VAT lines an OCR reading of ``rows`` most likely printed, and whether any number
    was repaired (see `row_readings`).

    When rows have several readings, the one set of readings that adds up to ``total``
    (exactly, else within TOTAL_TOLERANCE) wins; one row that fits nothing is rebuilt from
    what the others leave of ``total`` when a number of it was read right. When the
    settled rows still miss ``total``, one row whose numbers are each at most one slip
    from a rebuilt one is replaced, if only one can be. Otherwise rows stay as read (and
    `check_vat` says what is wrong). Rows without base and amount are dropped.
    """
    kept = [row for row in rows if row.base is not None or row.amount is not None]
    readings = [row_readings(row) for row in kept]
    as_read = [
        VatLine(row.rate, row.base, row.amount)
        if row.base is not None and row.amount is not None
        else None
        for row in kept
    ]
    chosen: list[VatLine | None] = [found[0] if len(found) == 1 else None for found in readings]
    free = [index for index, found in enumerate(readings) if not found]
    if total is not None and None in chosen and len(free) <= 1:
        combinations = [
            lines
            for combination in itertools.product(*(found for found in readings if found))
            if (lines := _complete(kept, free, list(combination), total)) is not None
        ]
        exact = [lines for lines in combinations if _sum(lines) == total]
        fitting = {tuple(lines) for lines in (exact or combinations)}
        if len(fitting) == 1:
            chosen = list(fitting.pop())
    current = [
        pick or read or (found[0] if found else None)
        for pick, read, found in zip(chosen, as_read, readings, strict=True)
    ]
    if total is not None and None not in current and abs(_sum(current) - total) > TOTAL_TOLERANCE:
        rebuilt = [
            lines
            for index in range(len(kept))
            if (
                lines := _complete(
                    kept, [index], current[:index] + current[index + 1 :], total, strict=True
                )
            )
            is not None
        ]
        if len(rebuilt) == 1:
            chosen = list(rebuilt[0])
            current = list(rebuilt[0])
    lines = []
    for pick, line in zip(chosen, current, strict=True):
        if line is None or (pick is None and line.rate < 0):
            continue  # no rate printed and none settled: not a VAT line we can state
        lines.append(line)
    repaired = any(
        pick is not None and pick != read for pick, read in zip(chosen, as_read, strict=True)
    )
    return lines, repaired


def _sum(lines: Sequence[VatLine | None]) -> Decimal:
    return sum((line.base + line.amount for line in lines if line is not None), Decimal(0))


def _complete(
    rows: Sequence[VatRow],
    free: Sequence[int],
    picked: list[VatLine],
    total: Decimal,
    *,
    strict: bool = False,
) -> list[VatLine] | None:
    """``picked`` (one reading per row but the ``free`` one) completed so the rows add up
    to ``total``, or None. The rebuilt row must keep each number within one slip of what
    was read, or (unless ``strict``) one number exactly as read: with the rate and the
    total it pins the other, whatever OCR made of it."""
    summed = _sum(picked)
    if not free:
        return picked if abs(summed - total) <= TOTAL_TOLERANCE else None
    row = rows[free[0]]
    gross = total - summed
    if row.rate not in ALL_RATES or gross <= 0:
        return None
    base = (gross / (1 + row.rate / 100)).quantize(CENT, ROUND_HALF_UP)
    line = VatLine(row.rate, base, gross - base)
    near = _near(row.base, line.base) and _near(row.amount, line.amount)
    if not near and (strict or (row.base != line.base and row.amount != line.amount)):
        return None
    return [*picked[: free[0]], line, *picked[free[0] :]]


def _near(read: Decimal | None, value: Decimal) -> bool:
    """Missing, equal, or one look-alike digit away."""
    return read is None or read == value or one_slip_apart(read, value)


def _consistent(rate: Decimal, base: Decimal, amount: Decimal, gross: Decimal | None) -> bool:
    if abs(percent_of(base, rate) - amount) > LINE_TOLERANCE:
        return False
    return gross is None or abs(base + amount - gross) <= TOTAL_TOLERANCE


def _bases_for(rate: Decimal, amount: Decimal) -> list[Decimal]:
    """Bases (in cents) whose ``rate`` % rounds exactly to ``amount``."""
    if not rate or amount < 0:
        return []
    low = ((amount - CENT / 2) * 100 / rate).quantize(CENT)
    high = (amount + CENT / 2) * 100 / rate
    return [
        low + CENT * step
        for step in range(int((high - low) / CENT) + 2)
        if percent_of(low + CENT * step, rate) == amount
    ]
