"""Payroll arithmetic: the standard-case calculator and the checks run on imported payslips.

In: a `PayrollInput` (salary, contribution group, contract type, IRPF %) and the year's
`YearRates`. Out: `PayslipFigures` — every line of the official payslip (Orden ESS/2098/2014):
devengos, worker contributions, IRPF, other deductions, contribution bases, employer
contributions, totals A, B and A − B. Amounts are `Decimal`, each rounded half-up to cents,
as payroll programs do (REFERENCE §1.7).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from stdnum.es import cif as stdnum_cif
from stdnum.es import dni as stdnum_dni
from stdnum.es import nie as stdnum_nie

from pipeline.payroll_rates import ContractType, Split, YearRates, rates_for

CENT: Final = Decimal("0.01")
ZERO: Final = Decimal("0.00")
# No payslip figure reaches a thousand million euros; a longer number is a slip or an attack
# (and past 28 digits Decimal cannot even round it to cents).
MAX_AMOUNT: Final = Decimal("1e9")
_PERIOD: Final = re.compile(r"(\d{4})-(\d{2})")


def cents(value: Decimal) -> Decimal:
    """Round half-up to cents (the payroll convention)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(base: Decimal, rate: Decimal) -> Decimal:
    """``rate`` percent of ``base``, rounded to cents."""
    return cents(base * rate / 100)


class AccrualKind(StrEnum):
    SALARIAL = "salarial"  # block I.1: salary, complements, overtime, extra pay
    NO_SALARIAL = "no_salarial"  # block I.2: allowances, SS benefits, indemnities


class Concept(StrEnum):
    """Contribution lines; the code is stable, the label is what the payslip prints."""

    CONTINGENCIAS_COMUNES = "contingencias_comunes"
    MEI = "mei"
    AT_EP = "at_ep"
    DESEMPLEO = "desempleo"
    FORMACION_PROFESIONAL = "formacion_profesional"
    FOGASA = "fogasa"
    HORAS_EXTRA_FUERZA_MAYOR = "horas_extra_fuerza_mayor"
    HORAS_EXTRA = "horas_extra"
    SOLIDARIDAD_1 = "solidaridad_1"
    SOLIDARIDAD_2 = "solidaridad_2"
    SOLIDARIDAD_3 = "solidaridad_3"

    @property
    def label(self) -> str:
        return CONCEPT_LABELS[self]


CONCEPT_LABELS: Final[Mapping[Concept, str]] = {
    Concept.CONTINGENCIAS_COMUNES: "Contingencias comunes",
    Concept.MEI: "MEI (equidad intergeneracional)",
    Concept.AT_EP: "AT y EP",
    Concept.DESEMPLEO: "Desempleo",
    Concept.FORMACION_PROFESIONAL: "Formación profesional",
    Concept.FOGASA: "Fondo de Garantía Salarial",
    Concept.HORAS_EXTRA_FUERZA_MAYOR: "Horas extraordinarias fuerza mayor",
    Concept.HORAS_EXTRA: "Horas extraordinarias",
    Concept.SOLIDARIDAD_1: "Cotización adicional de solidaridad tramo 1",
    Concept.SOLIDARIDAD_2: "Cotización adicional de solidaridad tramo 2",
    Concept.SOLIDARIDAD_3: "Cotización adicional de solidaridad tramo 3",
}
SOLIDARITY: Final = (Concept.SOLIDARIDAD_1, Concept.SOLIDARIDAD_2, Concept.SOLIDARIDAD_3)
# Lines charged on the common-contingencies base; the rest on the professional base.
ON_COMMON_BASE: Final = frozenset({Concept.CONTINGENCIAS_COMUNES, Concept.MEI})
ON_PROFESSIONAL_BASE: Final = frozenset(
    {Concept.AT_EP, Concept.DESEMPLEO, Concept.FORMACION_PROFESIONAL, Concept.FOGASA}
)
EMPLOYER_ONLY: Final = frozenset({Concept.AT_EP, Concept.FOGASA})


