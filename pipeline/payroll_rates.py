"""Social-security contribution rates and bases, one table per year (Régimen General).

Next year is one new `YearRates` entry in `RATES`; nothing else in the code holds a rate.
Sources and confidence: ../shared/domain/REFERENCE.md §1.4–1.5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class ContractType(StrEnum):
    """How unemployment is charged: open-ended contracts pay less than fixed-term ones."""

    INDEFINIDO = "indefinido"  # incl. fijo discontinuo, formativos, relevo, interinidad
    TEMPORAL = "temporal"  # contrato de duración determinada


@dataclass(frozen=True, slots=True)
class Split:
    """A rate in percent, split into the employer's and the worker's part."""

    employer: Decimal
    worker: Decimal

    @property
    def total(self) -> Decimal:
        return self.employer + self.worker


@dataclass(frozen=True, slots=True)
class SolidarityBand:
    """A band of remuneration above the maximum base: up to ``upto`` × base máxima of excess."""

    upto: Decimal | None  # fraction of the maximum base; None = no upper end
    rate: Split


@dataclass(frozen=True, slots=True)
class YearRates:
    """Every rate and base of one year; percentages as Decimal percent (4.70 = 4,70 %)."""

    year: int
    max_base: Decimal  # €/month, every group
    min_base: MappingProxyType[int, Decimal]  # contribution group (1–11) → €/month (30 days)
    common: Split  # contingencias comunes
    unemployment: MappingProxyType[ContractType, Split]
    vocational_training: Split  # formación profesional
    fogasa: Split
    mei: Split  # mecanismo de equidad intergeneracional
    overtime_force_majeure: Split
    overtime_other: Split
    solidarity: tuple[SolidarityBand, ...]
    default_at_ep: Decimal = field(default=Decimal("1.00"))  # office work (tarifa de primas)

    def min_base_for(self, group: int, days: int = 30) -> Decimal:
        """The minimum monthly base of a contribution group, in proportion to ``days`` of 30."""
        if group not in self.min_base:
            raise ValueError(f"contribution group must be 1–11, got {group}")
        base = self.min_base[group]
        return base if days >= 30 else (base * days / 30).quantize(Decimal("0.01"))


def _d(value: str) -> Decimal:
    return Decimal(value)


_MIN_2026_GROUPS_4_TO_7: Final = _d("1424.50")  # SMI 1.221 × 14 / 12 (REFERENCE §1.5, verify)
_MIN_2026_DAILY_8_TO_11: Final = _d("47.48") * 30  # daily route for groups 8–11 (verify)

RATES: Final[MappingProxyType[int, YearRates]] = MappingProxyType(
    {
        2026: YearRates(
            year=2026,
            max_base=_d("5101.20"),
            min_base=MappingProxyType(
                {
                    # Groups 1–2: the 2026 minima were not found; the 2025 ones are kept (verify).
                    1: _d("1929.00"),
                    2: _d("1599.60"),
                    # Group 3's 2025 minimum is below the 2026 SMI floor, which wins.
                    3: _MIN_2026_GROUPS_4_TO_7,
                    **dict.fromkeys((4, 5, 6, 7), _MIN_2026_GROUPS_4_TO_7),
                    **dict.fromkeys((8, 9, 10, 11), _MIN_2026_DAILY_8_TO_11),
                }
            ),
            common=Split(_d("23.60"), _d("4.70")),
            unemployment=MappingProxyType(
                {
                    ContractType.INDEFINIDO: Split(_d("5.50"), _d("1.55")),
                    ContractType.TEMPORAL: Split(_d("6.70"), _d("1.60")),
                }
            ),
            vocational_training=Split(_d("0.60"), _d("0.10")),
            fogasa=Split(_d("0.20"), _d("0")),
            mei=Split(_d("0.75"), _d("0.15")),
            overtime_force_majeure=Split(_d("12.00"), _d("2.00")),
            overtime_other=Split(_d("23.60"), _d("4.70")),
            solidarity=(
                SolidarityBand(_d("0.10"), Split(_d("0.96"), _d("0.19"))),
                SolidarityBand(_d("0.50"), Split(_d("1.04"), _d("0.21"))),
                SolidarityBand(None, Split(_d("1.22"), _d("0.24"))),
            ),
        ),
    }
)


def rates_for(year: int) -> YearRates:
    """The table of ``year``; ValueError when the year has no table yet."""
    try:
        return RATES[year]
    except KeyError:
        known = ", ".join(str(y) for y in sorted(RATES))
        raise ValueError(f"no contribution rates for {year} (known years: {known})") from None
