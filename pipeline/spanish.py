"""Spanish words the pipeline reads and writes: one list of month names for every module."""

from __future__ import annotations

from datetime import date
from typing import Final

MONTHS: Final[tuple[str, ...]] = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip

# Month name → number, with "setiembre", the spelling the RAE also accepts.
MONTH_NUMBERS: Final[dict[str, int]] = {
    name: number for number, name in enumerate(MONTHS, start=1)
} | {"setiembre": 9}


def long_date(day: date) -> str:
    """``date(2026, 3, 5)`` → ``"5 de marzo de 2026"``."""
    return f"{day.day} de {MONTHS[day.month - 1]} de {day.year}"
