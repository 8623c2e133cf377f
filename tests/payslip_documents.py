"""Payslips as the common Spanish payroll programs print them, with the truth beside each.

Each layout is modelled on a family of real nóminas (REFERENCE §1.2 vocabulary): an A3Nom-style
grid with a totals strip (labels above values), the Sage/official Orden ESS/2098/2014 model, a
Meta4/Cegid corporate slip ("Periodo 11/2026", "Neto a percibir"), a Nominasol two-block slip,
a Holded/Factorial modern summary, and a hand-made spreadsheet without accents or thousands
separators. Figures come from ``pipeline.payroll.calculate_payslip`` so totals add up; ids are
valid (python-stdnum check digits). ``payslip_scan_bytes`` rasterizes a slip and degrades it as
a scanner or a phone would, so the OCR path is exercised too.
"""

from __future__ import annotations

import calendar
import io
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

import numpy as np
from PIL import Image, ImageFilter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from stdnum.es import nie

from pipeline.payroll import (
    Accrual,
    AccrualKind,
    Deduction,
    PayrollInput,
    PayslipFigures,
    calculate_payslip,
    cents,
    with_ccc_control,
    with_naf_control,
)
from pipeline.payroll_rates import ContractType, rates_for
from pipeline.payslip_pdf import euros
from pipeline.spanish import MONTHS
from tests.documents import COMPANIES, PEOPLE, make_cif, make_dni

WIDTH, HEIGHT = A4
ABBREVIATIONS: Final = ("ENE", "FEB", "MAR", "ABR", "MAY", "JUN")
ABBREVIATIONS_2: Final = ("JUL", "AGO", "SEP", "OCT", "NOV", "DIC")
STREETS: Final = ("C/ Mayor", "Avda. de la Constitución", "C/ San Vicente", "Pza. España")
TOWNS: Final = (
    ("28013", "Madrid"),
    ("46002", "Valencia"),
    ("41001", "Sevilla"),
    ("50001", "Zaragoza"),
)


@dataclass(frozen=True, slots=True)
class PayslipDocument:
    """A generated payslip: its layout, seed, PDF bytes and the fields it must yield."""

    layout: str
    seed: int
    pdf: bytes
    truth: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class _Slip:
    """Everything a layout prints."""

    company: str
    address: str
    employer_id: str
    ccc: str
    worker: str
    worker_id: str
    naf: str
    group: int
    category: str
    seniority: date
    figures: PayslipFigures
    money: Callable[[Decimal], str]
    label: Callable[[str], str]  # the program's casing/accents for printed labels


# --- data ----------------------------------------------------------------------------------


def make_nie(rng: random.Random) -> str:
    """A valid NIE (foreigner's number): X/Y/Z, seven digits, check letter."""
    body = rng.choice("XYZ") + f"{rng.randrange(10**7):07d}"
    return body + nie.calc_check_digit(body)


def plain_money(value: Decimal) -> str:
    """``1234.5`` → ``1234,50`` (spreadsheets without thousands separators)."""
    return f"{value:.2f}".replace(".", ",")


def no_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _figures(rng: random.Random, year: int, month: int) -> PayslipFigures:
    salary = Decimal(rng.randrange(110_000, 420_000)) / 100
    complements: list[Accrual] = []
    if rng.random() < 0.7:
        complements.append(Accrual("Plus convenio", Decimal(rng.randrange(3_000, 30_000)) / 100))
    if rng.random() < 0.4:
        complements.append(Accrual("Antigüedad", Decimal(rng.randrange(2_000, 15_000)) / 100))
    non_salary: list[Accrual] = []
    if rng.random() < 0.4:
        non_salary.append(
            Accrual(
                rng.choice(["Plus transporte", "Dietas", "Kilometraje"]),
                Decimal(rng.randrange(2_000, 18_000)) / 100,
                AccrualKind.NO_SALARIAL,
            )
        )
    others = (
        (Deduction("Anticipo", Decimal(rng.randrange(5_000, 40_000)) / 100),)
        if rng.random() < 0.15
        else ()
    )
    payroll = PayrollInput(
        year=year,
        month=month,
        contribution_group=rng.randint(1, 7),
        contract_type=rng.choice(list(ContractType)),
        base_salary=salary,
        irpf_rate=Decimal(rng.randrange(200, 2400)) / 100,
        complements=tuple(complements),
        non_salary=tuple(non_salary),
        overtime=Decimal(rng.randrange(5_000, 25_000)) / 100 if rng.random() < 0.15 else Decimal(0),
        prorated_extras=rng.random() < 0.35,
        other_deductions=others,
    )
    # Only 2026 has a rate table; earlier years reuse it (the arithmetic is what matters).
    return calculate_payslip(payroll, rates_for(2026))


