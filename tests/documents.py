"""Realistic, deterministic test documents: receipts (tickets), invoices and hostile inputs.

Every generator is a pure function of its seed (``random.Random(seed)``), so a failing test
can be reproduced from the seed alone. Shared by the pipeline unit tests and by the
integration and end-to-end tests of the other packages.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import struct
import zlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Final

import pillow_heif
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from stdnum import iban as iban_mod
from stdnum.es import ccc, cif, dni

pillow_heif.register_heif_opener()

CENT = Decimal("0.01")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Thermal printers print a monospaced, often bold face; a few shops use proportional fonts.
TICKET_FONTS = (
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSans.ttf",
    "DejaVuSansCondensed-Bold.ttf",
)

# (trade name, legal suffix, VAT rate, items with (description, price range in euros))
MERCHANTS: tuple[tuple[str, str, int, tuple[tuple[str, float, float], ...]], ...] = (
    (
        "PANADERÍA LA ESPIGA",
        "S.L.",
        4,
        (
            ("BARRA PAN", 0.8, 1.4),
            ("PAN INTEGRAL", 1.5, 2.9),
            ("HOGAZA CENTENO", 2.5, 4.5),
            ("LECHE ENTERA 1L", 0.9, 1.3),
            ("HUEVOS DOCENA", 2.2, 3.4),
        ),
    ),
    (
        "BAR EL RINCÓN",
        "S.L.",
        10,
        (
            ("CAFÉ CON LECHE", 1.3, 1.9),
            ("TOSTADA TOMATE", 1.8, 2.8),
            ("CAÑA CERVEZA", 1.6, 2.5),
            ("MENÚ DEL DÍA", 11.0, 15.5),
            ("AGUA MINERAL", 1.2, 2.0),
        ),
    ),
    (
        "FERRETERÍA GARCÍA",
        "S.A.",
        21,
        (
            ("TORNILLOS 4X40", 2.1, 4.9),
            ("CINTA AISLANTE", 1.5, 3.2),
            ("BROCA HSS 6MM", 2.9, 5.5),
            ("BOMBILLA LED E27", 3.5, 7.9),
            ("PILAS AA 4U", 3.9, 6.5),
        ),
    ),
    (
        "CAFETERÍA MIRAMAR",
        "S.L.",
        10,
        (
            ("CORTADO", 1.2, 1.7),
            ("CROISSANT", 1.4, 2.2),
            ("ZUMO NARANJA", 2.5, 3.8),
            ("BOCADILLO JAMÓN", 3.9, 5.9),
            ("INFUSIÓN", 1.3, 1.8),
        ),
    ),
    (
        "LIBRERÍA CERVANTES",
        "S.L.",
        4,
        (
            ("LIBRO BOLSILLO", 8.9, 12.9),
            ("PERIÓDICO", 1.5, 2.5),
            ("REVISTA", 3.5, 6.0),
            ("ATLAS ESCOLAR", 15.0, 24.0),
        ),
    ),
    (
        "RESTAURANTE CASA PEPE",
        "S.L.",
        10,
        (
            ("PAELLA VALENCIANA", 12.0, 18.0),
            ("ENSALADA MIXTA", 6.5, 9.5),
            ("VINO TINTO", 2.5, 4.0),
            ("FLAN CASERO", 3.5, 5.0),
            ("PAN Y ALIOLI", 1.5, 2.5),
        ),
    ),
    (
        "PAPELERÍA ALBORAN",
        "S.L.",
        21,
        (
            ("CUADERNO A4", 2.2, 4.5),
            ("BOLÍGRAFO AZUL", 0.8, 1.6),
            ("CARPETA ANILLAS", 3.5, 6.9),
            ("PAPEL A4 500H", 4.5, 7.5),
            ("GRAPADORA", 5.9, 11.0),
        ),
    ),
    (
        "FRUTERÍA VALDÉS",
        "C.B.",
        4,
        (
            ("NARANJAS KG", 1.2, 2.3),
            ("MANZANA GOLDEN KG", 1.5, 2.6),
            ("PATATAS KG", 0.9, 1.6),
            ("TOMATE PERA KG", 1.8, 3.2),
            ("PLÁTANO KG", 1.9, 2.9),
        ),
    ),
)
STREETS = (
    "C/ Mayor",
    "Avda. de la Constitución",
    "Plaza de España",
    "C/ Real",
    "C/ San Vicente",
    "Paseo de Gracia",
    "C/ Alcalá",
    "Ronda de Segovia",
    "C/ Colón",
    "Avda. del Puerto",
)
CITIES = (
    ("28013", "Madrid"),
    ("46001", "Valencia"),
    ("41001", "Sevilla"),
    ("50001", "Zaragoza"),
    ("15001", "A Coruña"),
    ("37001", "Salamanca"),
    ("08007", "Barcelona"),
    ("29001", "Málaga"),
)
COMPANIES = (
    "Suministros Levante",
    "Consultoría Ibérica",
    "Transportes Hermanos Ruiz",
    "Distribuciones Cantábrico",
    "Reformas Altamira",
    "Gráficas Mediterráneo",
    "Asesores Tajo",
    "Talleres Guadiana",
)
PEOPLE = (
    "María López Fernández",
    "Javier Martín Soto",
    "Lucía Gómez Navarro",
    "Antonio Ruiz Castillo",
    "Carmen Ortega Blanco",
)
SERVICES = (
    ("Servicio de mantenimiento mensual", 80, 450),
    ("Horas de consultoría", 45, 90),
    ("Material de oficina", 5, 60),
    ("Transporte de mercancías", 120, 900),
    ("Licencia de software anual", 150, 1200),
    ("Reparación de maquinaria", 90, 700),
    ("Impresión de folletos (1000 uds.)", 60, 300),
    ("Alquiler de equipo", 40, 350),
)
MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


# --- identifiers and formatting ------------------------------------------------------------


def make_cif(rng: random.Random, letter: str | None = None) -> str:
    """A valid Spanish CIF (company tax id) with a real check character."""
    letter = letter or rng.choice("ABBBBBBEFGHJ")  # mostly S.L. (B), as in real life
    body = f"{rng.choice([8, 28, 41, 46, 50, 15, 37, 29]):02d}{rng.randrange(100000):05d}"
    digit, char = cif.calc_check_digits(letter + body)
    # A, B, E, H take a digit; P, Q, R, S, N, W a letter; the rest either (we use the digit).
    return letter + body + (char if letter in "PQRSNW" else digit)


def make_dni(rng: random.Random) -> str:
    """A valid DNI (NIF of a Spanish person)."""
    number = f"{rng.randrange(1, 99_999_999):08d}"
    return number + dni.calc_check_digit(number)


def make_iban(rng: random.Random) -> str:
    """A valid Spanish IBAN (compact), with correct CCC and IBAN check digits."""
    bank_branch = f"{rng.choice([2100, 182, 49, 81, 2038, 128]):04d}{rng.randrange(10000):04d}"
    account = f"{rng.randrange(10**10):010d}"
    dc = ccc.calc_check_digits(bank_branch + "00" + account)
    bban = bank_branch + dc + account
    return "ES" + iban_mod.calc_check_digits("ES00" + bban) + bban


def with_wrong_check(tax_id: str) -> str:
    """The same id with a wrong check character (for validation tests)."""
    last = tax_id[-1]
    alphabet = "0123456789" if last.isdigit() else "TRWAGMYFPDXBNJZSQVHLCKE"
    return tax_id[:-1] + alphabet[(alphabet.index(last) + 1) % len(alphabet)]


def euros(value: Decimal) -> str:
    """Spanish amount: thousands dot and decimal comma ("1.234,56")."""
    text = f"{value.quantize(CENT):,.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def spaced_iban(value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def _price(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(str(round(rng.uniform(low, high), 2))).quantize(CENT)


def _date(rng: random.Random) -> dt.date:
    return dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(730))


# --- tickets -------------------------------------------------------------------------------


@dataclass
class Ticket:
    """A simplified invoice (receipt) as printed by a shop's till."""

    merchant: str
    cif: str
    address: str
    number: str
    date: dt.date
    lines: list[tuple[str, int, Decimal]]
    vat_rate: int
    total: Decimal
    words: tuple[str, ...]
    legal_name: str = ""
    time: str = "10:00"
    payment: str = "TARJETA"
    tendered: Decimal | None = None
    seed: int = 0

    @property
    def base(self) -> Decimal:
        return (self.total / (1 + Decimal(self.vat_rate) / 100)).quantize(CENT, ROUND_HALF_UP)

    @property
    def vat_amount(self) -> Decimal:
        return self.total - self.base

    @property
    def total_text(self) -> str:
        """The total as printed, e.g. "12,35"."""
        return euros(self.total)


