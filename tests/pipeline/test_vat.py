"""VAT rates by date (data) and the arithmetic checks of a breakdown."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from pipeline.vat import VatLine, check_vat, is_valid_rate, rates_on


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