def _slip(
    rng: random.Random, label: Callable[[str], str], money: Callable[[Decimal], str]
) -> _Slip:
    year = rng.choice([2025, 2026])
    # Extra-pay months (June, December) are over-represented: they are the tricky ones.
    month = rng.choice([*range(1, 13), 6, 12])
    figures = _figures(rng, year, month)
    # Small employers are often self-employed people: their id is a DNI, not a CIF.
    person_employer = rng.random() < 0.12
    company = (
        rng.choice(PEOPLE)
        if person_employer
        else f"{rng.choice(COMPANIES)} {rng.choice(['S.L.', 'S.A.', 'SLU'])}"
    )
    province = rng.choice(["28", "46", "41", "08", "50"])
    town = rng.choice(TOWNS)
    return _Slip(
        company=company,
        address=f"{rng.choice(STREETS)}, {rng.randint(1, 120)} {town[0]} {town[1]}",
        employer_id=make_dni(rng) if person_employer else make_cif(rng),
        ccc=with_ccc_control(province + f"{rng.randrange(10**7):07d}"),
        worker=rng.choice(PEOPLE),
        worker_id=make_nie(rng) if rng.random() < 0.3 else make_dni(rng),
        naf=with_naf_control(province + f"{rng.randrange(10**8):08d}"),
        group=rng.randint(1, 7),
        category=rng.choice(
            ["Oficial 1ª", "Auxiliar administrativo", "Técnico", "Peón", "Dependiente"]
        ),
        seniority=date(rng.randint(2005, 2024), rng.randint(1, 12), rng.randint(1, 28)),
        figures=figures,
        money=money,
        label=label,
    )


def _truth(slip: _Slip) -> dict[str, str | None]:
    f = slip.figures
    return {
        "category": "nomina",
        "period": f"{f.year}-{f.month:02d}",
        "issuer_tax_id": slip.employer_id,
        "employee_tax_id": slip.worker_id,
        "gross": f"{f.total_accrued:.2f}",
        "net": f"{f.net:.2f}",
        "irpf_rate": f"{f.irpf_rate:.2f}",
    }


# --- drawing -------------------------------------------------------------------------------


class _Sheet:
    """A reportlab canvas with the few primitives the layouts need (y grows downwards)."""

    def __init__(self, canvas: Canvas, font: str, size: float) -> None:
        self.c = canvas
        self.font = font
        self.bold = {"Helvetica": "Helvetica-Bold", "Times-Roman": "Times-Bold"}.get(
            font, "Courier-Bold"
        )
        self.size = size

    def text(
        self, x: float, y: float, value: str, *, bold: bool = False, size: float | None = None
    ) -> None:
        self.c.setFont(self.bold if bold else self.font, size or self.size)
        self.c.drawString(x, HEIGHT - y, value)

    def right(
        self, x: float, y: float, value: str, *, bold: bool = False, size: float | None = None
    ) -> None:
        self.c.setFont(self.bold if bold else self.font, size or self.size)
        self.c.drawRightString(x, HEIGHT - y, value)

    def box(self, x: float, y: float, w: float, h: float) -> None:
        self.c.setLineWidth(0.6)
        self.c.rect(x, HEIGHT - y - h, w, h)

    def hline(self, x: float, y: float, w: float) -> None:
        self.c.setLineWidth(0.4)
        self.c.line(x, HEIGHT - y, x + w, HEIGHT - y)


def _accrual_rows(slip: _Slip) -> list[tuple[str, str, str, Decimal]]:
    """(quantity, price, concept, amount) for the devengos, as grids print them."""
    rows = []
    for accrual in slip.figures.accruals:
        if accrual.concept == "Salario base":
            days = Decimal(slip.figures.days)
            quantity = f"{days:.2f}".replace(".", ",")
            price = slip.money(cents(accrual.amount / days))
            rows.append((quantity, price, slip.label("Salario base"), accrual.amount))
        elif accrual.concept == "Gratificaciones extraordinarias":
            name = "Paga extra junio" if slip.figures.month == 6 else "Paga extra Navidad"
            rows.append(("", "", slip.label(name), accrual.amount))
        else:
            rows.append(("", "", slip.label(accrual.concept), accrual.amount))
    return rows


def _deduction_rows(slip: _Slip, irpf_label: str) -> list[tuple[str, str, str, Decimal]]:
    """(rate, base, concept, amount) for the deducciones."""
    f = slip.figures
    names = {
        "contingencias_comunes": "Cotización contingencias comunes",
        "mei": "Cotización MEI",
        "desempleo": "Cotización desempleo",
        "formacion_profesional": "Cotización formación profesional",
        "horas_extra": "Cotización horas extra",
    }
    rows = []
    for c in f.worker_contributions:
        rate = f"{c.rate:.2f}".replace(".", ",")
        rows.append(
            (
                rate,
                slip.money(c.base),
                slip.label(names.get(str(c.concept), c.concept.label)),
                c.amount,
            )
        )
    rate = f"{f.irpf_rate:.2f}".replace(".", ",")
    rows.append((rate, slip.money(f.bases.irpf), slip.label(irpf_label), f.irpf_amount))
    for d in f.other_deductions:
        rows.append(("", "", slip.label(d.concept), d.amount))
    return rows