@dataclass(frozen=True, slots=True)
class Accrual:
    """A devengo line."""

    concept: str
    amount: Decimal
    kind: AccrualKind = AccrualKind.SALARIAL


@dataclass(frozen=True, slots=True)
class Contribution:
    """A contribution line: ``rate`` percent of ``base`` is ``amount``."""

    concept: Concept
    base: Decimal
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Deduction:
    """Another deduction (anticipos, especie, otras)."""

    concept: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ContributionBases:
    """The foot block's bases."""

    monthly_remuneration: Decimal  # importe remuneración mensual (no overtime, no extra pay)
    extra_pay_proration: Decimal  # importe prorrata pagas extraordinarias
    common: Decimal  # contingencias comunes, clamped to the group's min and the max
    professional: Decimal  # AT y EP, desempleo, FP, FOGASA (= common + overtime, clamped)
    overtime: Decimal
    irpf: Decimal  # base sujeta a retención del IRPF


@dataclass(frozen=True, slots=True)
class PayslipFigures:
    """Every number on one payslip; the totals are derived, never stored apart."""

    year: int
    month: int
    days: int
    accruals: tuple[Accrual, ...]
    worker_contributions: tuple[Contribution, ...]
    irpf_rate: Decimal
    irpf_amount: Decimal
    other_deductions: tuple[Deduction, ...]
    bases: ContributionBases
    employer_contributions: tuple[Contribution, ...]

    @property
    def total_accrued(self) -> Decimal:
        """A. Total devengado."""
        return sum((a.amount for a in self.accruals), ZERO)

    @property
    def total_contributions(self) -> Decimal:
        """Total aportaciones (worker)."""
        return sum((c.amount for c in self.worker_contributions), ZERO)

    @property
    def total_deductions(self) -> Decimal:
        """B. Total a deducir."""
        others = sum((d.amount for d in self.other_deductions), ZERO)
        return self.total_contributions + self.irpf_amount + others

    @property
    def net(self) -> Decimal:
        """Líquido total a percibir (A − B)."""
        return self.total_accrued - self.total_deductions

    @property
    def employer_total(self) -> Decimal:
        """Total aportación empresarial."""
        return sum((c.amount for c in self.employer_contributions), ZERO)

    @property
    def employer_cost(self) -> Decimal:
        """What the month costs the employer: gross plus its contributions."""
        return self.total_accrued + self.employer_total

    @property
    def period_start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def period_end(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


@dataclass(frozen=True, slots=True)
class PayrollInput:
    """The standard case: a monthly salary, its complements, extra pay, overtime, IRPF %."""

    year: int
    month: int
    contribution_group: int
    contract_type: ContractType
    base_salary: Decimal
    irpf_rate: Decimal
    complements: tuple[Accrual, ...] = ()  # salary complements (contribute, taxed)
    non_salary: tuple[Accrual, ...] = ()  # exempt allowances (neither contribute nor taxed)
    overtime: Decimal = ZERO
    overtime_force_majeure: Decimal = ZERO
    extra_pay_amount: Decimal | None = None  # one paga extra; default salary + complements
    extra_pay_months: tuple[int, ...] = (6, 12)
    prorated_extras: bool = False
    at_ep_rate: Decimal | None = None  # default: the year's office rate
    other_deductions: tuple[Deduction, ...] = ()
    days: int = 30


def calculate_payslip(payroll: PayrollInput, rates: YearRates | None = None) -> PayslipFigures:
    """Gross → prorated extra pay → clamped bases → contributions → IRPF → net."""
    rates = rates or rates_for(payroll.year)
    monthly = cents(payroll.base_salary + sum((c.amount for c in payroll.complements), ZERO))
    extra_pay = payroll.extra_pay_amount if payroll.extra_pay_amount is not None else monthly
    proration = cents(extra_pay * len(payroll.extra_pay_months) / 12)
    overtime = payroll.overtime + payroll.overtime_force_majeure

    accruals = [Accrual("Salario base", cents(payroll.base_salary)), *payroll.complements]
    if payroll.overtime:
        accruals.append(Accrual("Horas extraordinarias", cents(payroll.overtime)))
    if payroll.overtime_force_majeure:
        accruals.append(
            Accrual("Horas extraordinarias fuerza mayor", cents(payroll.overtime_force_majeure))
        )
    if payroll.prorated_extras:
        accruals.append(Accrual("Prorrata pagas extraordinarias", proration))
    elif payroll.month in payroll.extra_pay_months:
        accruals.append(Accrual("Gratificaciones extraordinarias", cents(extra_pay)))
    taxable = sum((a.amount for a in accruals), ZERO)
    accruals += payroll.non_salary

    minimum = rates.min_base_for(payroll.contribution_group, payroll.days)
    remuneration = monthly + proration
    common = min(max(remuneration, minimum), rates.max_base)
    professional = min(max(common + overtime, minimum), rates.max_base)
    bases = ContributionBases(monthly, proration, common, professional, cents(overtime), taxable)

    def both(concept: Concept, base: Decimal, split: Split) -> tuple[Contribution, Contribution]:
        return (
            Contribution(concept, base, split.worker, percent_of(base, split.worker)),
            Contribution(concept, base, split.employer, percent_of(base, split.employer)),
        )

    unemployment = rates.unemployment[payroll.contract_type]
    pairs = [
        both(Concept.CONTINGENCIAS_COMUNES, common, rates.common),
        both(Concept.MEI, common, rates.mei),
        both(Concept.DESEMPLEO, professional, unemployment),
        both(Concept.FORMACION_PROFESIONAL, professional, rates.vocational_training),
    ]
    if payroll.overtime:
        pairs.append(both(Concept.HORAS_EXTRA, cents(payroll.overtime), rates.overtime_other))
    if payroll.overtime_force_majeure:
        pairs.append(
            both(
                Concept.HORAS_EXTRA_FUERZA_MAYOR,
                cents(payroll.overtime_force_majeure),
                rates.overtime_force_majeure,
            )
        )
    pairs += [both(c, b, s) for c, b, s in solidarity_slices(remuneration + overtime, rates)]
    worker = tuple(w for w, _ in pairs)

    at_ep = payroll.at_ep_rate if payroll.at_ep_rate is not None else rates.default_at_ep
    by_concept = {e.concept: e for _, e in pairs}
    employer = (
        by_concept[Concept.CONTINGENCIAS_COMUNES],
        by_concept[Concept.MEI],
        Contribution(Concept.AT_EP, professional, at_ep, percent_of(professional, at_ep)),
        by_concept[Concept.DESEMPLEO],
        by_concept[Concept.FORMACION_PROFESIONAL],
        Contribution(
            Concept.FOGASA,
            professional,
            rates.fogasa.employer,
            percent_of(professional, rates.fogasa.employer),
        ),
        *(e for w, e in pairs[4:]),
    )
    return PayslipFigures(
        year=payroll.year,
        month=payroll.month,
        days=payroll.days,
        accruals=tuple(accruals),
        worker_contributions=worker,
        irpf_rate=payroll.irpf_rate,
        irpf_amount=percent_of(taxable, payroll.irpf_rate),
        other_deductions=payroll.other_deductions,
        bases=bases,
        employer_contributions=employer,
    )


def solidarity_slices(
    remuneration: Decimal, rates: YearRates
) -> list[tuple[Concept, Decimal, Split]]:
    """The solidarity bands crossed by the part of ``remuneration`` above the maximum base."""
    excess = remuneration - rates.max_base
    slices: list[tuple[Concept, Decimal, Split]] = []
    lower = ZERO
    for concept, band in zip(SOLIDARITY, rates.solidarity, strict=True):
        if excess <= lower:
            break
        upper = cents(rates.max_base * band.upto) if band.upto is not None else excess
        slices.append((concept, cents(min(excess, upper) - lower), band.rate))
        lower = upper
    return slices


# --- identifiers --------------------------------------------------------------------------


def compact_id(value: str) -> str:
    """Upper case without spaces, dots, dashes or slashes."""
    return re.sub(r"[\s./-]", "", value).upper()


def is_person_nif(value: str) -> bool:
    """A worker's NIF: a DNI (8 digits + letter) or an NIE (X/Y/Z + 7 digits + letter)."""
    number = compact_id(value)
    return stdnum_dni.is_valid(number) or stdnum_nie.is_valid(number)


def is_company_nif(value: str) -> bool:
    """An employer's NIF: a CIF, or a person's NIF (self-employed employers)."""
    number = compact_id(value)
    return stdnum_cif.is_valid(number) or is_person_nif(number)


def is_naf(value: str) -> bool:
    """A social-security number (NAF): 2 province + 8 digits + 2 control (mod 97)."""
    number = compact_id(value)
    if not re.fullmatch(r"\d{12}", number):
        return False
    province, serial, control = int(number[:2]), int(number[2:10]), int(number[10:])
    # Serials below 10^7 are written without their leading zero in the checked number.
    checked = serial + province * 10_000_000 if serial < 10_000_000 else int(number[:10])
    return checked % 97 == control


def is_ccc(value: str) -> bool:
    """A contribution account code (CCC): 2 province + 7 digits + 2 control (mod 97)."""
    number = compact_id(value)
    return bool(re.fullmatch(r"\d{11}", number)) and int(number[:9]) % 97 == int(number[9:])


def with_naf_control(province_and_serial: str) -> str:
    """The 12-digit NAF for a 10-digit province + serial (demo and benchmark data)."""
    province, serial = int(province_and_serial[:2]), int(province_and_serial[2:])
    checked = serial + province * 10_000_000 if serial < 10_000_000 else int(province_and_serial)
    return f"{province_and_serial}{checked % 97:02d}"


def with_ccc_control(province_and_serial: str) -> str:
    """The 11-digit CCC for a 9-digit province + serial."""
    return f"{province_and_serial}{int(province_and_serial) % 97:02d}"


def parse_period(value: str) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month); ValueError otherwise."""
    match = _PERIOD.fullmatch(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"period must be YYYY-MM, got {value!r}")
    return int(match.group(1)), int(match.group(2))


# --- checks on imported payslips ----------------------------------------------------------


class ProblemCode(StrEnum):
    INVALID_NIF = "invalid_nif"
    INVALID_NAF = "invalid_naf"
    INVALID_CCC = "invalid_ccc"
    INVALID_VALUE = "invalid_value"
    MISSING = "missing"
    ARITHMETIC = "arithmetic"
    RATE_MISMATCH = "rate_mismatch"
    BASE_OUT_OF_RANGE = "base_out_of_range"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an imported payslip; ``message`` is for the advisor (Spanish)."""

    code: ProblemCode
    field: str
    message: str
    section: str = ""  # aportaciones / empresa for a contribution line
    index: int | None = None  # its position there


