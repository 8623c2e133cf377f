"""VAT rates by date (data) and the arithmetic checks of a breakdown."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from pipeline.vat import (
    VatLine,
    VatRow,
    check_vat,
    is_valid_rate,
    one_slip_apart,
    rates_on,
    settle_vat_rows,
)


def test_rates_follow_the_date() -> None:
    assert rates_on(dt.date(2026, 3, 1)) == {D(21), D(10), D(4), D(0)}
    assert is_valid_rate(D(5), dt.date(2024, 6, 1))  # temporary food cut
    assert not is_valid_rate(D(5), dt.date(2025, 6, 1))  # ended 31-12-2024
    assert is_valid_rate(D(18), dt.date(2011, 1, 1))
    assert not is_valid_rate(D(16), dt.date(2013, 4, 30))


def test_a_consistent_breakdown_has_no_problems_irpf_and_surcharge_included() -> None:
    # Domain reference vectors: 1.000 + 21 % − 15 % IRPF = 1.060; 100 + 21 + 5,2 RE = 126,20.
    irpf = check_vat(
        [VatLine(D(21), D("1000.00"), D("210.00"))],
        D("1060.00"),
        date=dt.date(2026, 1, 1),
        withholding=D("150.00"),
    )
    assert irpf == []
    assert (
        check_vat(
            [VatLine(D(21), D("100.00"), D("21.00"), D("5.2"), D("5.20"))],
            D("126.20"),
            date=dt.date(2026, 1, 1),
        )
        == []
    )


def test_problems_are_explained() -> None:
    lines = [VatLine(D(21), D("100.00"), D("12.00")), VatLine(D(5), D("10.00"), D("0.50"))]
    problems = check_vat(lines, D("999.00"), date=dt.date(2026, 2, 1))
    assert any("should be 21.00" in p for p in problems)
    assert any("5% was not in force" in p for p in problems)
    assert any("add up to" in p for p in problems)


def rows(lines: list[VatLine]) -> list[tuple[str, str, str]]:
    return [(str(v.rate), str(v.base), str(v.amount)) for v in lines]


def test_one_slip_apart_means_one_lookalike_digit() -> None:
    assert one_slip_apart(D("6.53"), D("0.53"))  # slashed zero read as 6
    assert one_slip_apart(D("48.89"), D("40.89"))
    assert not one_slip_apart(D("48.89"), D("40.99"))  # two digits
    assert not one_slip_apart(D("25.00"), D("21.00"))  # 5 and 1 do not look alike
    assert not one_slip_apart(D("1.00"), D("10.00"))


def test_a_row_is_settled_by_its_own_arithmetic() -> None:
    # Receipt rows as OCR read them: "B 10,0% 5,34 653", "A 4,00% 2165 $0", "10, 86% 51,33 5,13".
    assert rows(settle_vat_rows([VatRow(D(10), D("5.34"), D("6.53"))], None)[0]) == [
        ("10", "5.34", "0.53")
    ]
    assert rows(settle_vat_rows([VatRow(D(4), D("21.65"), None)], None)[0]) == [
        ("4", "21.65", "0.87")
    ]
    assert rows(settle_vat_rows([VatRow(D("10.86"), D("51.33"), D("5.13"))], None)[0]) == [
        ("10", "51.33", "5.13")
    ]
    # "18%" for "10%": the rate is the misread number.
    assert rows(settle_vat_rows([VatRow(D(18), D("6.66"), D("0.67"))], None)[0]) == [
        ("10", "6.66", "0.67")
    ]
    # The total column and the amount agree; the base "22,39" was "22,35".
    lines, repaired = settle_vat_rows([VatRow(D(10), D("22.39"), D("2.23"), D("24.58"))], None)
    assert (rows(lines), repaired) == ([("10", "22.35", "2.23")], True)


def test_the_total_decides_between_readings() -> None:
    # 18,55/1,06 at 10 % is 10,55/1,06 or 18,55/1,86; 16,03/0,48 at 4 % is two slips off.
    read = [
        VatRow(D(10), D("18.55"), D("1.06")),
        VatRow(D(21), D("4.62"), D("0.97")),
        VatRow(D(4), D("16.03"), D("0.48")),
    ]
    lines, repaired = settle_vat_rows(read, D("27.63"))
    assert rows(lines) == [("10", "10.55", "1.06"), ("21", "4.62", "0.97"), ("4", "10.03", "0.40")]
    assert repaired
    # Without a total nothing is guessed: ambiguous and broken rows stay as read.
    assert rows(settle_vat_rows(read, None)[0]) == [
        ("10", "18.55", "1.06"),
        ("21", "4.62", "0.97"),
        ("4", "16.03", "0.48"),
    ]


def test_a_row_that_adds_up_as_read_is_fixed_only_when_the_total_says_so() -> None:
    # 2,08 × 4 % rounds to 0,08 like 2,00 does; only the sum shows which was printed.
    read = [VatRow(D(10), D("6.66"), D("0.67")), VatRow(D(4), D("2.08"), D("0.08"))]
    assert rows(settle_vat_rows(read, D("9.41"))[0]) == [
        ("10", "6.66", "0.67"),
        ("4", "2.00", "0.08"),
    ]
    assert rows(settle_vat_rows(read, D("9.49"))[0]) == [
        ("10", "6.66", "0.67"),
        ("4", "2.08", "0.08"),
    ]


def test_numbers_that_are_not_slips_are_left_for_the_checks() -> None:
    lines, repaired = settle_vat_rows([VatRow(D(21), D("100.00"), D("25.00"))], None)
    assert (rows(lines), repaired) == ([("21", "100.00", "25.00")], False)
    # No rate printed and none that fits: not a VAT line.
    assert settle_vat_rows([VatRow(D(-1), D("13.95"), D("1.48"))], None) == ([], False)
    assert rows(settle_vat_rows([VatRow(D(-1), D("13.95"), D("1.48"))], D("15.35"))[0]) == [
        ("10", "13.95", "1.40")
    ]