def _month_name(slip: _Slip) -> str:
    return MONTHS[slip.figures.month - 1]


def _last_day(slip: _Slip) -> int:
    return calendar.monthrange(slip.figures.year, slip.figures.month)[1]


def _a3(sheet: _Sheet, slip: _Slip, rng: random.Random) -> None:
    """A3Nom/A3innuva: two header boxes, a CUANTÍA/PRECIO/CONCEPTO/DEVENGOS/DEDUCCIONES grid,
    and a totals strip whose labels sit above their values."""
    f, L, m = slip.figures, slip.label, slip.money
    sheet.box(30, 30, 260, 70)
    sheet.text(36, 42, L("EMPRESA"), bold=True, size=7)
    sheet.text(36, 54, slip.company)
    sheet.text(36, 66, slip.address, size=7)
    sheet.text(36, 80, f"{L('CIF')}  {slip.employer_id}", size=8)
    sheet.text(150, 80, f"{L('CCC')}  {slip.ccc[:2]} {slip.ccc[2:9]} {slip.ccc[9:]}", size=8)
    sheet.box(300, 30, 265, 70)
    sheet.text(306, 42, L("TRABAJADOR"), bold=True, size=7)
    sheet.text(306, 54, slip.worker.upper())
    sheet.text(
        306,
        66,
        f"{L('NIF')} {slip.worker_id}   {L('Nº AFILIACIÓN S.S.')} "
        f"{slip.naf[:2]}/{slip.naf[2:10]}/{slip.naf[10:]}",
        size=7,
    )
    sheet.text(
        306,
        78,
        f"{L('CATEGORÍA')} {slip.category.upper()}   {L('GRUPO COT.')} {slip.group}",
        size=7,
    )
    sheet.text(306, 90, f"{L('ANTIGÜEDAD')} {slip.seniority:%d %b %y}".upper(), size=7)
    abbr = (*ABBREVIATIONS, *ABBREVIATIONS_2)[f.month - 1]
    yy = f"{f.year % 100:02d}"
    sheet.box(30, 106, 535, 26)
    sheet.text(36, 116, L("PERIODO"), bold=True, size=7)
    sheet.text(200, 116, L("TOT. DÍAS"), bold=True, size=7)
    sheet.text(36, 127, f"MENSUAL 01 {abbr} {yy} a {_last_day(slip):02d} {abbr} {yy}")
    sheet.text(200, 127, str(f.days))
    y = 150
    for x, name in (
        (36, "CUANTÍA"),
        (90, "PRECIO"),
        (150, "CONCEPTO"),
        (440, "DEVENGOS"),
        (505, "DEDUCCIONES"),
    ):
        sheet.text(x, y, L(name), bold=True, size=7)
    sheet.hline(30, y + 4, 535)
    y += 16
    for quantity, price, concept, amount in _accrual_rows(slip):
        sheet.right(75, y, quantity, size=8)
        sheet.right(135, y, price, size=8)
        sheet.text(150, y, concept.upper(), size=8)
        sheet.right(490, y, m(amount), size=8)
        y += 11
    for rate, _base, concept, amount in _deduction_rows(slip, "TRIBUTACIÓN I.R.P.F."):
        sheet.right(75, y, rate, size=8)
        sheet.text(150, y, concept.upper(), size=8)
        sheet.right(560, y, m(amount), size=8)
        y += 11
    y = max(y + 30, 560)
    labels = (
        "REM. TOTAL",
        "P.P. EXTRAS",
        "BASE S.S.",
        "BASE A.T. Y DES.",
        "BASE I.R.P.F.",
        "T. DEVENGADO",
        "T. A DEDUCIR",
    )
    values = (
        f.bases.monthly_remuneration,
        f.bases.extra_pay_proration,
        f.bases.common,
        f.bases.professional,
        f.bases.irpf,
        f.total_accrued,
        f.total_deductions,
    )
    sheet.box(30, y - 10, 535, 28)
    for index, (name, value) in enumerate(zip(labels, values, strict=True)):
        x = 36 + index * 76
        sheet.text(x, y, L(name), bold=True, size=6.5)
        sheet.right(x + 70, y + 12, m(value), size=8)
    y += 40
    sheet.text(36, y, f"{slip.address.split()[-1]}, {_last_day(slip)} {abbr} {f.year}", size=8)
    sheet.box(380, y - 12, 185, 34)
    sheet.text(386, y, L("LÍQUIDO A PERCIBIR"), bold=True, size=8)
    sheet.right(560, y + 14, m(f.net), bold=True, size=10)
    sheet.text(36, y + 40, L("RECIBÍ"), size=8)


