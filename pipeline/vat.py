"""Spanish VAT (IVA) rates by date, as data, and the arithmetic checks of a VAT breakdown.

One entry per period in ``VAT_PERIODS``: next change is one new row, not scattered literals.
"""

from __future__ import annotations

import datetime as dt
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
