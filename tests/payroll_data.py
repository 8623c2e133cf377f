"""Realistic payroll data from the calculator: employees, figures, import files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline.payroll import PayrollInput, calculate_payslip, with_ccc_control, with_naf_control
from pipeline.payroll_import import (
    CompanyRecord,
    EmployeeRecord,
    PayslipRecord,
    export_payroll_csv,
    export_payroll_json,
)
from pipeline.payroll_rates import ContractType

DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
FIRST = ["Ana", "Luis", "Marta", "Jorge", "Lucía", "Pablo", "Elena", "Óscar", "Sara", "Iván"]
LAST = ["García", "López", "Martínez", "Sánchez", "Álvarez", "Romero", "Navarro", "Ruiz"]


def dni(number: int) -> str:
    return f"{number:08d}{DNI_LETTERS[number % 23]}"


def company_record(seed: int = 1, nif: str | None = None) -> CompanyRecord:
    return CompanyRecord(
        nif=nif,
        name=None,
        address=f"Calle Mayor {seed}, 28013 Madrid",
        ccc=with_ccc_control(f"28{1000000 + seed:07d}"),
    )


def employee(seed: int) -> EmployeeRecord:
    name = f"{LAST[seed % len(LAST)]} {LAST[(seed // 3) % len(LAST)]}, {FIRST[seed % len(FIRST)]}"
    return EmployeeRecord(
        nif=dni(10_000_000 + (seed * 7919) % 89_999_989),
        naf=with_naf_control(f"28{20_000_000 + seed:08d}"),
        full_name=f"{name} {seed}",
        professional_group="Oficial administrativo",
        category="Oficial 1ª",
        contribution_group=5,
        seniority=date(2019, 4, 1),
        contract_type=ContractType.TEMPORAL if seed % 5 == 0 else ContractType.INDEFINIDO,
    )


def payslip(seed: int, period: str = "2026-11", *, salary: str | None = None) -> PayslipRecord:
    year, month = (int(x) for x in period.split("-"))
    person = employee(seed)
    figures = calculate_payslip(
        PayrollInput(
            year=year,
            month=month,
            contribution_group=person.contribution_group,
            contract_type=person.contract_type,
            base_salary=Decimal(salary or f"{1600 + (seed * 37) % 2400}.00"),
            irpf_rate=Decimal(f"{8 + seed % 12}.00"),
            prorated_extras=seed % 2 == 0,
        )
    )
    return PayslipRecord(seed, person, figures)


def payroll_json(seeds: range | list[int], period: str = "2026-11", company_seed: int = 1) -> bytes:
    return export_payroll_json(company_record(company_seed), [payslip(s, period) for s in seeds])


def payroll_csv(seeds: range | list[int], period: str = "2026-11", company_seed: int = 1) -> bytes:
    return export_payroll_csv(company_record(company_seed), [payslip(s, period) for s in seeds])
