"""Reading payroll exports (CSV or JSON) into checked payslip records.

In: the bytes of a file in the documented format (README "Payslips"). Out: a `PayrollImport`
with every payslip and every problem, each tied to a line (CSV line number, or the payslip's
position in the JSON list). A caller stores nothing unless ``problems`` is empty.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from pipeline.payroll import (
    Accrual,
    AccrualKind,
    FiguresError,
    PayslipFigures,
    Problem,
    ProblemCode,
    StatedTotals,
    amount,
    check_payslip,
    compact_id,
    figures_from_json,
    figures_to_json,
    is_ccc,
    is_company_nif,
    is_naf,
    is_person_nif,
    parse_period,
)
from pipeline.payroll_rates import ContractType
from pipeline.storable import storable

MAX_PAYSLIPS: Final = 20_000


class ImportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


class Section(StrEnum):
    """The ``section`` column of the CSV: which block of the payslip a row fills."""

    SALARIAL = "salarial"
    NO_SALARIAL = "no_salarial"
    APORTACION = "aportacion"  # worker contribution: concept code, base, rate, amount
    IRPF = "irpf"  # base, rate, amount
    DEDUCCION = "deduccion"  # other deductions: concept, amount
    BASE = "base"  # concept in BASE_CONCEPTS, amount = the base
    EMPRESA = "empresa"  # employer contribution: concept code, base, rate, amount
    TOTAL = "total"  # concept in TOTAL_CONCEPTS, amount


BASE_CONCEPTS: Final = {
    "remuneracion_mensual": "monthly_remuneration",
    "prorrata_pagas": "extra_pay_proration",
    "contingencias_comunes": "common",
    "contingencias_profesionales": "professional",
    "horas_extra": "overtime",
}
TOTAL_CONCEPTS: Final = {
    "devengado": "total_accrued",
    "deducir": "total_deductions",
    "liquido": "net",
}
EMPLOYEE_COLUMNS: Final = (
    "period",
    "nif",
    "naf",
    "name",
    "professional_group",
    "category",
    "contribution_group",
    "seniority",
    "contract_type",
    "days",
)
CSV_COLUMNS: Final = (*EMPLOYEE_COLUMNS, "section", "concept", "base", "rate", "amount")
OPTIONAL_CSV_COLUMNS: Final = ("professional_group", "category", "seniority", "days")
COMPANY_CSV_COLUMNS: Final = ("company_ccc", "company_address")


@dataclass(frozen=True, slots=True)
class EmployeeRecord:
    nif: str
    naf: str
    full_name: str
    professional_group: str
    category: str
    contribution_group: int
    seniority: date | None
    contract_type: ContractType


@dataclass(frozen=True, slots=True)
class CompanyRecord:
    nif: str | None = None
    name: str | None = None
    address: str | None = None
    ccc: str | None = None


@dataclass(frozen=True, slots=True)
class PayslipRecord:
    line: int
    employee: EmployeeRecord
    figures: PayslipFigures

    @property
    def period(self) -> str:
        return f"{self.figures.year:04d}-{self.figures.month:02d}"


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One problem of one line; ``message`` is a Spanish sentence for the advisor."""

    line: int
    field: str
    code: ProblemCode
    message: str


@dataclass(frozen=True, slots=True)
class PayrollImport:
    company: CompanyRecord
    payslips: tuple[PayslipRecord, ...]
    problems: tuple[ImportProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.payslips)


class _LineError(Exception):
    def __init__(
        self, field_name: str, message: str, code: ProblemCode, line: int | None = None
    ) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message
        self.code = code
        self.line = line


def parse_payroll(data: bytes, fmt: ImportFormat | str) -> PayrollImport:
    """Parse and check a payroll export in ``fmt`` (csv or json)."""
    return (
        parse_payroll_csv(data)
        if ImportFormat(fmt) == ImportFormat.CSV
        else parse_payroll_json(data)
    )


def guess_format(file_name: str | None, content_type: str | None) -> ImportFormat:
    """JSON when the name or type says so, CSV otherwise."""
    name, kind = (file_name or "").lower(), (content_type or "").lower()
    return ImportFormat.JSON if name.endswith(".json") or "json" in kind else ImportFormat.CSV