def make_ticket(seed: int) -> Ticket:
    """A varied but deterministic receipt: merchant, items, VAT rate, date, payment."""
    rng = random.Random(seed)
    name, suffix, vat_rate, items = rng.choice(MERCHANTS)
    postcode, city = rng.choice(CITIES)
    address = f"{rng.choice(STREETS)}, {rng.randint(1, 140)} - {postcode} {city}"
    lines = []
    for description, low, high in rng.sample(items, rng.randint(2, min(5, len(items)))):
        lines.append((description, rng.choice([1, 1, 1, 2, 3]), _price(rng, low, high)))
    total = sum((qty * price for _, qty, price in lines), Decimal("0.00"))
    payment = rng.choice(["TARJETA", "EFECTIVO"])
    tendered = None
    if payment == "EFECTIVO":
        tendered = next(Decimal(n) for n in (5, 10, 20, 50, 100, 200) if n >= total)
    # The distinctive word of the trade name (not "BAR", "DE"...) is what OCR must recover.
    words = tuple(w for w in name.split() if len(w) >= 5)
    return Ticket(
        merchant=name,
        cif=make_cif(rng),
        address=address,
        number=f"T{rng.randint(1, 40):03d}-{rng.randrange(1_000_000):06d}",
        date=_date(rng),
        lines=lines,
        vat_rate=vat_rate,
        total=total,
        words=words,
        legal_name=f"{name.title()} {suffix}",
        time=f"{rng.randint(8, 21):02d}:{rng.randrange(60):02d}",
        payment=payment,
        tendered=tendered,
        seed=seed,
    )