@dataclass(frozen=True, slots=True)
class StatedTotals:
    """Totals as the payroll software printed them; checked against the lines."""

    total_accrued: Decimal | None = None
    total_deductions: Decimal | None = None
    net: Decimal | None = None


@dataclass(frozen=True, slots=True)
class _Check:
    problems: list[Problem] = field(default_factory=list)

    def add(
        self,
        code: ProblemCode,
        where: str,
        message: str,
        section: str = "",
        index: int | None = None,
    ) -> None:
        self.problems.append(Problem(code, where, message, section, index))


def check_payslip(
    figures: PayslipFigures,
    *,
    contract_type: ContractType,
    contribution_group: int,
    stated: StatedTotals | None = None,
    rates: YearRates | None = None,
) -> list[Problem]:
    """Everything wrong with imported ``figures``: A − B = net, bases, the year's rates."""
    check = _Check()
    try:
        rates = rates or rates_for(figures.year)
    except ValueError as error:
        check.add(ProblemCode.INVALID_VALUE, "period", str(error))
        return check.problems
    _check_totals(check, figures, stated or StatedTotals())
    _check_bases(check, figures, contribution_group, rates)
    expected_worker = _expected_rates(rates, contract_type, worker=True)
    expected_employer = _expected_rates(rates, contract_type, worker=False)
    for side, lines, expected in (
        ("aportaciones", figures.worker_contributions, expected_worker),
        ("empresa", figures.employer_contributions, expected_employer),
    ):
        for index, line in enumerate(lines):
            _check_line(check, side, index, line, figures, expected)
        if side == "aportaciones" and any(c.concept in EMPLOYER_ONLY for c in lines):
            check.add(ProblemCode.INVALID_VALUE, side, "AT y EP y FOGASA solo los paga la empresa")
    if figures.irpf_amount != percent_of(figures.bases.irpf, figures.irpf_rate):
        check.add(
            ProblemCode.ARITHMETIC,
            "irpf",
            f"IRPF {figures.irpf_rate} % de {figures.bases.irpf} son "
            f"{percent_of(figures.bases.irpf, figures.irpf_rate)}, no {figures.irpf_amount}",
        )
    if not ZERO <= figures.irpf_rate < 100:
        check.add(ProblemCode.INVALID_VALUE, "irpf", "el tipo de IRPF debe estar entre 0 y 100")
    return check.problems