# --- JSON -----------------------------------------------------------------------------------


def parse_payroll_json(data: bytes) -> PayrollImport:
    """``{"company": {...}, "period": "YYYY-MM", "payslips": [{employee, lines…}]}``."""
    try:
        document = _storable(json.loads(data.decode("utf-8-sig")))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return _failed(0, "file", f"no es JSON válido: {error}")
    if not isinstance(document, Mapping) or not isinstance(document.get("payslips"), list):
        return _failed(0, "payslips", 'se espera un objeto con una lista "payslips"')
    company_data = document.get("company") or {}
    if not isinstance(company_data, Mapping):
        return _failed(0, "company", "company debe ser un objeto")
    problems: list[ImportProblem] = []
    company = _company(
        {k: str(v) for k, v in company_data.items() if isinstance(v, str | int)}, 0, problems
    )
    payslips: list[PayslipRecord] = []
    items = document["payslips"]
    if len(items) > MAX_PAYSLIPS:
        return _failed(0, "payslips", f"como mucho {MAX_PAYSLIPS} nóminas por fichero")
    for position, item in enumerate(items, start=1):
        try:
            if not isinstance(item, Mapping):
                raise _LineError("payslip", "cada nómina debe ser un objeto", ProblemCode.MISSING)
            period = str(item.get("period") or document.get("period") or "")
            year, month = _period(period)
            employee_data = item.get("employee")
            if not isinstance(employee_data, Mapping):
                raise _LineError("employee", "faltan los datos del trabajador", ProblemCode.MISSING)
            employee = _employee({k: _text(v) for k, v in employee_data.items()})
            figures = figures_from_json({**item, "year": year, "month": month})
            totals = item.get("totals") or {}
            if not isinstance(totals, Mapping):
                raise _LineError("totals", "totals debe ser un objeto", ProblemCode.INVALID_VALUE)
            stated = StatedTotals(
                **{
                    name: amount(totals[name], f"totals.{name}")
                    for name in ("total_accrued", "total_deductions", "net")
                    if totals.get(name) not in (None, "")
                }
            )
        except _LineError as error:
            problems.append(ImportProblem(position, error.field, error.code, error.message))
            continue
        except FiguresError as error:
            problems.append(
                ImportProblem(position, error.field, ProblemCode.INVALID_VALUE, error.message)
            )
            continue
        record = PayslipRecord(position, employee, figures)
        problems += [
            ImportProblem(position, p.field, p.code, p.message) for p in _check(record, stated)
        ]
        payslips.append(record)
    problems += _duplicates(payslips)
    return PayrollImport(company, tuple(payslips), tuple(problems))