def _official(sheet: _Sheet, slip: _Slip, rng: random.Random) -> None:
    """Sage Despachos / Murano and most gestorías: the Orden ESS/2098/2014 model, amounts on
    the label's line in a column far to the right."""
    f, L, m = slip.figures, slip.label, slip.money
    sheet.text(
        30, 36, L("RECIBO INDIVIDUAL JUSTIFICATIVO DEL PAGO DE SALARIOS"), bold=True, size=10
    )
    left = [
        f"{L('Empresa')}: {slip.company}",
        f"{L('Domicilio')}: {slip.address}",
        f"{L('CIF')}: {slip.employer_id}",
        f"{L('C.C.C.')}: {slip.ccc[:2]}/{slip.ccc[2:9]}/{slip.ccc[9:]}",
    ]
    right = [
        f"{L('Trabajador')}: {slip.worker}",
        f"{L('N.I.F.')}: {slip.worker_id}",
        f"{L('Nº afiliación S.S.')}: {slip.naf[:2]} {slip.naf[2:10]} {slip.naf[10:]}",
        f"{L('Grupo profesional')}: {slip.category}",
        f"{L('Grupo de cotización')}: {slip.group}",
    ]
    # Some programs print the worker block on the left.
    if rng.random() < 0.3:
        left, right = right, left
    for index, line in enumerate(left):
        sheet.text(30, 60 + index * 12, line, size=8)
    for index, line in enumerate(right):
        sheet.text(310, 60 + index * 12, line, size=8)
    y = 130
    if rng.random() < 0.5:
        period = (
            f"del {1:02d}/{f.month:02d}/{f.year} al {_last_day(slip):02d}/{f.month:02d}/{f.year}"
        )
    else:
        month = _month_name(slip)
        period = f"del 1 de {month} al {_last_day(slip)} de {month} de {f.year}"
    sheet.text(30, y, f"{L('PERIODO DE LIQUIDACIÓN')}: {period}", size=8)
    sheet.text(450, y, f"{L('Total días')}: {f.days}", size=8)
    y += 22
    sheet.text(30, y, L("I. DEVENGOS"), bold=True)
    sheet.text(420, y, L("IMPORTE"), bold=True, size=7)
    sheet.text(500, y, L("TOTALES"), bold=True, size=7)
    y += 14
    for _q, _p, concept, amount in _accrual_rows(slip):
        sheet.text(46, y, concept, size=8)
        sheet.right(470, y, m(amount), size=8)
        y += 11
    y += 4
    sheet.text(30, y, L("A. TOTAL DEVENGADO"), bold=True)
    sheet.right(560, y, m(f.total_accrued))
    y += 20
    sheet.text(30, y, L("II. DEDUCCIONES"), bold=True)
    y += 14
    for rate, _base, concept, amount in _deduction_rows(
        slip, "Impuesto sobre la renta de las personas físicas"
    ):
        sheet.text(46, y, f"{concept} {rate} %" if rate else concept, size=8)
        sheet.right(470, y, m(amount), size=8)
        y += 11
    sheet.text(46, y, L("Total aportaciones"), size=8)
    sheet.right(560, y, m(f.total_contributions), size=8)
    y += 16
    sheet.text(30, y, L("B. TOTAL A DEDUCIR"), bold=True)
    sheet.right(560, y, m(f.total_deductions))
    y += 16
    sheet.text(30, y, L("LÍQUIDO TOTAL A PERCIBIR (A-B)"), bold=True)
    sheet.right(560, y, m(f.net), bold=True)
    y += 24
    sheet.text(
        30,
        y,
        f"{slip.address.split()[-1]}, a {_last_day(slip)} de {_month_name(slip)} de {f.year}",
        size=8,
    )
    sheet.text(250, y, L("Firma y sello de la empresa"), size=8)
    sheet.text(450, y, L("RECIBÍ"), size=8)
    y += 30
    sheet.text(
        30,
        y,
        L("DETERMINACIÓN DE LAS BASES DE COTIZACIÓN A LA SEGURIDAD SOCIAL"),
        bold=True,
        size=7,
    )
    y += 12
    for name, value in (
        ("Importe remuneración mensual", f.bases.monthly_remuneration),
        ("Importe prorrata pagas extraordinarias", f.bases.extra_pay_proration),
        ("Contingencias comunes", f.bases.common),
        ("Contingencias profesionales y conceptos de recaudación conjunta", f.bases.professional),
        ("Base sujeta a retención del IRPF", f.bases.irpf),
    ):
        sheet.text(46, y, L(name), size=7)
        sheet.right(400, y, m(value), size=7)
        y += 10