def _check_totals(check: _Check, figures: PayslipFigures, stated: StatedTotals) -> None:
    for name, label, value, computed in (
        ("total_devengado", "A. Total devengado", stated.total_accrued, figures.total_accrued),
        ("total_deducir", "B. Total a deducir", stated.total_deductions, figures.total_deductions),
        ("liquido", "Líquido (A − B)", stated.net, figures.net),
    ):
        if value is not None and value != computed:
            check.add(
                ProblemCode.ARITHMETIC, name, f"{label} es {value} pero las líneas suman {computed}"
            )


def _check_bases(check: _Check, figures: PayslipFigures, group: int, rates: YearRates) -> None:
    bases = figures.bases
    minimum = rates.min_base_for(group, figures.days)
    if not minimum <= bases.common <= rates.max_base:
        check.add(
            ProblemCode.BASE_OUT_OF_RANGE,
            "base_contingencias_comunes",
            f"la base {bases.common} está fuera de [{minimum}, {rates.max_base}] "
            f"(grupo {group}, {figures.year})",
        )
    if not bases.common <= bases.professional <= rates.max_base:
        check.add(
            ProblemCode.BASE_OUT_OF_RANGE,
            "base_contingencias_profesionales",
            f"la base {bases.professional} está fuera de [{bases.common}, {rates.max_base}]",
        )
    uncapped = bases.monthly_remuneration + bases.extra_pay_proration
    if bases.common != min(max(uncapped, minimum), rates.max_base):
        check.add(
            ProblemCode.ARITHMETIC,
            "base_contingencias_comunes",
            f"remuneración {bases.monthly_remuneration} + prorrata {bases.extra_pay_proration} "
            f"no da la base {bases.common}",
        )


