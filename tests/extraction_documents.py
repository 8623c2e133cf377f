"""Realistic Spanish documents with their ground truth, for extraction tests and the benchmark.

Extends ``tests.documents``: supermarket, restaurant, fuel and parking tickets (some with a
Verifactu QR, some "cualificadas" with the buyer's NIF), professional invoices with IRPF,
payslips and AEAT receipts (modelos 303, 111, 130). Each is a list of printed lines in one of
several layouts, rendered as a clean text-layer PDF (several fonts) or as a noisy photo.
Every generator is a pure function of its seed.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import segno
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from tests.documents import (
    CENT,
    CITIES,
    COMPANIES,
    MONTHS,
    PEOPLE,
    STREETS,
    TICKET_FONTS,
    _font,
    _photograph,
    euros,
    make_cif,
    make_dni,
    make_iban,
    spaced_iban,
)

PDF_FONTS = ("Helvetica", "Times-Roman", "Courier")


@dataclass
class GeneratedDocument:
    """Printed lines, the truth an extractor must find, and how to render it."""

    kind: str
    lines: list[str]
    truth: dict[str, Any]
    seed: int
    qr_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _date(rng: random.Random) -> dt.date:
    return dt.date(2025, 1, 2) + dt.timedelta(days=rng.randrange(700))


def _date_text(rng: random.Random, date: dt.date) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"{date:%d/%m/%Y}"
    if style == 1:
        return f"{date:%d-%m-%y}"
    if style == 2:
        return f"{date:%d.%m.%Y}"
    return f"{date.day} de {MONTHS[date.month - 1]} de {date.year}"


def _id_label(rng: random.Random) -> str:
    return rng.choice(["CIF:", "NIF:", "C.I.F.", "N.I.F.:", "CIF"])


def _address(rng: random.Random) -> tuple[str, str]:
    postcode, city = rng.choice(CITIES)
    return f"{rng.choice(STREETS)}, {rng.randint(1, 140)}", f"{postcode} {city}"


def verifactu_url(nif: str, number: str, date: dt.date, total: Decimal) -> str:
    """The AEAT Verifactu QR URL (Orden HAC/1177/2024) for an invoice."""
    from urllib.parse import quote

    amount = f"{total:.2f}"
    return (
        "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR?"
        f"nif={nif}&numserie={quote(number, safe='')}&fecha={date:%d-%m-%Y}&importe={amount}"
    )


# --- tickets -------------------------------------------------------------------------------

SUPERMARKET_ITEMS = (
    ("LECHE SEMI 1L", 4, 0.85, 1.30),
    ("PAN BARRA", 4, 0.60, 1.10),
    ("HUEVOS L 12U", 4, 2.1, 3.2),
    ("ACEITE OLIVA 1L", 4, 6.5, 9.9),
    ("YOGUR NATURAL 4U", 10, 1.1, 2.2),
    ("PASTA ESPAGUETI", 10, 0.8, 1.6),
    ("POLLO ENTERO KG", 10, 3.9, 6.5),
    ("DETERGENTE 3L", 21, 4.5, 9.5),
    ("PAPEL COCINA 2R", 21, 1.5, 3.2),
    ("AGUA 6X1,5L", 10, 1.8, 3.0),
    ("CERVEZA PACK 6", 21, 3.5, 6.5),
)
SUPERMARKETS = ("SUPERMERCADOS ALDEA", "HIPER AHORRO", "MERCADO DEL SOL", "FAMILIA MARKET")
RESTAURANTS = ("RESTAURANTE EL OLIVO", "ASADOR LA BRASA", "TABERNA DEL PUERTO", "BAR CENTRAL")
DISHES = (
    ("MENU DEL DIA", 11.0, 16.0),
    ("ENTRECOT", 16.0, 24.0),
    ("ENSALADA", 6.0, 10.0),
    ("CAÑA", 1.8, 2.8),
    ("VINO TINTO COPA", 2.5, 4.5),
    ("CAFE SOLO", 1.2, 1.8),
    ("POSTRE CASERO", 3.5, 5.5),
    ("AGUA 50CL", 1.5, 2.2),
)
STATIONS = ("ESTACION DE SERVICIO LA VEGA", "GASOLINERA RUTA 66", "E.S. LOS PINOS")
PARKINGS = ("APARCAMIENTO PLAZA MAYOR", "PARKING ESTACION CENTRO", "APARCAMIENTO HOSPITAL")


def _ticket(rng: random.Random, seed: int, kind: str) -> GeneratedDocument:
    cif = make_cif(rng)
    date = _date(rng)
    number = (
        f"{rng.choice(['T', 'FS', 'A', ''])}{rng.randint(1, 40):03d}-{rng.randrange(10**6):06d}"
    )
    street, town = _address(rng)
    rows: list[tuple[str, int, Decimal]] = []  # (description, vat rate, amount incl. VAT)
    header: list[str] = []
    extra_lines: list[str] = []
    if kind == "supermarket":
        name = rng.choice(SUPERMARKETS)
        for desc, rate, low, high in rng.sample(SUPERMARKET_ITEMS, rng.randint(3, 7)):
            rows.append((desc, rate, _q(Decimal(str(rng.uniform(low, high))))))
    elif kind == "restaurant":
        name = rng.choice(RESTAURANTS)
        covers = rng.randint(1, 6)
        header = [
            f"MESA: {rng.randint(1, 30)}  COMENSALES: {covers}",
            f"CAMARERO: {rng.choice(['ANA', 'LUIS', 'PEPE', 'MARTA'])}",
        ]
        for desc, low, high in rng.sample(DISHES, rng.randint(2, 5)):
            qty = rng.randint(1, covers)
            rows.append((f"{qty} {desc}", 10, _q(qty * Decimal(str(rng.uniform(low, high))))))
    elif kind == "fuel":
        name = rng.choice(STATIONS)
        product = rng.choice(["GASOLEO A", "GASOLINA 95", "GASOLINA 98"])
        price = _q(Decimal(str(rng.uniform(1.35, 1.85))) * 1000) / 1000
        litres = _q(Decimal(str(rng.uniform(15, 60))))
        header = [
            f"SURTIDOR: {rng.randint(1, 8)}  PRODUCTO: {product}",
            f"LITROS: {euros(litres)}  PRECIO/L: {price:.3f}".replace(".", ","),
        ]
        rows.append((product, 21, _q(litres * price)))
    else:
        name = rng.choice(PARKINGS)
        minutes = rng.randint(20, 600)
        entry = dt.datetime.combine(date, dt.time(rng.randint(7, 12), rng.randrange(60)))
        leave = entry + dt.timedelta(minutes=minutes)
        header = [
            f"ENTRADA: {entry:%d/%m/%Y %H:%M}",
            f"SALIDA: {leave:%H:%M}",
            f"TIEMPO DE ESTANCIA: {minutes // 60}h {minutes % 60:02d}m",
        ]
        rows.append(("ESTANCIA", 21, _q(Decimal(minutes) * Decimal("0.041"))))
    total = sum((amount for _, _, amount in rows), Decimal("0.00"))
    by_rate: dict[int, Decimal] = {}
    for _, rate, amount in rows:
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + amount
    buyer = make_cif(rng) if rng.random() < 0.2 else None
    with_qr = rng.random() < 0.35
    total_label = rng.choice(["TOTAL", "TOTAL A PAGAR", "TOTAL (€)", "IMPORTE TOTAL", "TOTAL EUR"])
    lines = [name, f"{name.title()} S.L.", f"{_id_label(rng)} {cif}", street, town]
    if kind == "parking":
        lines.append(f"TICKET Nº {number}")
    else:
        lines += ["FACTURA SIMPLIFICADA", f"Nº: {number}"]
    lines.append(
        f"Fecha: {_date_text(rng, date)}  {rng.randint(8, 22):02d}:{rng.randrange(60):02d}"
    )
    lines += header
    if buyer:
        lines.append(f"NIF CLIENTE: {buyer}")
    for desc, _, amount in rows:
        lines.append(f"{desc}  {euros(amount)}")
    lines.append(f"{total_label}  {euros(total)}{rng.choice([' €', '', ' EUR'])}")
    if len(by_rate) == 1 and rng.random() < 0.5:
        rate = next(iter(by_rate))
        base = _q(total / (1 + Decimal(rate) / 100))
        lines += [f"IVA {rate}% INCLUIDO", f"BASE {euros(base)} CUOTA {euros(total - base)}"]
    else:
        lines.append("IVA   BASE   CUOTA")
        for rate, gross in sorted(by_rate.items()):
            base = _q(gross / (1 + Decimal(rate) / 100))
            lines.append(f"{rate}%  {euros(base)}  {euros(gross - base)}")
    payment = rng.choice(["TARJETA", "EFECTIVO", "VISA CONTACTLESS"])
    if payment == "EFECTIVO":
        tendered = next(Decimal(n) for n in (5, 10, 20, 50, 100, 200, 500) if n >= total)
        lines += [f"ENTREGADO  {euros(tendered)}", f"CAMBIO  {euros(tendered - total)}"]
    else:
        lines.append(f"{payment}  {euros(total)}")
    lines += [*extra_lines, rng.choice(["Gracias por su visita", "GRACIAS POR SU COMPRA"])]
    truth = {
        "category": "ticket",
        "issuer_tax_id": cif,
        "issue_date": date.isoformat(),
        "total": str(total),
        "invoice_number": number,
        "recipient_tax_id": buyer,
        "payment_method": "efectivo" if payment == "EFECTIVO" else "tarjeta",
    }
    return GeneratedDocument(
        f"ticket_{kind}",
        lines,
        truth,
        seed,
        verifactu_url(cif, number, date, total) if with_qr else None,
    )


def make_supermarket_ticket(seed: int) -> GeneratedDocument:
    return _ticket(random.Random(seed), seed, "supermarket")


def make_restaurant_ticket(seed: int) -> GeneratedDocument:
    return _ticket(random.Random(seed), seed, "restaurant")


def make_fuel_ticket(seed: int) -> GeneratedDocument:
    return _ticket(random.Random(seed), seed, "fuel")


def make_parking_ticket(seed: int) -> GeneratedDocument:
    return _ticket(random.Random(seed), seed, "parking")


# --- professional invoice with IRPF ---------------------------------------------------------

PROFESSIONS = (
    ("Asesoría fiscal y contable", "Honorarios asesoría trimestre"),
    ("Abogada", "Honorarios procedimiento"),
    ("Arquitecto", "Dirección de obra"),
    ("Consultor informático", "Desarrollo de software, horas"),
    ("Traductora jurada", "Traducción jurada de documentos"),
)


def make_professional_invoice(
    seed: int, *, company_nif: str | None = None, issued: bool = False
) -> GeneratedDocument:
    """An invoice from a self-employed professional: IVA 21 % and IRPF 15 % or 7 %.

    ``issued=True`` makes the client company (``company_nif``) the issuer.
    """
    rng = random.Random(seed)
    person = rng.choice(PEOPLE)
    profession, concept = rng.choice(PROFESSIONS)
    issuer = company_nif if issued and company_nif else make_dni(rng)
    client_nif = make_cif(rng) if issued or not company_nif else company_nif
    client = f"{rng.choice(COMPANIES)} S.L."
    date = _date(rng)
    base = _q(Decimal(str(rng.uniform(150, 4000))))
    irpf_rate = rng.choice([15, 15, 15, 7])
    vat = _q(base * Decimal("0.21"))
    irpf = _q(base * irpf_rate / 100)
    total = base + vat - irpf
    number = f"{date.year}-{rng.randint(1, 300):03d}"
    street, town = _address(rng)
    cstreet, ctown = _address(rng)
    iban = make_iban(rng)
    layout = rng.randrange(2)
    head = [
        person if not issued else f"{rng.choice(COMPANIES)} S.L.",
        profession,
        f"{_id_label(rng)} {issuer}",
        street,
        town,
    ]
    ident = [
        f"FACTURA Nº {number}" if layout else "FACTURA",
        *([] if layout else [f"Número de factura: {number}"]),
        f"Fecha de expedición: {_date_text(rng, date)}",
    ]
    client_block = ["Cliente:", client, f"NIF: {client_nif}", cstreet, ctown]
    blocks = [head, ident, client_block] if layout else [ident, head, client_block]
    lines = [line for block in blocks for line in block]
    lines += [
        "Concepto  Importe",
        f"{concept}  {euros(base)} €",
        f"Base imponible  {euros(base)} €",
        f"IVA 21 %  {euros(vat)} €",
        f"Retención IRPF {irpf_rate} %  -{euros(irpf)} €",
        f"{rng.choice(['TOTAL FACTURA', 'TOTAL A PAGAR', 'TOTAL'])}  {euros(total)} €",
        "Forma de pago: transferencia bancaria",
        f"IBAN: {spaced_iban(iban)}",
    ]
    truth = {
        "category": "factura_emitida" if issued else "factura_recibida",
        "issuer_tax_id": issuer,
        "recipient_tax_id": client_nif,
        "issue_date": date.isoformat(),
        "total": str(total),
        "invoice_number": number,
        "irpf_rate": str(irpf_rate),
        "irpf_amount": str(irpf),
        "iban": iban,
    }
    return GeneratedDocument(
        "invoice_irpf",
        lines,
        truth,
        seed,
        extra={"company_nif": client_nif if not issued else issuer},
    )


# --- payslip -------------------------------------------------------------------------------


def make_payslip(seed: int) -> GeneratedDocument:
    """A payslip in the 2014 official layout (Orden ESS/2098/2014), 2025-2026 rates."""
    rng = random.Random(seed)
    company, cif, dni = f"{rng.choice(COMPANIES)} S.L.", make_cif(rng), make_dni(rng)
    month = rng.randint(1, 12)
    year = rng.choice([2025, 2026])
    first = dt.date(year, month, 1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    salary = _q(Decimal(str(rng.uniform(1200, 3500))))
    plus = _q(Decimal(str(rng.uniform(0, 300))))
    gross = salary + plus
    base_cc = _q(gross * 14 / 12)
    ss = _q(base_cc * Decimal("0.0650"))
    irpf_rate = Decimal(rng.choice(["8.00", "10.50", "12.00", "14.37", "16.00"]))
    irpf = _q(gross * irpf_rate / 100)
    net = gross - ss - irpf
    lines = [
        "RECIBO INDIVIDUAL JUSTIFICATIVO DEL PAGO DE SALARIOS",
        f"Empresa: {company}",
        f"CIF: {cif}",
        f"CCC: 28/{rng.randrange(10**7):07d}/{rng.randint(10, 99)}",
        f"Trabajador: {rng.choice(PEOPLE)}",
        f"NIF: {dni}",
        f"Núm. afiliación S.S.: 28/{rng.randrange(10**8):08d}/{rng.randint(10, 99)}",
        f"Grupo de cotización: {rng.randint(1, 7)}",
        f"Periodo de liquidación: del {first:%d/%m/%Y} al {last:%d/%m/%Y}  Total días 30",
        "I. DEVENGOS",
        f"Salario base  {euros(salary)}",
        f"Plus convenio  {euros(plus)}",
        f"A. TOTAL DEVENGADO  {euros(gross)}",
        "II. DEDUCCIONES",
        f"Contingencias comunes 4,70 %  {euros(_q(base_cc * Decimal('0.047')))}",
        f"Total aportaciones  {euros(ss)}",
        f"Impuesto sobre la Renta de las Personas Físicas {euros(irpf_rate)} %  {euros(irpf)}",
        f"B. TOTAL A DEDUCIR  {euros(ss + irpf)}",
        f"LÍQUIDO TOTAL A PERCIBIR (A-B)  {euros(net)}",
        f"Base sujeta a retención del IRPF  {euros(gross)}",
        "Firma y sello de la Empresa      RECIBÍ",
    ]
    truth = {
        "category": "nomina",
        "issuer_tax_id": cif,
        "employee_tax_id": dni,
        "period": f"{year}-{month:02d}",
        "gross": str(gross),
        "net": str(net),
        "issue_date": None,
        "total": None,
    }
    return GeneratedDocument("payslip", lines, truth, seed)


# --- AEAT receipts -------------------------------------------------------------------------

MODELS = {
    "303": "Impuesto sobre el Valor Añadido. Autoliquidación",
    "111": "Retenciones e ingresos a cuenta. Rendimientos del trabajo y de actividades "
    "económicas. Autoliquidación",
    "130": "IRPF. Empresarios y profesionales en estimación directa. Pago fraccionado",
}


def make_aeat_receipt(seed: int, model: str | None = None) -> GeneratedDocument:
    """A "justificante de presentación" of modelo 303, 111 or 130."""
    rng = random.Random(seed)
    model = model or rng.choice(sorted(MODELS))
    nif = make_dni(rng) if model == "130" else make_cif(rng)
    year = rng.choice([2024, 2025, 2026])
    period = f"{rng.randint(1, 4)}T"
    csv = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(16))
    receipt = model + "".join(str(rng.randrange(10)) for _ in range(10))
    result, label = rng.choice(
        [
            ("a_ingresar", "A ingresar"),
            ("a_devolver", "A devolver"),
            ("a_compensar", "A compensar"),
            ("sin_actividad", "Sin actividad"),
        ]
    )
    amount = Decimal(0) if result == "sin_actividad" else _q(Decimal(str(rng.uniform(50, 9000))))
    filed = dt.date(
        year + (period == "4T"), {"1T": 4, "2T": 7, "3T": 10, "4T": 1}[period], rng.randint(1, 20)
    )
    lines = [
        "Agencia Tributaria",
        "Justificante de presentación",
        f"Modelo {model} - {MODELS[model]}",
        f"Número de justificante: {receipt}",
        f"Código Seguro de Verificación: {csv}",
        f"Presentación realizada el: {filed:%d-%m-%Y} a las {rng.randint(8, 20):02d}:15:02",
        f"NIF declarante: {nif}",
        f"Ejercicio: {year}",
        f"Periodo: {period}",
        f"Resultado de la declaración: {label}  {euros(amount)} €",
    ]
    truth = {
        "category": "modelo_aeat",
        "model": model,
        "fiscal_year": year,
        "period": period,
        "csv": csv,
        "receipt_number": receipt,
        "result": result,
        "issuer_tax_id": nif,
        "issue_date": None,
        "total": None,
    }
    return GeneratedDocument(f"modelo_{model}", lines, truth, seed)


# --- rendering -----------------------------------------------------------------------------


def _qr_image(url: str, scale: int) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=scale, border=2)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def document_pdf_bytes(document: GeneratedDocument) -> bytes:
    """A clean A4 PDF with a text layer (font by seed), and the QR when there is one."""
    rng = random.Random(document.seed * 31 + 7)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    width, height = A4
    face = rng.choice(PDF_FONTS)
    size = rng.choice([9, 10, 11])
    y = height - rng.randint(50, 80)
    if document.qr_url:
        from reportlab.lib.utils import ImageReader

        pdf.setFont(face, 8)
        pdf.drawString(width - 150, height - 40, "QR tributario:")
        pdf.drawImage(
            ImageReader(_qr_image(document.qr_url, 4)), width - 150, height - 150, 100, 100
        )
    left = rng.randint(40, 80)
    for line in document.lines:
        pdf.setFont(face, size)
        pdf.drawString(left, y, line)
        y -= size * 1.5
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def document_paper(document: GeneratedDocument) -> Image.Image:
    """The document printed on narrow paper (thermal-printer fonts), QR on top if any."""
    rng = random.Random(document.seed * 7919 + 3)
    size = rng.randint(30, 36)
    font = _font(rng.choice(TICKET_FONTS), size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    margin = rng.randint(30, 50)
    width = max(
        int(max(probe.textlength(line, font=font) for line in document.lines)) + 2 * margin, 620
    )
    line_h = int(size * rng.uniform(1.35, 1.55))
    qr = _qr_image(document.qr_url, 6) if document.qr_url else None
    top = margin + (qr.height + 10 if qr else 0)
    paper = Image.new(
        "RGB", (width, top + line_h * (len(document.lines) + 1) + margin), (248, 248, 242)
    )
    draw = ImageDraw.Draw(paper)
    if qr is not None:
        paper.paste(qr, ((width - qr.width) // 2, margin))
    y = top
    for line in document.lines:
        draw.text((margin, y), line, font=font, fill=(30, 30, 30))
        y += line_h
    return paper


def document_photo_bytes(document: GeneratedDocument) -> bytes:
    """A phone photo (JPEG) of the printed document: perspective, uneven light, noise, blur."""
    rng = random.Random(document.seed * 104729 + 5)
    image = _photograph(document_paper(document), rng, rng.uniform(-2.0, 2.0))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


GENERATORS = {
    "ticket_supermarket": make_supermarket_ticket,
    "ticket_restaurant": make_restaurant_ticket,
    "ticket_fuel": make_fuel_ticket,
    "ticket_parking": make_parking_ticket,
    "invoice_irpf": make_professional_invoice,
    "payslip": make_payslip,
    "modelo_aeat": make_aeat_receipt,
}