def _meta4(sheet: _Sheet, slip: _Slip, rng: random.Random) -> None:
    """Meta4 / Cegid corporate slips: a title band with the period as MM/YYYY, the employee
    block first, devengos and deducciones side by side, and "Neto a percibir" at the foot."""
    f, L, m = slip.figures, slip.label, slip.money
    sheet.text(30, 36, slip.company, bold=True, size=11)
    sheet.text(30, 48, slip.address, size=7)
    sheet.text(400, 36, L("Recibo de salarios"), bold=True, size=11)
    sheet.text(400, 50, f"{L('Periodo')} {f.month:02d}/{f.year}", size=9)
    pay_day = date(f.year, f.month, _last_day(slip)) + timedelta(days=rng.choice([0, 0, 3, 5]))
    sheet.text(400, 62, f"{L('Fecha de pago')} {pay_day:%d/%m/%Y}", size=8)
    rows = [
        (L("Empleado"), slip.worker, L("D.N.I./N.I.E."), slip.worker_id),
        (
            L("Nº S.S."),
            f"{slip.naf[:2]}/{slip.naf[2:10]}-{slip.naf[10:]}",
            L("Fecha antigüedad"),
            f"{slip.seniority:%d/%m/%Y}",
        ),
        (L("Categoría"), slip.category, L("Grupo tarifa"), str(slip.group)),
        (L("C.I.F. empresa"), slip.employer_id, L("Cód. cuenta cotización"), slip.ccc),
    ]
    y = 86
    for a, b, c, d in rows:
        sheet.text(30, y, a, size=7)
        sheet.text(120, y, b, size=8)
        sheet.text(320, y, c, size=7)
        sheet.text(430, y, d, size=8)
        y += 12
    y += 12
    sheet.text(30, y, L("Devengos"), bold=True)
    sheet.text(300, y, L("Deducciones"), bold=True)
    y += 14
    accruals = _accrual_rows(slip)
    deductions = _deduction_rows(slip, "Retención IRPF")
    for index in range(max(len(accruals), len(deductions))):
        if index < len(accruals):
            sheet.text(30, y, accruals[index][2], size=8)
            sheet.right(280, y, m(accruals[index][3]), size=8)
        if index < len(deductions):
            rate, _base, concept, amount = deductions[index]
            sheet.text(300, y, f"{concept} ({rate}%)" if rate else concept, size=8)
            sheet.right(560, y, m(amount), size=8)
        y += 11
    y += 8
    sheet.hline(30, y - 8, 535)
    sheet.text(30, y, L("Total devengos"), bold=True, size=8)
    sheet.right(280, y, m(f.total_accrued), bold=True, size=8)
    sheet.text(300, y, L("Total deducciones"), bold=True, size=8)
    sheet.right(560, y, m(f.total_deductions), bold=True, size=8)
    y += 26
    sheet.box(300, y - 12, 265, 22)
    sheet.text(
        306,
        y,
        L(rng.choice(["NETO A PERCIBIR", "Líquido a percibir", "Total a percibir"])),
        bold=True,
    )
    sheet.right(560, y, f"{m(f.net)} €", bold=True)
    y += 30
    sheet.text(30, y, L("Bases de cotización"), bold=True, size=7)
    y += 10
    for index, (name, value) in enumerate(
        (
            ("Base CC", f.bases.common),
            ("Base AT/EP", f.bases.professional),
            ("Base IRPF", f.bases.irpf),
        )
    ):
        sheet.text(30 + index * 150, y, L(name), size=7)
        sheet.right(150 + index * 150, y, m(value), size=7)
    y += 14
    sheet.text(30, y, f"{L('Transferencia a')} ES{rng.randrange(10**22):022d}", size=7)