def _expected_rates(
    rates: YearRates, contract_type: ContractType, *, worker: bool
) -> dict[Concept, frozenset[Decimal]]:
    def side(split: Split) -> frozenset[Decimal]:
        return frozenset({split.worker if worker else split.employer})

    expected = {
        Concept.CONTINGENCIAS_COMUNES: side(rates.common),
        Concept.MEI: side(rates.mei),
        Concept.DESEMPLEO: side(rates.unemployment[contract_type]),
        Concept.FORMACION_PROFESIONAL: side(rates.vocational_training),
        Concept.HORAS_EXTRA: side(rates.overtime_other),
        Concept.HORAS_EXTRA_FUERZA_MAYOR: side(rates.overtime_force_majeure),
    }
    for concept, band in zip(SOLIDARITY, rates.solidarity, strict=True):
        expected[concept] = side(band.rate)
    if not worker:
        expected[Concept.FOGASA] = side(rates.fogasa)
    return expected


def _check_line(
    check: _Check,
    side: str,
    index: int,
    line: Contribution,
    figures: PayslipFigures,
    expected: dict[Concept, frozenset[Decimal]],
) -> None:
    where = f"{side}[{index}] {line.concept}"

    def add(code: ProblemCode, message: str) -> None:
        check.add(code, where, message, side, index)

    if line.concept == Concept.AT_EP:
        # The AT/EP rate depends on the activity (tarifa de primas): only its range is checked.
        if not ZERO < line.rate <= Decimal("10"):
            add(ProblemCode.RATE_MISMATCH, f"tipo AT y EP {line.rate} % imposible")
    elif line.concept in expected and line.rate not in expected[line.concept]:
        wanted = ", ".join(f"{r} %" for r in sorted(expected[line.concept]))
        add(
            ProblemCode.RATE_MISMATCH,
            f"tipo {line.rate} % no es el de {figures.year} ({wanted})",
        )
    bases = figures.bases
    wanted_base = (
        bases.common
        if line.concept in ON_COMMON_BASE
        else bases.professional
        if line.concept in ON_PROFESSIONAL_BASE
        else None
    )
    if wanted_base is not None and line.base != wanted_base:
        add(ProblemCode.ARITHMETIC, f"la base {line.base} debería ser {wanted_base}")
    if line.amount != percent_of(line.base, line.rate):
        add(
            ProblemCode.ARITHMETIC,
            f"{line.rate} % de {line.base} son {percent_of(line.base, line.rate)}, "
            f"no {line.amount}",
        )


