"""Spanish amounts and dates: decimal comma, thousands dot, OCR slips, day first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pipeline.amounts import find_amounts, find_dates, format_amount, parse_amount


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