def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / name
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _ticket_rows(ticket: Ticket) -> list[tuple[str, str, str]]:
    """(style, left, right) rows; style is "center", "big", "row" or "rule"."""
    rows: list[tuple[str, str, str]] = [
        ("big", ticket.merchant, ""),
        ("center", ticket.legal_name, ""),
        ("center", f"CIF: {ticket.cif}", ""),
        ("center", ticket.address.split(" - ")[0], ""),
        ("center", ticket.address.split(" - ")[1], ""),
        ("rule", "", ""),
        ("row", "FACTURA SIMPLIFICADA", ""),
        ("row", f"Nº: {ticket.number}", ""),
        ("row", f"Fecha: {ticket.date:%d/%m/%Y}", ticket.time),
        ("rule", "", ""),
    ]
    for description, qty, price in ticket.lines:
        rows.append(("row", f"{qty} x {description}", euros(qty * price)))
    rows += [
        ("rule", "", ""),
        ("total", "TOTAL", f"{euros(ticket.total)} €"),
        ("row", f"IVA {ticket.vat_rate}% INCLUIDO", ""),
        ("row", f"BASE {euros(ticket.base)}", f"CUOTA {euros(ticket.vat_amount)}"),
        ("row", ticket.payment, euros(ticket.tendered or ticket.total)),
    ]
    if ticket.tendered is not None:
        rows.append(("row", "CAMBIO", euros(ticket.tendered - ticket.total)))
    rows += [("rule", "", ""), ("center", "Gracias por su visita", "")]
    return rows


def ticket_text(ticket: Ticket) -> str:
    """The text printed on the receipt, line by line (what a perfect OCR would return)."""
    return "\n".join(
        f"{left} {right}".strip() for style, left, right in _ticket_rows(ticket) if style != "rule"
    )