# --- JSON form (database, hashing, the JSON import) ---------------------------------------


def figures_to_json(figures: PayslipFigures) -> dict[str, Any]:
    """Plain JSON: amounts as strings with two decimals, so nothing is lost in floats."""

    def contribution(c: Contribution) -> dict[str, str]:
        return {
            "concept": c.concept.value,
            "base": str(c.base),
            "rate": str(c.rate),
            "amount": str(c.amount),
        }

    bases = figures.bases
    return {
        "year": figures.year,
        "month": figures.month,
        "days": figures.days,
        "accruals": [
            {"concept": a.concept, "amount": str(a.amount), "kind": a.kind.value}
            for a in figures.accruals
        ],
        "worker_contributions": [contribution(c) for c in figures.worker_contributions],
        "irpf": {
            "base": str(bases.irpf),
            "rate": str(figures.irpf_rate),
            "amount": str(figures.irpf_amount),
        },
        "other_deductions": [
            {"concept": d.concept, "amount": str(d.amount)} for d in figures.other_deductions
        ],
        "bases": {
            "monthly_remuneration": str(bases.monthly_remuneration),
            "extra_pay_proration": str(bases.extra_pay_proration),
            "common": str(bases.common),
            "professional": str(bases.professional),
            "overtime": str(bases.overtime),
        },
        "employer_contributions": [contribution(c) for c in figures.employer_contributions],
    }