def _nominasol(sheet: _Sheet, slip: _Slip, rng: random.Random) -> None:
    """Nominasol / Despachos-style: the month in words under "NÓMINA", a grid, and a foot
    where "TOTAL DEVENGADO" and "TOTAL A DEDUCIR" labels sit on one line, their amounts on
    the next, and the net in a box of its own."""
    f, L, m = slip.figures, slip.label, slip.money
    sheet.text(240, 34, L("NÓMINA"), bold=True, size=13)
    sheet.text(240, 48, f"{_month_name(slip).capitalize()} {f.year}", size=10)
    if f.month in (6, 12) and not any(
        a.concept == "Prorrata pagas extraordinarias" for a in f.accruals
    ):
        sheet.text(240, 60, L("(incluye PAGA EXTRA)"), size=8)
    sheet.text(30, 80, slip.company.upper(), bold=True, size=8)
    sheet.text(30, 91, slip.address, size=7)
    sheet.text(
        30, 102, f"{L('C.I.F.')}: {slip.employer_id}   {L('Cta. Cotiz.')}: {slip.ccc}", size=7
    )
    sheet.text(330, 80, slip.worker.upper(), bold=True, size=8)
    sheet.text(330, 91, f"{L('D.N.I.')}: {slip.worker_id}", size=7)
    sheet.text(
        330,
        102,
        f"{L('Afiliación')}: {slip.naf}   {L('Antigüedad')}: {slip.seniority:%d/%m/%Y}",
        size=7,
    )
    y = 130
    for x, name in (
        (30, "Cantidad"),
        (90, "Precio"),
        (150, "Concepto"),
        (430, "Devengos"),
        (505, "Deducciones"),
    ):
        sheet.text(x, y, L(name), bold=True, size=7)
    y += 14
    for quantity, price, concept, amount in _accrual_rows(slip):
        sheet.right(70, y, quantity, size=8)
        sheet.right(130, y, price, size=8)
        sheet.text(150, y, concept, size=8)
        sheet.right(480, y, m(amount), size=8)
        y += 11
    for rate, base, concept, amount in _deduction_rows(slip, "I.R.P.F."):
        sheet.right(70, y, rate, size=8)
        sheet.right(130, y, base, size=8)
        sheet.text(150, y, concept, size=8)
        sheet.right(560, y, m(amount), size=8)
        y += 11
    y = max(y + 24, 520)
    sheet.hline(30, y - 10, 535)
    sheet.text(300, y, L("TOTAL DEVENGADO"), bold=True, size=7)
    sheet.text(450, y, L("TOTAL A DEDUCIR"), bold=True, size=7)
    sheet.right(380, y + 12, m(f.total_accrued))
    sheet.right(530, y + 12, m(f.total_deductions))
    y += 34
    sheet.box(300, y - 12, 265, 30)
    sheet.text(306, y, L("LÍQUIDO TOTAL A PERCIBIR"), bold=True, size=8)
    sheet.right(560, y + 12, m(f.net), bold=True, size=10)
    y += 44
    sheet.text(30, y, L("Base S.S."), size=7)
    sheet.text(120, y, L("Base A.T. y Desempleo"), size=7)
    sheet.text(240, y, L("Base I.R.P.F."), size=7)
    sheet.text(340, y, L("Aportación empresa"), size=7)
    y += 10
    sheet.text(30, y, m(f.bases.common), size=7)
    sheet.text(120, y, m(f.bases.professional), size=7)
    sheet.text(240, y, m(f.bases.irpf), size=7)
    sheet.text(340, y, m(f.employer_total), size=7)


def _modern(sheet: _Sheet, slip: _Slip, rng: random.Random) -> None:
    """Holded / Factorial / Sesame: a summary card (gross, deductions, net) on top, then the
    detail in sentence case, the period as a date range."""
    f, L, m = slip.figures, slip.label, slip.money
    sheet.text(30, 40, f"{L('Nómina de')} {_month_name(slip)} {f.year}", bold=True, size=14)
    sheet.text(
        30,
        56,
        f"{L('Periodo')}: 01/{f.month:02d}/{f.year} - {_last_day(slip):02d}/{f.month:02d}/{f.year}",
        size=8,
    )
    sheet.text(360, 40, slip.company, bold=True, size=9)
    sheet.text(360, 52, f"{L('CIF')} {slip.employer_id}", size=8)
    sheet.text(360, 63, f"{L('CCC')} {slip.ccc}", size=8)
    sheet.text(30, 84, slip.worker, bold=True, size=10)
    sheet.text(30, 96, f"{L('DNI/NIE')} {slip.worker_id} · {L('NSS')} {slip.naf}", size=8)
    sheet.text(30, 107, f"{slip.category} · {L('Alta')}: {slip.seniority:%d/%m/%Y}", size=8)
    y = 132
    cards = (
        (L("Salario bruto"), f.total_accrued),
        (L("Deducciones"), f.total_deductions),
        (L("Total a percibir"), f.net),
    )
    for index, (name, value) in enumerate(cards):
        x = 30 + index * 180
        sheet.box(x, y - 12, 170, 40)
        sheet.text(x + 8, y, name, size=8)
        sheet.text(x + 8, y + 18, f"{m(value)} €", bold=True, size=13)
    y += 56
    sheet.text(30, y, L("Devengos"), bold=True, size=10)
    y += 14
    for _q, _p, concept, amount in _accrual_rows(slip):
        sheet.text(40, y, concept, size=8)
        sheet.right(560, y, f"{m(amount)} €", size=8)
        y += 12
    sheet.text(40, y, L("Total devengado"), bold=True, size=8)
    sheet.right(560, y, f"{m(f.total_accrued)} €", bold=True, size=8)
    y += 22
    sheet.text(30, y, L("Deducciones"), bold=True, size=10)
    y += 14
    for rate, base, concept, amount in _deduction_rows(slip, "IRPF"):
        sheet.text(40, y, concept, size=8)
        if rate:
            sheet.text(300, y, f"{rate}% {L('sobre')} {base} €", size=7)
        sheet.right(560, y, f"-{m(amount)} €", size=8)
        y += 12
    sheet.text(40, y, L("Total deducciones"), bold=True, size=8)
    sheet.right(560, y, f"-{m(f.total_deductions)} €", bold=True, size=8)
    y += 22
    sheet.text(30, y, L("Líquido a percibir"), bold=True, size=10)
    sheet.right(560, y, f"{m(f.net)} €", bold=True, size=10)
    y += 26
    sheet.text(30, y, f"{L('Coste empresa')}: {m(f.employer_cost)} €", size=7)


