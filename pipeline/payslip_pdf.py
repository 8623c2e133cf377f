"""The official Spanish payslip (Orden ESS/2098/2014) drawn with reportlab, one A4 page.

In: a `PayslipHeader` (employer and worker identification) and `PayslipFigures`. Out: PDF
bytes. Output is deterministic (reportlab's invariant mode), so the same data gives the same
bytes and a hash of the data is a valid cache key. Amounts use the Spanish format 1.234,56.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from pipeline.fonts import font_for
from pipeline.payroll import (
    AccrualKind,
    Concept,
    Contribution,
    Deduction,
    PayslipFigures,
    figures_to_json,
)
from pipeline.spanish import MONTHS, long_date

FOOT_TITLE: Final = (
    "DETERMINACIÓN DE LAS BASES DE COTIZACIÓN A LA SEGURIDAD SOCIAL Y CONCEPTOS DE RECAUDACIÓN",
    "CONJUNTA Y DE LA BASE SUJETA A RETENCIÓN DEL IRPF Y APORTACIÓN DE LA EMPRESA",
)
WIDTH, HEIGHT = A4
MARGIN: Final = 34.0
LINE: Final = 10.6  # points between table rows
RENDERER_VERSION: Final = "2"  # bump when the drawing changes: old cached PDFs are redrawn


@dataclass(frozen=True, slots=True)
class PayslipHeader:
    """Who pays whom: the identification blocks of the payslip."""

    company_name: str
    company_address: str
    company_nif: str
    company_ccc: str
    employee_name: str
    employee_nif: str
    employee_naf: str
    professional_group: str
    contribution_group: int
    category: str = ""
    seniority: date | None = None
    contract_type: str = ""


def euros(value: Decimal) -> str:
    """Spanish money format without the sign: 1234.5 → ``1.234,50``."""
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{sign}{'.'.join(groups)},{cents}"


def percent(value: Decimal) -> str:
    """A rate in the Spanish format: 4.7 → ``4,70``."""
    return f"{value:.2f}".replace(".", ",")



def payslip_hash(header: PayslipHeader, figures: PayslipFigures) -> str:
    """sha256 of everything drawn: equal hashes mean the same PDF (the render cache key)."""
    data = {
        "renderer": RENDERER_VERSION,
        "header": {k: str(v) if v is not None else None for k, v in asdict(header).items()},
        "figures": figures_to_json(figures),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def bookmark_title(header: PayslipHeader) -> str:
    return f"{header.employee_name} ({header.employee_nif})"


def sort_key(name: str) -> str:
    """Order by name as a person reads it: case and accents ignored (Á sorts with A)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def render_payslip(header: PayslipHeader, figures: PayslipFigures) -> bytes:
    """One payslip as a one-page PDF."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setTitle(f"Nómina {figures.year}-{figures.month:02d} {header.employee_name}")
    canvas.setAuthor(header.company_name)
    canvas.setSubject("Recibo individual justificativo del pago de salarios")
    _Page(canvas, header, figures).draw()
    canvas.showPage()
    canvas.save()
    return out.getvalue()


class _Page:
    """Draws top to bottom; ``y`` is the baseline of the next row."""

    def __init__(self, canvas: Canvas, header: PayslipHeader, figures: PayslipFigures) -> None:
        self.c = canvas
        self.h = header
        self.f = figures
        self.y = HEIGHT - MARGIN
        self.right = WIDTH - MARGIN
        # Columns of the devengos/deducciones table: concept | importe | totales.
        self.amount_x = self.right - 90
        self.total_x = self.right - 6

    def draw(self) -> None:
        self._identification()
        self._period()
        self._accruals()
        self._deductions()
        self._signatures()
        self._foot()

    # -- primitives --

    def text(self, x: float, text: str, *, bold: bool = False, size: float = 8) -> None:
        self.c.setFont(font_for(text, bold=bold), size)
        self.c.drawString(x, self.y, text)

    def number(self, x: float, text: str, *, bold: bool = False, size: float = 8) -> None:
        self.c.setFont(font_for(text, bold=bold), size)
        self.c.drawRightString(x, self.y, text)

    def row(self, step: float = LINE) -> None:
        self.y -= step

    def box(self, top: float, bottom: float, left: float = MARGIN, right: float = 0) -> None:
        right = right or self.right
        self.c.rect(left, bottom, right - left, top - bottom, stroke=1, fill=0)

    # -- blocks --

    def _identification(self) -> None:
        h = self.h
        self.text(
            MARGIN, "RECIBO INDIVIDUAL JUSTIFICATIVO DEL PAGO DE SALARIOS", bold=True, size=10
        )
        self.row(8)
        top = self.y
        middle = MARGIN + (self.right - MARGIN) / 2
        left = [
            ("Empresa", h.company_name),
            ("Domicilio", h.company_address),
            ("CIF", h.company_nif),
            ("CCC", _spaced_ccc(h.company_ccc)),
        ]
        right = [
            ("Trabajador", h.employee_name),
            ("NIF", h.employee_nif),
            ("Núm. afiliación S.S.", _spaced_naf(h.employee_naf)),
            ("Grupo profesional", h.professional_group or "-"),
            ("Grupo de cotización", str(h.contribution_group)),
            ("Categoría", h.category or "-"),
            ("Antigüedad", h.seniority.strftime("%d/%m/%Y") if h.seniority else "-"),
            ("Contrato", h.contract_type or "-"),
        ]
        self.row(2)
        for index in range(max(len(left), len(right))):
            self.row()
            if index < len(left):
                label, value = left[index]
                self.text(MARGIN + 4, f"{label}:", bold=True)
                self.text(MARGIN + 48, _fit(value, 52))
            label, value = right[index]
            self.text(middle + 4, f"{label}:", bold=True)
            self.text(middle + 88, _fit(value, 44))
        self.row(5)
        self.box(top, self.y, MARGIN, middle)
        self.box(top, self.y, middle, self.right)

    def _period(self) -> None:
        f = self.f
        self.row(13)
        start, end = f.period_start, f.period_end
        self.text(
            MARGIN,
            f"Periodo de liquidación: del {start.day} de {MONTHS[start.month - 1]} "
            f"al {long_date(end)}",
            bold=True,
        )
        self.number(self.right, f"Total días: {f.days}", bold=True)
        self.row(5)

    def _table_head(self, title: str) -> None:
        self.row(12)
        self.text(MARGIN + 4, title, bold=True, size=9)
        self.number(self.amount_x, "IMPORTE", bold=True, size=7)
        self.number(self.total_x, "TOTALES", bold=True, size=7)

    def _accruals(self) -> None:
        top = self.y
        self._table_head("I. DEVENGOS")
        for kind, title in (
            (AccrualKind.SALARIAL, "1. Percepciones salariales"),
            (AccrualKind.NO_SALARIAL, "2. Percepciones no salariales"),
        ):
            self.row()
            self.text(MARGIN + 10, title, bold=True)
            lines = [a for a in self.f.accruals if a.kind == kind]
            for accrual in lines:
                self.row()
                self.text(MARGIN + 20, _fit(accrual.concept, 70))
                self.number(self.amount_x, euros(accrual.amount))
            if not lines:
                self.row()
                self.text(MARGIN + 20, "-")
        self.row(LINE + 3)
        self.text(MARGIN + 4, "A. TOTAL DEVENGADO", bold=True, size=9)
        self.number(self.total_x, f"{euros(self.f.total_accrued)} €", bold=True, size=9)
        self.row(5)
        self.box(top, self.y)

    def _deductions(self) -> None:
        f = self.f
        top = self.y
        self._table_head("II. DEDUCCIONES")
        self.row()
        self.text(
            MARGIN + 10,
            "1. Aportación del trabajador a las cotizaciones a la Seguridad Social y conceptos "
            "de recaudación conjunta",
            bold=True,
        )
        for line in f.worker_contributions:
            self.row()
            self.text(MARGIN + 20, line.concept.label)
            self.number(MARGIN + 300, f"{percent(line.rate)} %")
            self.number(MARGIN + 380, f"base {euros(line.base)}")
            self.number(self.amount_x, euros(line.amount))
        self.row()
        self.text(MARGIN + 20, "Total aportaciones", bold=True)
        self.number(self.total_x, euros(f.total_contributions))
        self.row()
        self.text(MARGIN + 10, "2. Impuesto sobre la renta de las personas físicas", bold=True)
        self.number(MARGIN + 300, f"{percent(f.irpf_rate)} %")
        self.number(MARGIN + 380, f"base {euros(f.bases.irpf)}")
        self.number(self.total_x, euros(f.irpf_amount))
        advances, in_kind, others = _split_deductions(f.other_deductions)
        for number, title, lines in (
            ("3", "Anticipos", advances),
            ("4", "Valor de los productos recibidos en especie", in_kind),
            ("5", "Otras deducciones", others),
        ):
            self.row()
            self.text(MARGIN + 10, f"{number}. {title}", bold=True)
            if len(lines) == 1 and number != "5":
                self.number(self.total_x, euros(lines[0].amount))
                continue
            for line in lines:
                self.row()
                self.text(MARGIN + 20, _fit(line.concept, 70))
                self.number(self.amount_x, euros(line.amount))
            total = sum((d.amount for d in lines), Decimal("0.00"))
            if lines:
                self.number(self.total_x, euros(total))
        self.row(LINE + 3)
        self.text(MARGIN + 4, "B. TOTAL A DEDUCIR", bold=True, size=9)
        self.number(self.total_x, f"{euros(f.total_deductions)} €", bold=True, size=9)
        self.row(5)
        self.box(top, self.y)
        top = self.y
        self.row(14)
        self.text(MARGIN + 4, "LÍQUIDO TOTAL A PERCIBIR (A-B)", bold=True, size=10)
        self.number(self.total_x, f"{euros(f.net)} €", bold=True, size=10)
        self.row(6)
        self.box(top, self.y)

    def _signatures(self) -> None:
        self.row(14)
        self.text(MARGIN + 4, f"Fecha: {long_date(self.f.period_end)}")
        self.text(MARGIN + 200, "Firma y sello de la empresa")
        self.text(MARGIN + 400, "RECIBÍ")
        self.row(26)

    def _foot(self) -> None:
        f, b = self.f, self.f.bases
        top = self.y
        for title in FOOT_TITLE:
            self.row()
            self.text(MARGIN + 4, title, bold=True, size=7)
        self.row()
        base_x, rate_x = self.right - 200, self.right - 110
        self.number(base_x, "BASE", bold=True, size=7)
        self.number(rate_x, "TIPO", bold=True, size=7)
        self.number(self.total_x, "APORTACIÓN EMPRESARIAL", bold=True, size=7)
        employer = {c.concept: c for c in f.employer_contributions}

        def contribution(label: str, line: Contribution | None, indent: float = 20) -> None:
            if line is None:
                return
            self.row()
            self.text(MARGIN + indent, label)
            self.number(base_x, euros(line.base))
            self.number(rate_x, f"{percent(line.rate)} %")
            self.number(self.total_x, euros(line.amount))

        self.row()
        self.text(MARGIN + 4, "1. Contingencias comunes", bold=True)
        self.row()
        self.text(MARGIN + 20, "Importe remuneración mensual")
        self.number(base_x - 90, euros(b.monthly_remuneration))
        self.row()
        self.text(MARGIN + 20, "Importe prorrata pagas extraordinarias")
        self.number(base_x - 90, euros(b.extra_pay_proration))
        contribution("TOTAL", employer.get(Concept.CONTINGENCIAS_COMUNES))
        contribution("MEI (equidad intergeneracional)", employer.get(Concept.MEI))
        self.row()
        self.text(
            MARGIN + 4,
            "2. Contingencias profesionales y conceptos de recaudación conjunta",
            bold=True,
        )
        for concept in (
            Concept.AT_EP,
            Concept.DESEMPLEO,
            Concept.FORMACION_PROFESIONAL,
            Concept.FOGASA,
        ):
            contribution(concept.label, employer.get(concept))
        self.row()
        self.text(MARGIN + 4, "3. Cotización adicional por horas extraordinarias", bold=True)
        overtime = [
            employer.get(Concept.HORAS_EXTRA_FUERZA_MAYOR),
            employer.get(Concept.HORAS_EXTRA),
        ]
        if not any(overtime):
            self.number(base_x, euros(b.overtime))
        contribution("Fuerza mayor", overtime[0])
        contribution("Resto", overtime[1])
        for concept in (Concept.SOLIDARIDAD_1, Concept.SOLIDARIDAD_2, Concept.SOLIDARIDAD_3):
            contribution(concept.label, employer.get(concept), indent=4)
        self.row()
        self.text(MARGIN + 4, "Total aportación empresarial", bold=True)
        self.number(self.total_x, f"{euros(f.employer_total)} €", bold=True)
        self.row()
        self.text(MARGIN + 4, "4. Base sujeta a retención del IRPF", bold=True)
        self.number(base_x, euros(b.irpf))
        self.row(6)
        self.box(top, self.y)


def _split_deductions(
    deductions: Sequence[Deduction],
) -> tuple[list[Deduction], list[Deduction], list[Deduction]]:
    advances, in_kind, others = [], [], []
    for deduction in deductions:
        folded = sort_key(deduction.concept)
        if folded.startswith("anticipo"):
            advances.append(deduction)
        elif "especie" in folded:
            in_kind.append(deduction)
        else:
            others.append(deduction)
    return advances, in_kind, others


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _spaced_naf(naf: str) -> str:
    return f"{naf[:2]}/{naf[2:10]}/{naf[10:]}" if len(naf) == 12 else naf


def _spaced_ccc(ccc: str) -> str:
    return f"{ccc[:2]} {ccc[2:9]} {ccc[9:]}" if len(ccc) == 11 else ccc