class FiguresError(ValueError):
    """A JSON payslip that cannot be read; ``field`` says where."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def amount(value: Any, where: str) -> Decimal:
    """A money or rate value from JSON/CSV text: ``1234.56`` or Spanish ``1.234,56``."""
    if isinstance(value, bool) or value is None or value == "":
        raise FiguresError(where, "falta el importe")
    text = str(value).strip().replace("€", "").replace(" ", "")
    if "," in text:  # Spanish format: dots group thousands, the comma is the decimal mark
        text = text.replace(".", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise FiguresError(where, f"importe no válido: {value!r}") from None
    if not number.is_finite() or number.copy_abs() >= MAX_AMOUNT:  # copy_abs never rounds
        raise FiguresError(where, f"importe fuera de rango: {value!r}")
    if number != number.quantize(CENT):
        raise FiguresError(where, f"importe con más de dos decimales: {value!r}")
    return number.quantize(CENT)


def figures_from_json(data: Mapping[str, Any]) -> PayslipFigures:
    """The inverse of `figures_to_json`; FiguresError names the first unreadable field."""

    def items(name: str) -> Iterable[tuple[int, Mapping[str, Any]]]:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise FiguresError(name, "debe ser una lista de objetos")
        return enumerate(value)

    def contribution(where: str, item: Mapping[str, Any]) -> Contribution:
        try:
            concept = Concept(str(item.get("concept")))
        except ValueError:
            known = ", ".join(c.value for c in Concept)
            raise FiguresError(f"{where}.concept", f"concepto desconocido (use {known})") from None
        return Contribution(
            concept,
            amount(item.get("base"), f"{where}.base"),
            amount(item.get("rate"), f"{where}.rate"),
            amount(item.get("amount"), f"{where}.amount"),
        )

    def text(where: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise FiguresError(where, "falta el concepto")
        return value.strip()[:120]

    accruals = []
    for i, item in items("accruals"):
        try:
            kind = AccrualKind(str(item.get("kind", AccrualKind.SALARIAL)))
        except ValueError:
            raise FiguresError(f"accruals[{i}].kind", "use salarial o no_salarial") from None
        accruals.append(
            Accrual(
                text(f"accruals[{i}].concept", item.get("concept")),
                amount(item.get("amount"), f"accruals[{i}].amount"),
                kind,
            )
        )
    bases = data.get("bases")
    irpf = data.get("irpf")
    if not isinstance(bases, Mapping):
        raise FiguresError("bases", "faltan las bases de cotización")
    if not isinstance(irpf, Mapping):
        raise FiguresError("irpf", "falta el IRPF (base, rate, amount)")
    year, month, days = data.get("year"), data.get("month"), data.get("days", 30)
    if not isinstance(year, int) or not isinstance(month, int) or not 1 <= month <= 12:
        raise FiguresError("period", "periodo no válido")
    if not isinstance(days, int) or not 1 <= days <= 31:
        raise FiguresError("days", "los días deben estar entre 1 y 31")
    return PayslipFigures(
        year=year,
        month=month,
        days=days,
        accruals=tuple(accruals),
        worker_contributions=tuple(
            contribution(f"worker_contributions[{i}]", c) for i, c in items("worker_contributions")
        ),
        irpf_rate=amount(irpf.get("rate"), "irpf.rate"),
        irpf_amount=amount(irpf.get("amount"), "irpf.amount"),
        other_deductions=tuple(
            Deduction(
                text(f"other_deductions[{i}].concept", d.get("concept")),
                amount(d.get("amount"), f"other_deductions[{i}].amount"),
            )
            for i, d in items("other_deductions")
        ),
        bases=ContributionBases(
            monthly_remuneration=amount(
                bases.get("monthly_remuneration"), "bases.monthly_remuneration"
            ),
            extra_pay_proration=amount(
                bases.get("extra_pay_proration"), "bases.extra_pay_proration"
            ),
            common=amount(bases.get("common"), "bases.common"),
            professional=amount(bases.get("professional"), "bases.professional"),
            overtime=amount(bases.get("overtime", "0"), "bases.overtime"),
            irpf=amount(irpf.get("base"), "irpf.base"),
        ),
        employer_contributions=tuple(
            contribution(f"employer_contributions[{i}]", c)
            for i, c in items("employer_contributions")
        ),
    )
