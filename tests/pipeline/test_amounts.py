"""Spanish amounts and dates: decimal comma, thousands dot, OCR slips, day first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pipeline.amounts import (
    find_amounts,
    find_date_matches,
    find_dates,
    format_amount,
    parse_amount,
)


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("1.234,56 €", "1234.56"),
        ("1234,56", "1234.56"),
        ("12.35", "12.35"),  # OCR read the comma as a point
        ("€ 7,50", "7.50"),
        ("3,50-", "-3.50"),  # refunds print a trailing minus
        ("-150,00 €", "-150.00"),
        ("12.345.678,90", "12345678.90"),
        ("22,19 e", "22.19"),  # € read as e
    ],
)
def test_amounts_in_spanish_notation(printed: str, value: str) -> None:
    assert parse_amount(printed) == Decimal(value)


@pytest.mark.parametrize(("printed", "value"), [("1O,5O", "10.50"), ("l2,35", "12.35")])
def test_ocr_letter_digit_confusions_are_repaired_and_flagged(printed: str, value: str) -> None:
    (found,) = find_amounts(printed)
    assert found.value == Decimal(value)
    assert found.repaired


def test_clean_amounts_are_not_flagged_and_words_are_not_amounts() -> None:
    found = find_amounts("IVA 10% BASE 12,73 CUOTA 1,27")
    assert [a.value for a in found] == [Decimal("12.73"), Decimal("1.27")]
    assert not any(a.repaired for a in found)
    assert format_amount(Decimal("3.5")) == "3.50"


def test_dates_are_day_first_in_every_spanish_spelling() -> None:
    text = "03/04/2026 · 05-06-26 · 07.08.2025 · 9 de septiembre de 2026 · 1O/11/2026"
    assert [d for d, _ in find_dates(text)] == [
        dt.date(2026, 4, 3),
        dt.date(2026, 6, 5),
        dt.date(2025, 8, 7),
        dt.date(2026, 9, 9),
        dt.date(2026, 11, 10),
    ]


def test_impossible_dates_are_dropped() -> None:
    assert find_dates("31/02/2026 and 12/31/2026") == []


@pytest.mark.parametrize(
    ("printed", "date"),
    [
        ("FECHA: 11 MAR 2025 HORA: 08:25", dt.date(2025, 3, 11)),
        ("20 DIC 2025 14:26:02 CAJA: 02", dt.date(2025, 12, 20)),
        ("Fecha 07-ABR-2026 15:41:13", dt.date(2026, 4, 7)),
        ("12/NOV/26 10:02", dt.date(2026, 11, 12)),
        ("2026-01-25 10:22:12 CAJA: 05", dt.date(2026, 1, 25)),  # year first, as some tills
        ("12 nov. 2026", dt.date(2026, 11, 12)),
    ],
)
def test_till_date_styles(printed: str, date: dt.date) -> None:
    (found,) = find_date_matches(printed)
    assert (found.date, found.repaired) == (date, False)


@pytest.mark.parametrize(
    ("printed", "date"),
    [
        ("21.08.2826 08:58 CAJA: 07", dt.date(2026, 8, 21)),  # slashed zero read as 8
        ("17-05-2625 18:29", dt.date(2025, 5, 17)),  # ... as 6
        ("FECHA: 18-97-25 HORA: 19:48", dt.date(2025, 7, 18)),  # ... as 9
        ("FECHA: 2825-89-19 HORA: 21:34:23", dt.date(2025, 9, 19)),
    ],
)
def test_impossible_dates_with_a_zero_lookalike_are_repaired_and_flagged(
    printed: str, date: dt.date
) -> None:
    (found,) = find_date_matches(printed)
    assert (found.date, found.repaired) == (date, True)


def test_only_impossible_dates_are_repaired() -> None:
    # 28/06/2026 is a date as printed: never "repaired" into 20/06 or 28/00.
    assert [(m.date, m.repaired) for m in find_date_matches("28/06/2026")] == [
        (dt.date(2026, 6, 28), False)
    ]
    # Without a zero lookalike there is nothing to repair.
    assert find_date_matches("31/02/2026 · 3 UDS 2025 · 10 de 2025") == []