def _spreadsheet(sheet: _Sheet, slip: _Slip, rng: random.Random) -> None:
    """A hand-made Excel nómina: uppercase, no accents, two-column key/value rows, amounts
    without thousands separators, sometimes on the line after the label."""
    f, m = slip.figures, slip.money
    month = _month_name(slip).upper()
    sheet.text(30, 40, no_accents(f"NOMINA MES DE {month} DE {f.year}"), bold=True, size=12)
    y = 66
    pairs = [
        ("EMPRESA", slip.company.upper()),
        ("CIF EMPRESA", slip.employer_id),
        ("COD. CUENTA COTIZACION", slip.ccc),
        ("TRABAJADOR", slip.worker.upper()),
        ("DNI TRABAJADOR" if slip.worker_id[0].isdigit() else "NIE TRABAJADOR", slip.worker_id),
        ("N. AFILIACION", slip.naf),
        ("CATEGORIA", slip.category.upper()),
    ]
    for key, value in pairs:
        sheet.text(30, y, no_accents(key), size=8)
        sheet.text(200, y, no_accents(value), size=8)
        y += 12
    y += 10
    sheet.text(30, y, "CONCEPTO", bold=True, size=8)
    sheet.text(380, y, "IMPORTE", bold=True, size=8)
    y += 12
    for _q, _p, concept, amount in _accrual_rows(slip):
        sheet.text(30, y, no_accents(concept.upper()), size=8)
        sheet.right(420, y, m(amount), size=8)
        y += 11
    split = rng.random() < 0.5  # the total's amount in the cell below its label
    sheet.text(30, y, "TOTAL DEVENGOS", bold=True, size=8)
    if split:
        y += 11
    sheet.right(420, y, m(f.total_accrued), bold=True, size=8)
    y += 18
    for rate, _base, concept, amount in _deduction_rows(slip, "RETENCION IRPF"):
        sheet.text(30, y, no_accents(concept.upper()), size=8)
        if rate:
            sheet.text(300, y, f"{rate}%", size=8)
        sheet.right(420, y, m(amount), size=8)
        y += 11
    sheet.text(30, y, "TOTAL DEDUCCIONES", bold=True, size=8)
    sheet.right(420, y, m(f.total_deductions), bold=True, size=8)
    y += 18
    sheet.text(
        30,
        y,
        rng.choice(["NETO A PERCIBIR", "LIQUIDO A PERCIBIR", "A PERCIBIR"]),
        bold=True,
        size=9,
    )
    if split:
        y += 12
    sheet.right(420, y, m(f.net), bold=True, size=9)