def _draw_paper(ticket: Ticket) -> Image.Image:
    rng = random.Random(ticket.seed * 7919 + 1)
    size = rng.randint(32, 38)  # font size in px: capitals ~24-28 px, as a 300 dpi scan
    face = rng.choice(TICKET_FONTS)
    font, big = _font(face, size), _font(face, int(size * 1.25))
    rows = _ticket_rows(ticket)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    gap = 2 * size
    needed = max(
        probe.textlength(left, font=big if style in {"big", "total"} else font)
        + (gap + probe.textlength(right, font=font) if right else 0)
        for style, left, right in rows
    )
    margin = rng.randint(30, 50)
    width = max(int(needed) + 2 * margin, rng.randint(560, 760))
    line_h = int(size * rng.uniform(1.35, 1.55))
    height = margin * 2 + line_h * (len(rows) + 2)
    tone = rng.randint(242, 252)
    paper = Image.new("RGB", (width, height), (tone, tone, tone - rng.randint(4, 12)))
    draw = ImageDraw.Draw(paper)
    ink = (rng.randint(15, 45),) * 3
    y = margin
    for style, left, right in rows:
        face_font = big if style in {"big", "total"} else font
        if style == "rule":
            draw.line((margin, y + line_h // 2, width - margin, y + line_h // 2), fill=ink, width=2)
        elif style in {"big", "center"}:
            x = (width - probe.textlength(left, font=face_font)) / 2
            draw.text((x, y), left, font=face_font, fill=ink)
        else:
            draw.text((margin, y), left, font=face_font, fill=ink)
            if right:
                x = width - margin - probe.textlength(right, font=face_font)
                draw.text((x, y), right, font=face_font, fill=ink)
        y += int(line_h * (1.3 if style in {"big", "total"} else 1))
    return paper


def _noise(rng: random.Random, size: tuple[int, int], sigma: float) -> Image.Image:
    """Deterministic, roughly gaussian noise centred on 128 (mean of four uniforms)."""
    width, height = size
    planes = [Image.frombytes("L", size, rng.randbytes(width * height)) for _ in range(4)]
    mean = ImageChops.add(
        ImageChops.add(planes[0], planes[1], scale=2.0),
        ImageChops.add(planes[2], planes[3], scale=2.0),
        scale=2.0,
    )
    factor = sigma / 36.8  # std of the mean of four uniform bytes
    return mean.point(lambda v: 128 + (v - 128) * factor)


def ticket_image(
    ticket: Ticket, *, rotate: int = 0, skew: float = 0.0, photo: bool = True
) -> Image.Image:
    """Draw ``ticket`` as a narrow thermal receipt (RGB).

    ``photo=True`` makes it look photographed on a table: darker background, slight
    perspective, uneven light, noise and blur. ``skew`` tilts the paper by that many
    degrees (counter-clockwise); ``rotate`` (0/90/180/270) turns the whole picture clockwise,
    as a phone held sideways would.
    """
    rng = random.Random(ticket.seed * 104729 + 17)
    paper = _draw_paper(ticket)
    if not photo:
        image = paper
        if skew:
            image = image.rotate(skew, Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    else:
        image = _photograph(paper, rng, skew)
    if rotate % 360:
        image = image.rotate(-(rotate % 360), expand=True)
    return image


def _photograph(paper: Image.Image, rng: random.Random, skew: float) -> Image.Image:
    tilted = paper.convert("RGBA").rotate(skew, Image.Resampling.BICUBIC, expand=True)
    mx, my = rng.randint(60, 160), rng.randint(60, 160)
    table = rng.choice([(92, 72, 54), (70, 74, 80), (120, 110, 95), (45, 50, 60)])
    scene = Image.new("RGB", (tilted.width + 2 * mx, tilted.height + 2 * my), table)
    scene.paste(tilted, (mx, my), tilted)
    width, height = scene.size

    # Perspective: the source quadrilateral's corners move a few percent.
    def jitter(limit: float) -> float:
        return rng.uniform(-limit, limit)

    dx, dy = width * 0.02, height * 0.015
    quad = (
        jitter(dx),
        jitter(dy),
        jitter(dx),
        height + jitter(dy),
        width + jitter(dx),
        height + jitter(dy),
        width + jitter(dx),
        jitter(dy),
    )
    scene = scene.transform(
        scene.size, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC, fillcolor=table
    )

    # Uneven light: a gradient from ~80 % to 100 % brightness at a random angle.
    diagonal = int((width**2 + height**2) ** 0.5) + 2
    light = Image.linear_gradient("L").resize((diagonal, diagonal))
    light = light.rotate(rng.uniform(0, 360), Image.Resampling.BILINEAR)
    left, top = (diagonal - width) // 2, (diagonal - height) // 2
    light = light.crop((left, top, left + width, top + height))
    light = light.point(lambda v: 205 + v * 50 // 255)
    scene = ImageChops.multiply(scene, Image.merge("RGB", (light, light, light)))

    noise = _noise(rng, scene.size, sigma=rng.uniform(4, 7))
    scene = ImageChops.add(scene, Image.merge("RGB", (noise, noise, noise)), offset=-128)
    return scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.7)))


# EXIF orientation -> the transpose that makes the stored pixels from the upright picture.
_EXIF_INVERSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def ticket_photo_bytes(
    ticket: Ticket,
    *,
    fmt: str = "JPEG",
    rotate: int = 0,
    skew: float = 0.0,
    exif_orientation: int | None = None,
    dpi: int | None = None,
) -> bytes:
    """Encode a photographed ticket as a JPEG, PNG, HEIC, WEBP or TIFF file.

    With ``exif_orientation`` the pixels are stored turned (as a camera does) and the EXIF
    Orientation tag says how to show them upright. ``dpi`` is written when the format can
    carry it; without it the file declares no resolution (like most phone photos).
    """
    image = ticket_image(ticket, rotate=rotate, skew=skew, photo=True)
    params: dict[str, object] = {}
    if exif_orientation is not None and exif_orientation != 1:
        image = image.transpose(_EXIF_INVERSE[exif_orientation])
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        params["exif"] = exif.tobytes()
    if dpi is not None and fmt.upper() in {"JPEG", "PNG", "TIFF"}:
        params["dpi"] = (dpi, dpi)
    fmt = fmt.upper()
    if fmt == "JPEG":
        params["quality"] = 88
    elif fmt == "WEBP":
        params["quality"] = 90
    elif fmt == "TIFF":
        params["compression"] = "tiff_lzw"
    elif fmt in {"HEIC", "HEIF"}:
        fmt, params["quality"] = "HEIF", 90
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def image_bytes(image: Image.Image, fmt: str, **params: object) -> bytes:
    """Encode any PIL image (e.g. a multi-page TIFF with ``save_all``/``append_images``)."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


# --- invoices ------------------------------------------------------------------------------


@dataclass
class Invoice:
    """A full Spanish invoice (factura completa) between two businesses."""

    issuer_name: str
    issuer_cif: str
    issuer_address: str
    recipient_name: str
    recipient_nif: str
    recipient_address: str
    number: str
    date: dt.date
    lines: list[tuple[str, int, Decimal]]
    base: Decimal
    vat_rate: int
    vat_amount: Decimal
    total: Decimal
    iban: str
    words: tuple[str, ...]

    @property
    def total_text(self) -> str:
        return euros(self.total)


def make_invoice(
    seed: int, *, issuer_cif: str | None = None, recipient_nif: str | None = None
) -> Invoice:
    """A varied but deterministic B2B invoice; pass ``issuer_cif``/``recipient_nif`` to fix
    either party (e.g. the client company's own NIF for issued/received tests)."""
    rng = random.Random(seed)
    issuer, recipient = rng.sample(COMPANIES, 2)
    issuer_suffix = rng.choice(["S.L.", "S.A.", "S.L.U."])
    personal = rng.random() < 0.3  # some clients are self-employed people
    recipient_name = rng.choice(PEOPLE) if personal else f"{recipient} S.L."
    date = _date(rng)
    lines = []
    for description, low, high in rng.sample(SERVICES, rng.randint(1, 4)):
        lines.append((description, rng.randint(1, 5), _price(rng, low, high)))
    base = sum((qty * price for _, qty, price in lines), Decimal("0.00"))
    vat_rate = rng.choice([21, 21, 21, 10, 4])
    vat_amount = (base * vat_rate / 100).quantize(CENT, ROUND_HALF_UP)

    def address() -> str:
        postcode, city = rng.choice(CITIES)
        return f"{rng.choice(STREETS)}, {rng.randint(1, 140)} - {postcode} {city}"

    issuer_address, recipient_address = address(), address()
    generated_issuer_cif = make_cif(rng)
    generated_recipient = make_dni(rng) if personal else make_cif(rng)
    return Invoice(
        issuer_name=f"{issuer} {issuer_suffix}",
        issuer_cif=issuer_cif or generated_issuer_cif,
        issuer_address=issuer_address,
        recipient_name=recipient_name,
        recipient_nif=recipient_nif or generated_recipient,
        recipient_address=recipient_address,
        number=f"F{date.year}/{rng.randint(1, 2500):04d}",
        date=date,
        lines=lines,
        base=base,
        vat_rate=vat_rate,
        vat_amount=vat_amount,
        total=base + vat_amount,
        iban=make_iban(rng),
        words=tuple(w for w in issuer.split() if len(w) >= 5),
    )


def invoice_pdf_bytes(invoice: Invoice) -> bytes:
    """One A4 page with a real text layer, in the usual Spanish invoice layout."""
    buffer = io.BytesIO()
    # invariant=1 drops the creation date and random id: same invoice, same bytes.
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle(f"Factura {invoice.number}")
    width, height = A4
    left, right = 56.0, width - 56.0
    y = height - 64

    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(left, y, invoice.issuer_name)
    pdf.setFont("Helvetica", 10)
    for text in (f"CIF: {invoice.issuer_cif}", *invoice.issuer_address.split(" - ")):
        y -= 14
        pdf.drawString(left, y, text)

    pdf.setFont("Helvetica-Bold", 22)
    pdf.drawRightString(right, height - 64, "FACTURA")
    pdf.setFont("Helvetica", 10)
    pdf.drawRightString(right, height - 86, f"Nº factura: {invoice.number}")
    pdf.drawRightString(right, height - 100, f"Fecha: {invoice.date:%d/%m/%Y}")

    y -= 40
    pdf.setFont("Helvetica-Bold", 10)
    pdf.drawString(left, y, "Cliente")
    pdf.setFont("Helvetica", 10)
    for text in (
        invoice.recipient_name,
        f"NIF: {invoice.recipient_nif}",
        *invoice.recipient_address.split(" - "),
    ):
        y -= 14
        pdf.drawString(left, y, text)

    y -= 36
    columns = (left, right - 220, right - 110, right)
    pdf.setFont("Helvetica-Bold", 10)
    pdf.drawString(columns[0], y, "Descripción")
    pdf.drawRightString(columns[1], y, "Cantidad")
    pdf.drawRightString(columns[2], y, "Precio unitario")
    pdf.drawRightString(columns[3], y, "Importe")
    pdf.line(left, y - 5, right, y - 5)
    pdf.setFont("Helvetica", 10)
    for description, qty, price in invoice.lines:
        y -= 18
        pdf.drawString(columns[0], y, description)
        pdf.drawRightString(columns[1], y, str(qty))
        pdf.drawRightString(columns[2], y, f"{euros(price)} €")
        pdf.drawRightString(columns[3], y, f"{euros(qty * price)} €")
    pdf.line(left, y - 8, right, y - 8)

    y -= 30
    for label, amount, bold in (
        ("Base imponible", invoice.base, False),
        (f"IVA {invoice.vat_rate} %", invoice.vat_amount, False),
        ("TOTAL", invoice.total, True),
    ):
        pdf.setFont("Helvetica-Bold" if bold else "Helvetica", 12 if bold else 10)
        pdf.drawRightString(columns[2], y, label)
        pdf.drawRightString(columns[3], y, f"{euros(amount)} €")
        y -= 18

    y -= 30
    pdf.setFont("Helvetica", 9)
    pdf.drawString(left, y, "Forma de pago: transferencia bancaria a 30 días.")
    pdf.drawString(left, y - 13, f"IBAN: {spaced_iban(invoice.iban)}")
    pdf.drawString(left, 40, f"{invoice.issuer_name} - Inscrita en el Registro Mercantil.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def invoice_scan_image(invoice: Invoice, dpi: int = 200) -> Image.Image:
    """The invoice as a scanner would see it (grey page image, no text layer)."""
    from pdf2image import convert_from_bytes

    page = convert_from_bytes(invoice_pdf_bytes(invoice), dpi=dpi, fmt="ppm", thread_count=1)[0]
    return page.convert("L").filter(ImageFilter.GaussianBlur(0.4))


def scanned_pdf_bytes(image: Image.Image, dpi: int = 200) -> bytes:
    """An image-only PDF (no text layer) of ``image`` at ``dpi``, as scanners produce."""
    flat = image if image.mode in {"1", "L", "RGB"} else image.convert("RGB")
    buffer = io.BytesIO()
    flat.save(buffer, "PDF", resolution=float(dpi))
    return buffer.getvalue()


def encrypted_pdf_bytes(
    pdf: bytes, user_password: str = "", owner_password: str = "owner"
) -> bytes:
    """``pdf`` encrypted with pypdf (AES-256); ``user_password=""`` opens without asking."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def blank_pdf_bytes(pages: int) -> bytes:
    """A PDF of ``pages`` empty A4 pages (for page-limit tests)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- hostile inputs ------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def pixel_bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (1-bit grey).

    The IDAT holds the first rows only, compressed: decoding the whole declared image is
    what a decompression bomb would make a naive reader do.
    """
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    idat = zlib.compress(row * min(height, 1000), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def corrupt_bytes() -> dict[str, bytes]:
    """Hostile uploads by name; see ``CORRUPT_EXPECTED`` for the error code each must give."""
    rng = random.Random(666)
    pdf = invoice_pdf_bytes(make_invoice(1))
    jpeg = ticket_photo_bytes(make_ticket(1))
    return {
        "truncated_pdf": pdf[:700],
        "truncated_jpeg": jpeg[: len(jpeg) // 2],
        "random_bytes": b"\x00\x13" + rng.randbytes(4094),
        "empty": b"",
        "png_garbage": b"\x89PNG\r\n\x1a\n" + rng.randbytes(600),
        "text": b"Hola, te paso la factura por correo.\nUn saludo.\n",
    }


def raw_pdf_bytes(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` written by hand (object 1 the catalog), as no library would
    write it: for files built to hurt a reader."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _one_page_pdf_bytes(contents: bytes) -> bytes:
    """A one-page A4 PDF whose page content is object 4, ``contents``, in Helvetica (F1)."""
    return raw_pdf_bytes(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            contents,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def deflate_bomb_pdf_bytes(megabytes: int = 100) -> bytes:
    """A one-page PDF of a few hundred KB whose content stream inflates to ``megabytes`` MB of
    text operators: small to upload, minutes for a renderer."""
    line = b"BT /F1 9 Tf 36 800 Td (Factura de prueba, linea repetida sin fin) Tj ET\n"
    deflate = zlib.compressobj(6)
    block = line * (1024 * 1024 // len(line))
    stream = b"".join(deflate.compress(block) for _ in range(megabytes)) + deflate.flush()
    return _one_page_pdf_bytes(
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
        + stream
        + b"\nendstream"
    )


def self_referencing_pdf_bytes() -> bytes:
    """A one-page PDF whose content stream gives its /Length as a reference to itself, so
    that reading it means reading it first (damage leaves such loops)."""
    text = b"BT /F1 24 Tf 72 760 Td (FACTURA F-2026-9) Tj ET"
    return _one_page_pdf_bytes(b"<< /Length 4 0 R >>\nstream\n" + text + b"\nendstream")


DAMAGE_KINDS: Final = ("flipped", "cut short", "zeroed", "repeated", "inserted", "spliced")


def damaged_copy(data: bytes, kind: str, rng: random.Random, donor: bytes = b"") -> bytes:
    """``data`` damaged as transfers, disks and careless tools damage files: some bytes
    flipped, the end cut off, a run zeroed, a run repeated, junk inserted, or the tail
    replaced by the tail of ``donor`` (another file)."""
    damaged = bytearray(data)
    at = rng.randrange(len(damaged))
    run = rng.randint(1, 4096)
    if kind == "flipped":
        for _ in range(rng.randint(1, 50)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
    elif kind == "cut short":
        del damaged[max(at, 1) :]
    elif kind == "zeroed":
        damaged[at : at + run] = bytes(len(damaged[at : at + run]))
    elif kind == "repeated":
        damaged[at:at] = damaged[at : at + run] * rng.randint(2, 50)
    elif kind == "inserted":
        damaged[at:at] = rng.randbytes(rng.randint(1, 200))
    elif kind == "spliced":
        damaged[at:] = donor[rng.randrange(len(donor)) :] if donor else b""
    else:
        raise ValueError(f"unknown damage {kind!r}")
    return bytes(damaged)


# Error code (pipeline.errors.ErrorCode value) each corrupt_bytes() entry must produce.
CORRUPT_EXPECTED: dict[str, str] = {
    "truncated_pdf": "corrupt_file",
    "truncated_jpeg": "corrupt_file",
    "random_bytes": "unsupported_type",
    "empty": "empty_file",
    "png_garbage": "corrupt_file",
    "text": "unsupported_type",
}


def ocr_normal(text: str) -> str:
    """Fold case and accents and squeeze spaces, to compare OCR output with the truth."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())