# --- CSV ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    """The CSV rows of one payslip (same period and NIF), gathered in file order."""

    first_line: int
    employee_row: dict[str, str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def _storable(value: Any) -> Any:
    """``value`` with every string made storable: JSON's ``\\ud800`` and ``\\u0000`` escapes
    decode to a lone surrogate or a NUL, which no database column takes."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): _storable(item) for key, item in value.items()}
    return value


def parse_payroll_csv(data: bytes) -> PayrollImport:
    """Long format: one row per payslip line, employee columns repeated (README "Payslips")."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _failed(0, "file", "el CSV debe estar en UTF-8")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    try:
        columns = [c.strip().lower() for c in reader.fieldnames or []]
        reader.fieldnames = columns  # rows keyed by the names as compared below
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as error:  # a stray quote or carriage return the dialect cannot place
        return _failed(reader.reader.line_num, "file", f"CSV mal formado: {error}")
    missing = [c for c in CSV_COLUMNS if c not in columns and c not in OPTIONAL_CSV_COLUMNS]
    if missing:
        return _failed(1, "header", f"faltan columnas: {', '.join(missing)}")
    problems: list[ImportProblem] = []
    groups: dict[tuple[str, str], _Group] = {}
    company_values: dict[str, str] = {}
    company_line = 0
    for line, row in rows:
        values = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        if not any(values.values()):
            continue
        for column in COMPANY_CSV_COLUMNS:
            if values.get(column):
                if company_values.setdefault(column, values[column]) != values[column]:
                    problems.append(
                        ImportProblem(
                            line,
                            column,
                            ProblemCode.INVALID_VALUE,
                            "la empresa debe ser la misma en todas las líneas",
                        )
                    )
                company_line = company_line or line
        key = (values.get("period", ""), compact_id(values.get("nif", "")))
        group = groups.setdefault(key, _Group(line, values))
        for column in EMPLOYEE_COLUMNS:
            if values.get(column, "") != group.employee_row.get(column, ""):
                problems.append(
                    ImportProblem(
                        line,
                        column,
                        ProblemCode.INVALID_VALUE,
                        f"{column} distinto del de la línea {group.first_line}",
                    )
                )
        group.rows.append((line, values))
        if len(groups) > MAX_PAYSLIPS:
            return _failed(line, "file", f"como mucho {MAX_PAYSLIPS} nóminas por fichero")
    company = _company(
        {
            "ccc": company_values.get("company_ccc", ""),
            "address": company_values.get("company_address", ""),
        },
        company_line,
        problems,
    )
    payslips: list[PayslipRecord] = []
    for group in groups.values():
        try:
            record, stated, lines = _csv_payslip(group)
        except _LineError as error:
            line = error.line or group.first_line
            problems.append(ImportProblem(line, error.field, error.code, error.message))
            continue
        for problem in _check(record, stated):
            problems.append(
                ImportProblem(
                    _line_of(problem, lines, group.first_line),
                    problem.field,
                    problem.code,
                    problem.message,
                )
            )
        payslips.append(record)
    if not groups and not problems:
        problems.append(
            ImportProblem(1, "file", ProblemCode.MISSING, "el fichero no tiene nóminas")
        )
    return PayrollImport(company, tuple(payslips), tuple(problems))


def _csv_payslip(group: _Group) -> tuple[PayslipRecord, StatedTotals, dict[str, int]]:
    """One payslip from its rows; also where each checked field came from (for line numbers)."""
    try:
        employee = _employee(group.employee_row)
        year, month = _period(group.employee_row.get("period", ""))
        days = int(group.employee_row.get("days") or 30)
    except ValueError:
        raise _LineError("days", "días no válidos", ProblemCode.INVALID_VALUE) from None
    accruals: list[Accrual] = []
    worker: list[dict[str, str]] = []
    employer: list[dict[str, str]] = []
    deductions: list[dict[str, str]] = []
    bases: dict[str, str] = {}
    totals: dict[str, Any] = {}
    irpf: dict[str, str] = {}
    lines: dict[str, int] = {}
    for line, row in group.rows:
        try:
            section = Section(row.get("section", "").lower())
        except ValueError:
            raise _LineError(
                "section",
                f"sección desconocida {row.get('section')!r}",
                ProblemCode.INVALID_VALUE,
                line,
            ) from None
        concept = row.get("concept", "")
        try:
            if section in (Section.SALARIAL, Section.NO_SALARIAL):
                if not concept:
                    raise FiguresError("concept", "falta el concepto")
                kind = AccrualKind(section.value)
                accruals.append(Accrual(concept[:120], amount(row.get("amount"), "amount"), kind))
            elif section in (Section.APORTACION, Section.EMPRESA):
                target = worker if section == Section.APORTACION else employer
                lines[f"{section.value}[{len(target)}]"] = line
                target.append(row)
            elif section == Section.DEDUCCION:
                deductions.append({"concept": concept, "amount": row.get("amount", "")})
            elif section == Section.IRPF:
                irpf = row
                lines["irpf"] = line
            elif section == Section.BASE:
                if concept not in BASE_CONCEPTS:
                    raise FiguresError(
                        "concept", f"base desconocida; use {', '.join(BASE_CONCEPTS)}"
                    )
                bases[BASE_CONCEPTS[concept]] = row.get("amount", "")
                lines[f"base_{concept}"] = line
            else:
                if concept not in TOTAL_CONCEPTS:
                    raise FiguresError(
                        "concept", f"total desconocido; use {', '.join(TOTAL_CONCEPTS)}"
                    )
                totals[TOTAL_CONCEPTS[concept]] = amount(row.get("amount"), "amount")
                lines[f"total_{concept}"] = line
        except FiguresError as problem:
            raise _LineError(
                problem.field, problem.message, ProblemCode.INVALID_VALUE, line
            ) from None
    try:
        figures = figures_from_json(
            {
                "year": year,
                "month": month,
                "days": days,
                "accruals": [],
                "worker_contributions": worker,
                "employer_contributions": employer,
                "other_deductions": deductions,
                "bases": bases,
                "irpf": irpf,
            }
        )
    except FiguresError as problem:
        raise _LineError(problem.field, problem.message, ProblemCode.INVALID_VALUE) from None
    figures = replace(figures, accruals=tuple(accruals))
    return PayslipRecord(group.first_line, employee, figures), StatedTotals(**totals), lines


_PROBLEM_FIELD_LINES: Final = {
    "total_devengado": "total_devengado",
    "total_deducir": "total_deducir",
    "liquido": "total_liquido",
    "base_contingencias_comunes": "base_contingencias_comunes",
    "base_contingencias_profesionales": "base_contingencias_profesionales",
    "irpf": "irpf",
}
_SECTIONS: Final = {"aportaciones": "aportacion", "empresa": "empresa"}


def _line_of(problem: Problem, lines: dict[str, int], fallback: int) -> int:
    if problem.section in _SECTIONS and problem.index is not None:
        return lines.get(f"{_SECTIONS[problem.section]}[{problem.index}]", fallback)
    return lines.get(_PROBLEM_FIELD_LINES.get(problem.field, ""), fallback)


# --- shared ---------------------------------------------------------------------------------


def _check(record: PayslipRecord, stated: StatedTotals) -> list[Problem]:
    missing = (
        [Problem(ProblemCode.MISSING, "accruals", "la nómina no tiene devengos")]
        if not record.figures.accruals
        else []
    )
    return missing + check_payslip(
        record.figures,
        contract_type=record.employee.contract_type,
        contribution_group=record.employee.contribution_group,
        stated=stated,
    )


def _duplicates(payslips: list[PayslipRecord]) -> list[ImportProblem]:
    seen: dict[tuple[str, str], int] = {}
    problems = []
    for record in payslips:
        key = (record.period, record.employee.nif)
        if key in seen:
            problems.append(
                ImportProblem(
                    record.line,
                    "nif",
                    ProblemCode.DUPLICATE,
                    f"el trabajador ya tiene nómina de {record.period} (línea {seen[key]})",
                )
            )
        seen.setdefault(key, record.line)
    return problems


def _company(values: Mapping[str, str], line: int, problems: list[ImportProblem]) -> CompanyRecord:
    nif = compact_id(values.get("nif", "")) or None
    ccc = compact_id(values.get("ccc", "")) or None
    if nif and not is_company_nif(nif):
        problems.append(
            ImportProblem(
                line, "company.nif", ProblemCode.INVALID_NIF, f"NIF de empresa no válido: {nif}"
            )
        )
    if ccc and not is_ccc(ccc):
        problems.append(
            ImportProblem(
                line,
                "company.ccc",
                ProblemCode.INVALID_CCC,
                f"código de cuenta de cotización no válido: {ccc}",
            )
        )
    return CompanyRecord(
        nif=nif,
        name=(values.get("name") or "").strip()[:200] or None,
        address=(values.get("address") or "").strip()[:300] or None,
        ccc=ccc,
    )


def _employee(values: Mapping[str, str]) -> EmployeeRecord:
    nif = compact_id(values.get("nif", ""))
    if not is_person_nif(nif):
        raise _LineError(
            "nif", f"NIF del trabajador no válido: {nif or '(vacío)'}", ProblemCode.INVALID_NIF
        )
    naf = compact_id(values.get("naf", ""))
    if not is_naf(naf):
        raise _LineError(
            "naf",
            f"número de afiliación a la Seguridad Social no válido: {naf or '(vacío)'}",
            ProblemCode.INVALID_NAF,
        )
    name = " ".join((values.get("name") or "").split())
    if not name:
        raise _LineError("name", "falta el nombre del trabajador", ProblemCode.MISSING)
    try:
        group = int(values.get("contribution_group", ""))
        if not 1 <= group <= 11:
            raise ValueError
    except ValueError:
        raise _LineError(
            "contribution_group", "el grupo de cotización debe ser 1–11", ProblemCode.INVALID_VALUE
        ) from None
    try:
        contract = ContractType((values.get("contract_type") or "").lower())
    except ValueError:
        raise _LineError(
            "contract_type", "tipo de contrato: indefinido o temporal", ProblemCode.INVALID_VALUE
        ) from None
    return EmployeeRecord(
        nif=nif,
        naf=naf,
        full_name=name[:200],
        professional_group=(values.get("professional_group") or "").strip()[:120],
        category=(values.get("category") or "").strip()[:120],
        contribution_group=group,
        seniority=_date(values.get("seniority") or ""),
        contract_type=contract,
    )


def _date(value: str) -> date | None:
    if not value:
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise _LineError(
        "seniority",
        f"fecha de antigüedad no válida: {value!r} (AAAA-MM-DD)",
        ProblemCode.INVALID_VALUE,
    )


def _period(value: str) -> tuple[int, int]:
    try:
        return parse_period(value)
    except ValueError:
        raise _LineError(
            "period", f"periodo no válido: {value!r} (AAAA-MM)", ProblemCode.INVALID_VALUE
        ) from None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _failed(line: int, where: str, message: str) -> PayrollImport:
    return PayrollImport(
        CompanyRecord(), (), (ImportProblem(line, where, ProblemCode.INVALID_VALUE, message),)
    )


# --- writing the format (demo data, benchmark, tests) ----------------------------------------


def _employee_json(employee: EmployeeRecord) -> dict[str, Any]:
    return {
        "nif": employee.nif,
        "naf": employee.naf,
        "name": employee.full_name,
        "professional_group": employee.professional_group,
        "category": employee.category,
        "contribution_group": employee.contribution_group,
        "seniority": employee.seniority.isoformat() if employee.seniority else None,
        "contract_type": employee.contract_type.value,
    }


def export_payroll_json(company: CompanyRecord, payslips: list[PayslipRecord]) -> bytes:
    """The JSON import format for ``payslips`` (totals included)."""
    items = []
    for record in payslips:
        figures = figures_to_json(record.figures)
        del figures["year"], figures["month"]
        items.append(
            {
                "period": record.period,
                "employee": _employee_json(record.employee),
                **figures,
                "totals": {
                    "total_accrued": str(record.figures.total_accrued),
                    "total_deductions": str(record.figures.total_deductions),
                    "net": str(record.figures.net),
                },
            }
        )
    company_json = {
        "nif": company.nif,
        "name": company.name,
        "address": company.address,
        "ccc": company.ccc,
    }
    return json.dumps(
        {"company": company_json, "payslips": items}, ensure_ascii=False, indent=1
    ).encode()


def export_payroll_csv(company: CompanyRecord, payslips: list[PayslipRecord]) -> bytes:
    """The CSV import format for ``payslips``: one row per line of each payslip."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*CSV_COLUMNS, *COMPANY_CSV_COLUMNS))
    for record in payslips:
        employee, figures = record.employee, record.figures
        head = (
            record.period,
            employee.nif,
            employee.naf,
            employee.full_name,
            employee.professional_group,
            employee.category,
            employee.contribution_group,
            employee.seniority.isoformat() if employee.seniority else "",
            employee.contract_type.value,
            figures.days,
        )
        tail = (company.ccc or "", company.address or "")
        rows: list[tuple[Any, ...]] = [
            (a.kind.value, a.concept, "", "", a.amount) for a in figures.accruals
        ]
        rows += [
            ("aportacion", c.concept.value, c.base, c.rate, c.amount)
            for c in figures.worker_contributions
        ]
        rows.append(("irpf", "irpf", figures.bases.irpf, figures.irpf_rate, figures.irpf_amount))
        rows += [("deduccion", d.concept, "", "", d.amount) for d in figures.other_deductions]
        bases = figures.bases
        rows += [
            ("base", concept, "", "", getattr(bases, attribute))
            for concept, attribute in BASE_CONCEPTS.items()
        ]
        rows += [
            ("empresa", c.concept.value, c.base, c.rate, c.amount)
            for c in figures.employer_contributions
        ]
        rows += [
            ("total", concept, "", "", getattr(figures, attribute))
            for concept, attribute in TOTAL_CONCEPTS.items()
        ]
        writer.writerows((*head, *row, *tail) for row in rows)
    return out.getvalue().encode()
