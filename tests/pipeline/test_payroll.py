"""The calculator reproduces REFERENCE §1.7 to the cent; identifiers; checks on figures."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from pipeline.payroll import (
    Concept,
    PayrollInput,
    ProblemCode,
    calculate_payslip,
    check_payslip,
    figures_from_json,
    figures_to_json,
    is_ccc,
    is_naf,
    is_person_nif,
    parse_period,
)
from pipeline.payroll_rates import ContractType, rates_for


def reference(month: int = 3, *, prorated: bool = False) -> PayrollInput:
    return PayrollInput(
        year=2026,
        month=month,
        contribution_group=5,
        contract_type=ContractType.INDEFINIDO,
        base_salary=D("2000.00"),
        irpf_rate=D("12.00"),
        prorated_extras=prorated,
    )


def amounts(lines) -> dict[str, D]:
    return {line.concept.value: line.amount for line in lines}


def test_ordinary_month_matches_the_reference_to_the_cent():
    f = calculate_payslip(reference())
    assert f.bases.extra_pay_proration == D("333.33")
    assert f.bases.common == f.bases.professional == D("2333.33")
    assert f.bases.irpf == D("2000.00")
    assert f.total_accrued == D("2000.00")
    assert amounts(f.worker_contributions) == {
        "contingencias_comunes": D("109.67"),
        "mei": D("3.50"),
        "desempleo": D("36.17"),
        "formacion_profesional": D("2.33"),
    }
    assert f.total_contributions == D("151.67")
    assert f.irpf_amount == D("240.00")
    assert f.total_deductions == D("391.67")
    assert f.net == D("1608.33")
    assert amounts(f.employer_contributions) == {
        "contingencias_comunes": D("550.67"),
        "mei": D("17.50"),
        "at_ep": D("23.33"),
        "desempleo": D("128.33"),
        "formacion_profesional": D("14.00"),
        "fogasa": D("4.67"),
    }
    assert f.employer_total == D("738.50")
    assert f.employer_cost == D("2738.50")
    assert f.total_contributions + f.employer_total == D("890.17")


@pytest.mark.parametrize("month", [6, 12])
def test_extra_pay_month_matches_the_reference(month):
    f = calculate_payslip(reference(month))
    assert f.total_accrued == D("4000.00")
    assert f.bases.common == D("2333.33")
    assert f.total_contributions == D("151.67")
    assert f.irpf_amount == D("480.00")
    assert f.total_deductions == D("631.67")
    assert f.net == D("3368.33")
    assert f.employer_total == D("738.50")


def test_prorated_variant_matches_the_reference():
    f = calculate_payslip(reference(6, prorated=True))  # no extra paga even in June
    assert [a.concept for a in f.accruals] == ["Salario base", "Prorrata pagas extraordinarias"]
    assert f.total_accrued == D("2333.33")
    assert f.total_contributions == D("151.67")
    assert f.employer_total == D("738.50")
    assert f.irpf_amount == D("280.00")
    assert f.total_deductions == D("431.67")
    assert f.net == D("1901.66")


def test_solidarity_above_the_maximum_base_matches_the_reference_example():
    f = calculate_payslip(
        replace(reference(), base_salary=D("6000.00"), extra_pay_months=(), contribution_group=1)
    )
    assert f.bases.common == D("5101.20")  # clamped to the maximum
    worker, employer = amounts(f.worker_contributions), amounts(f.employer_contributions)
    assert (worker["solidaridad_1"], employer["solidaridad_1"]) == (D("0.97"), D("4.90"))
    assert (worker["solidaridad_2"], employer["solidaridad_2"]) == (D("0.82"), D("4.04"))
    assert "solidaridad_3" not in worker
    bands = {c.concept: c.base for c in f.worker_contributions if c.concept.startswith("solid")}
    assert bands == {Concept.SOLIDARIDAD_1: D("510.12"), Concept.SOLIDARIDAD_2: D("388.68")}


def test_low_salary_is_raised_to_the_group_minimum_and_temporary_contracts_pay_more():
    f = calculate_payslip(
        replace(reference(), base_salary=D("900.00"), contract_type=ContractType.TEMPORAL)
    )
    assert f.bases.common == rates_for(2026).min_base_for(5) == D("1424.50")
    unemployment = {c.concept: c.rate for c in f.worker_contributions}[Concept.DESEMPLEO]
    assert unemployment == D("1.60")
    employer = {c.concept: c.rate for c in f.employer_contributions}[Concept.DESEMPLEO]
    assert employer == D("6.70")


def test_overtime_adds_to_the_professional_base_and_pays_its_own_contribution():
    f = calculate_payslip(replace(reference(), overtime=D("100.00")))
    assert f.bases.common == D("2333.33")
    assert f.bases.professional == D("2433.33")
    worker = amounts(f.worker_contributions)
    assert worker["horas_extra"] == D("4.70")
    assert worker["desempleo"] == D("37.72")  # 1,55 % of 2.433,33
    assert check_payslip(f, contract_type=ContractType.INDEFINIDO, contribution_group=5) == []


def test_the_calculator_output_passes_its_own_checks_and_survives_json():
    for prorated in (False, True):
        f = calculate_payslip(reference(12, prorated=prorated))
        assert check_payslip(f, contract_type=ContractType.INDEFINIDO, contribution_group=5) == []
        assert figures_from_json(figures_to_json(f)) == f


def test_checks_catch_a_wrong_rate_a_wrong_amount_and_a_base_out_of_range():
    f = calculate_payslip(reference())
    lines = list(f.worker_contributions)
    lines[2] = replace(lines[2], rate=D("1.60"), amount=D("37.33"))  # temporal rate, indefinido
    lines[0] = replace(lines[0], amount=D("109.68"))
    bad = replace(f, worker_contributions=tuple(lines))
    codes = {
        p.code
        for p in check_payslip(bad, contract_type=ContractType.INDEFINIDO, contribution_group=5)
    }
    assert codes == {ProblemCode.RATE_MISMATCH, ProblemCode.ARITHMETIC}
    low = replace(f, bases=replace(f.bases, common=D("1000.00")))
    problems = check_payslip(low, contract_type=ContractType.INDEFINIDO, contribution_group=5)
    assert ProblemCode.BASE_OUT_OF_RANGE in {p.code for p in problems}


@pytest.mark.parametrize("nif", ["12345678Z", "X5253868R", "y1234567x", "54362315-K"])
def test_person_nifs(nif):
    assert is_person_nif(nif)


@pytest.mark.parametrize("nif", ["12345678A", "B12345674", "", "X525386"])
def test_bad_person_nifs(nif):
    assert not is_person_nif(nif)


def test_naf_and_ccc_control_digits():
    assert is_naf("28/12345678/40")  # the REFERENCE example
    assert not is_naf("28/12345678/41")
    assert not is_naf("2812345678")
    assert is_ccc("28 1234567 42")
    assert not is_ccc("28123456743")


def test_periods():
    assert parse_period("2026-11") == (2026, 11)
    for bad in ("2026-13", "2026-1", "nov"):
        with pytest.raises(ValueError, match="period"):
            parse_period(bad)


def test_a_year_without_rates_is_refused():
    with pytest.raises(ValueError, match="no contribution rates for 2031"):
        rates_for(2031)