def _cegid(sheet: _Sheet, slip: _Slip, rng: random.Random) -> None:
    """Cegid/SPAI-style: identification in a single ruled table whose labels are one row and
    values the next, abbreviated totals ("T. DEVENGADO", "T. DEDUCCIONES") and the net in
    words beside its figure."""
    f, L, m = slip.figures, slip.label, slip.money
    sheet.text(30, 34, slip.company.upper(), bold=True)
    sheet.text(30, 46, slip.address.upper(), size=7)
    heads = ("C.I.F.", "C.C.C.", "PERIODO", "DÍAS", "TRABAJADOR", "N.I.F.", "N.A.F.")
    values = (
        slip.employer_id,
        slip.ccc,
        f"{f.month:02d}/{f.year}",
        str(f.days),
        slip.worker.upper()[:22],
        slip.worker_id,
        slip.naf,
    )
    xs = (30, 95, 165, 215, 245, 395, 470)
    sheet.box(28, 58, 540, 28)
    for x, head, value in zip(xs, heads, values, strict=True):
        sheet.text(x, 67, L(head), bold=True, size=6.5)
        sheet.text(x, 80, value, size=7)
    y = 106
    sheet.text(30, y, L("CONCEPTOS"), bold=True, size=7)
    sheet.text(360, y, L("DEVENGOS"), bold=True, size=7)
    sheet.text(470, y, L("DEDUCCIONES"), bold=True, size=7)
    y += 14
    for _q, _p, concept, amount in _accrual_rows(slip):
        sheet.text(30, y, concept.upper(), size=8)
        sheet.right(420, y, m(amount), size=8)
        y += 11
    for rate, _base, concept, amount in _deduction_rows(slip, "I.R.P.F."):
        sheet.text(30, y, f"{concept.upper()} {rate}%" if rate else concept.upper(), size=8)
        sheet.right(540, y, m(amount), size=8)
        y += 11
    y += 12
    sheet.text(30, y, L("T. DEVENGADO"), bold=True, size=8)
    sheet.right(420, y, m(f.total_accrued), size=8)
    sheet.text(430, y, L("T. DEDUCC."), bold=True, size=8)
    sheet.right(560, y, m(f.total_deductions), size=8)
    y += 20
    sheet.text(30, y, L("LÍQUIDO A PERCIBIR"), bold=True)
    sheet.right(560, y, f"{m(f.net)} EUR", bold=True)
    y += 24
    sheet.text(
        30,
        y,
        f"{L('BASE C.C.')} {m(f.bases.common)}   {L('BASE A.T.')} {m(f.bases.professional)}   "
        f"{L('BASE IRPF')} {m(f.bases.irpf)}   {L('% IRPF')} {plain_money(f.irpf_rate)}",
        size=7,
    )


LAYOUTS: Final[dict[str, Callable[[_Sheet, _Slip, random.Random], None]]] = {
    "a3": _a3,
    "official": _official,
    "meta4": _meta4,
    "nominasol": _nominasol,
    "modern": _modern,
    "spreadsheet": _spreadsheet,
    "cegid": _cegid,
}


def _casing(rng: random.Random, layout: str) -> Callable[[str], str]:
    if layout == "spreadsheet":
        return lambda s: no_accents(s.upper())
    style = rng.choice(["as_is", "as_is", "upper", "no_accents"])
    if style == "upper":
        return str.upper
    if style == "no_accents":
        return no_accents
    return str


def make_payslip_document(seed: int, layout: str | None = None) -> PayslipDocument:
    """One payslip PDF (text layer) in ``layout`` (by default one picked from the seed)."""
    rng = random.Random(seed)
    layout = layout or list(LAYOUTS)[seed % len(LAYOUTS)]
    money = plain_money if layout == "spreadsheet" or rng.random() < 0.1 else euros
    slip = _slip(rng, _casing(rng, layout), money)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    font = (
        rng.choice(["Helvetica", "Helvetica", "Times-Roman", "Courier"])
        if layout != "a3"
        else "Helvetica"
    )
    LAYOUTS[layout](_Sheet(canvas, font, 9), slip, rng)
    canvas.showPage()
    canvas.save()
    return PayslipDocument(layout, seed, buffer.getvalue(), _truth(slip))


def payslip_scan_bytes(document: PayslipDocument, *, dpi: int = 200) -> bytes:
    """The payslip printed and scanned (or photographed flat): a JPEG page with a slight
    tilt, blur, uneven light and noise, and no text layer."""
    from pdf2image import convert_from_bytes

    rng = random.Random(document.seed * 7919 + 11)
    page = convert_from_bytes(document.pdf, dpi=dpi, fmt="ppm", thread_count=1)[0].convert("L")
    page = page.rotate(
        rng.uniform(-1.2, 1.2), resample=Image.Resampling.BICUBIC, expand=True, fillcolor=235
    )
    page = page.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    # Uneven light: a horizontal gradient of up to 30 grey levels.
    shade = Image.linear_gradient("L").rotate(90).resize(page.size)
    page = Image.blend(page, Image.eval(shade, lambda v: 255 - v // 8), rng.uniform(0.05, 0.15))
    # Seeded noise (PIL's effect_noise is not), so a seed always gives the same scan.
    grain = np.random.default_rng(document.seed).normal(0, rng.uniform(6, 14), page.size[::-1])
    page = Image.fromarray(
        np.clip(np.asarray(page, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    )
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=rng.randint(60, 85), dpi=(dpi, dpi))
    return buffer.getvalue()


def payslip_documents(count: int, first_seed: int = 0) -> list[PayslipDocument]:
    """``count`` payslips cycling through every layout."""
    return [make_payslip_document(seed) for seed in range(first_seed, first_seed + count)]


__all__ = [
    "LAYOUTS",
    "PayslipDocument",
    "make_nie",
    "make_payslip_document",
    "payslip_documents",
    "payslip_scan_bytes",
]
