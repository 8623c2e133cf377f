"""Till receipts as thermal printers print them, and phone photos of them, with ground truth.

`make_receipt(seed)` writes a receipt of a supermarket, restaurant, café, fuel station, car
park, pharmacy or electronics shop on 58 mm (32 columns) or 80 mm (42/48 columns) paper, in
one of many layouts and wordings (TOTAL / TOTAL A PAGAR / IMPORTE TOTAL / TOTAL EUR, cash with
ENTREGADO/EFECTIVO and CAMBIO, card with a slip, per-rate VAT tables or "IVA INCLUIDO",
"€"/"EUR", thousands separators, several date styles, distractor totals and dates).

`receipt_print(document)` prints it dot by dot (203 dpi, binary dots, thermal fading, dead
heater elements); `receipt_photo_bytes(document)` photographs the print: crumples,
perspective, tilt, uneven light and shadows, colour cast, blur, noise, phone or messenger
resolution and JPEG quality. Every function is a pure function of the document's seed; the
severity of the photo varies with the seed (most readable, some hard, none unreadable).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage, special

from tests.documents import CENT, CITIES, FONT_DIR, STREETS, make_cif
from tests.extraction_documents import (
    DISHES,
    PARKINGS,
    RESTAURANTS,
    STATIONS,
    SUPERMARKET_ITEMS,
    SUPERMARKETS,
    GeneratedDocument,
    _qr_image,
    verifactu_url,
)

# --- content -------------------------------------------------------------------------------

MONTH_ABBREVIATIONS = (
    "ENE", "FEB", "MAR", "ABR", "MAY", "JUN", "JUL", "AGO", "SEP", "OCT", "NOV", "DIC",
)  # fmt: skip
PHARMACY_ITEMS = (
    ("IBUPROFENO 600MG 40C", 4, 2.2, 4.5),
    ("PARACETAMOL 1G 20C", 4, 1.5, 3.2),
    ("CREMA SOLAR SPF50", 21, 9.0, 19.0),
    ("CHAMPU ANTICASPA", 21, 6.0, 12.0),
    ("TIRITAS SURTIDAS", 21, 2.5, 4.9),
    ("SUERO FISIOLOGICO", 21, 3.0, 6.5),
    ("LECHE INFANTIL 800G", 10, 14.0, 24.0),
)
ELECTRONICS_ITEMS = (
    ("PORTATIL 15.6 I5 16GB", 21, 480.0, 1300.0),
    ("MONITOR 27 QHD", 21, 160.0, 420.0),
    ("IMPRESORA LASER", 21, 120.0, 380.0),
    ("TALADRO PERCUTOR", 21, 60.0, 190.0),
    ("CABLE HDMI 2M", 21, 5.0, 15.0),
    ("DISCO SSD 1TB", 21, 55.0, 130.0),
    ("RATON INALAMBRICO", 21, 9.0, 35.0),
)
CAFE_ITEMS = (
    ("CAFE CON LECHE", 1.3, 1.9),
    ("CORTADO", 1.2, 1.7),
    ("TOSTADA TOMATE", 1.8, 2.9),
    ("ZUMO NARANJA", 2.5, 3.8),
    ("CROISSANT", 1.4, 2.2),
    ("BOCADILLO JAMON", 3.9, 5.9),
    ("AGUA MINERAL", 1.2, 2.0),
)
WEIGHED_ITEMS = (
    ("PLATANO", 4, 1.6, 2.6),
    ("TOMATE PERA", 4, 1.8, 3.2),
    ("MANZANA GOLDEN", 4, 1.5, 2.6),
    ("PECHUGA POLLO", 10, 6.5, 9.9),
)
SHOPS = {
    "supermarket": (*SUPERMARKETS, "SUPERMERCADO EL PASEO", "ALIMENTACION HNOS. DIAZ"),
    "restaurant": (*RESTAURANTS, "MESON EL CRUCE"),
    "cafe": ("CAFETERIA LA ESTACION", "CAFE BAR PLAZA", "GRANJA SAN ROQUE"),
    "fuel": STATIONS,
    "parking": PARKINGS,
    "pharmacy": ("FARMACIA LDA. M. PEREZ", "FARMACIA CENTRAL", "PARAFARMACIA SALUD"),
    "electronics": ("ELECTRO HOGAR CENTRO", "INFORMATICA BYTE", "FERRETERIA INDUSTRIAL"),
}
SHOP_WEIGHTS = {
    "supermarket": 5,
    "restaurant": 4,
    "cafe": 3,
    "fuel": 3,
    "parking": 2,
    "pharmacy": 2,
    "electronics": 2,
}


@dataclass(frozen=True, slots=True)
class Row:
    """One printed line: ``kind`` is "row" (left + right-aligned right), "center", "big"
    (double width and height), or "rule" (a line of one repeated character)."""

    kind: str
    left: str
    right: str = ""


@dataclass(frozen=True, slots=True)
class _Numbers:
    """How one till prints amounts."""

    decimal: str
    thousands: str
    item_suffix: str

    def money(self, value: Decimal) -> str:
        sign = "-" if value < 0 else ""
        units, cents = f"{abs(value).quantize(CENT):.2f}".split(".")
        if self.thousands and len(units) > 3:
            groups = []
            while len(units) > 3:
                groups.insert(0, units[-3:])
                units = units[:-3]
            units = self.thousands.join([units, *groups])
        return f"{sign}{units}{self.decimal}{cents}"


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _price(rng: random.Random, low: float, high: float) -> Decimal:
    return _q(Decimal(str(rng.uniform(low, high))))


def receipt_date_text(rng: random.Random, date: dt.date) -> str:
    """The date as one till prints it: numeric day-first, month abbreviations, or ISO."""
    month = MONTH_ABBREVIATIONS[date.month - 1]
    styles = (
        (f"{date:%d/%m/%Y}", 5),
        (f"{date:%d/%m/%y}", 4),
        (f"{date:%d-%m-%Y}", 3),
        (f"{date:%d-%m-%y}", 2),
        (f"{date:%d.%m.%Y}", 2),
        (f"{date:%d.%m.%y}", 1),
        (f"{date.day:02d} {month} {date.year}", 2),
        (f"{date.day:02d}-{month}-{date.year}", 1),
        (f"{date.day:02d}/{month}/{date:%y}", 1),
        (f"{date:%Y-%m-%d}", 1),
    )
    return rng.choices([s for s, _ in styles], [w for _, w in styles])[0]


def _items(rng: random.Random, shop: str) -> tuple[list[tuple[str, int, Decimal]], list[Row]]:
    """(description, VAT rate, amount incl. VAT) per item, and extra head rows."""
    items: list[tuple[str, int, Decimal]] = []
    head: list[Row] = []
    if shop == "supermarket":
        for desc, rate, low, high in rng.sample(SUPERMARKET_ITEMS, rng.randint(3, 9)):
            qty = rng.choice([1, 1, 1, 2, 3])
            items.append((f"{qty}|{desc}", rate, qty * _price(rng, low, high)))
        for desc, rate, low, high in rng.sample(WEIGHED_ITEMS, rng.randint(0, 2)):
            kilos = Decimal(rng.randint(150, 1900)) / 1000
            per_kilo = _price(rng, low, high)
            items.append((f"kg|{desc}|{kilos}|{per_kilo}", rate, _q(kilos * per_kilo)))
    elif shop in {"restaurant", "cafe"}:
        covers = rng.randint(1, 6)
        dishes = [(d, 10, lo, hi) for d, lo, hi in (DISHES if shop == "restaurant" else CAFE_ITEMS)]
        head = [Row("row", f"MESA: {rng.randint(1, 30)}", f"PAX: {covers}")]
        if rng.random() < 0.6:
            head.append(Row("row", f"CAMARERO: {rng.choice(['ANA', 'LUIS', 'PEPE', 'MARTA'])}"))
        for desc, rate, low, high in rng.sample(dishes, rng.randint(2, 6)):
            qty = rng.randint(1, covers)
            items.append((f"{qty}|{desc}", rate, qty * _price(rng, low, high)))
    elif shop == "fuel":
        product = rng.choice(["GASOLEO A", "GASOLINA 95", "GASOLINA 98 E5", "DIESEL+"])
        per_litre = Decimal(str(rng.uniform(1.35, 1.85))).quantize(Decimal("0.001"))
        litres = _q(Decimal(str(rng.uniform(12, 70))))
        head = [
            Row("row", f"SURTIDOR: {rng.randint(1, 12)}", product),
            Row("row", f"LITROS: {str(litres).replace('.', ',')}"),
            Row("row", f"PRECIO/L: {str(per_litre).replace('.', ',')}"),
        ]
        items.append((f"1|{product}", 21, _q(litres * per_litre)))
        if rng.random() < 0.25:
            items.append(("1|LAVADO EXPRESS", 21, _price(rng, 4, 9)))
    elif shop == "parking":
        minutes = rng.randint(15, 900)
        head = [Row("row", "ESTANCIA", f"{minutes // 60}h {minutes % 60:02d}m")]
        items.append(("1|TARIFA ROTACION", 21, _q(Decimal(minutes) * Decimal("0.043"))))
    elif shop == "pharmacy":
        for desc, rate, low, high in rng.sample(PHARMACY_ITEMS, rng.randint(1, 5)):
            qty = rng.choice([1, 1, 2])
            items.append((f"{qty}|{desc}", rate, qty * _price(rng, low, high)))
    else:
        for desc, rate, low, high in rng.sample(ELECTRONICS_ITEMS, rng.randint(1, 4)):
            items.append((f"1|{desc}", rate, _price(rng, low, high)))
    return items, head


def _fit(left: str, right: str, columns: int) -> Row:
    room = columns - len(right) - 1
    return Row("row", left[: max(room, 4)], right)


def _item_rows(
    rng: random.Random,
    items: list[tuple[str, int, Decimal]],
    numbers: _Numbers,
    columns: int,
    rate_codes: dict[int, str] | None,
) -> list[Row]:
    rows: list[Row] = []
    two_line = rng.random() < 0.3
    if rng.random() < 0.5:
        rows.append(_fit("DESCRIPCION", "IMPORTE", columns))
    for spec, rate, amount in items:
        parts = spec.split("|")
        code = f" {rate_codes[rate]}" if rate_codes else ""
        right = numbers.money(amount) + numbers.item_suffix + code
        if parts[0] == "kg":
            desc, kilos, per_kilo = parts[1], Decimal(parts[2]), Decimal(parts[3])
            rows.append(Row("row", desc))
            weight = f"{kilos:.3f}".replace(".", ",")
            rows.append(_fit(f"  {weight} kg x {numbers.money(per_kilo)} EUR/kg", right, columns))
            continue
        qty, desc = int(parts[0]), parts[1]
        if qty > 1 and two_line:
            rows.append(Row("row", desc))
            unit = numbers.money(amount / qty)
            rows.append(_fit(f"  {qty} x {unit}", right, columns))
        elif qty > 1:
            rows.append(_fit(f"{qty} {desc}", right, columns))
        else:
            rows.append(_fit(("1 " if rng.random() < 0.3 else "") + desc, right, columns))
    return rows


def _vat_rows(
    rng: random.Random,
    by_rate: dict[int, tuple[Decimal, Decimal]],
    numbers: _Numbers,
    columns: int,
    rate_codes: dict[int, str] | None,
) -> list[Row]:
    """The VAT breakdown in one of the layouts tills use."""
    money = numbers.money
    style = rng.choices(["table", "table_total", "pairs", "included", "coded"], [5, 3, 2, 2, 2])[0]
    if style == "coded" and not rate_codes:
        style = "table"
    if style == "included" and len(by_rate) > 1:
        style = "table"
    rows: list[Row] = []
    if style == "included":
        rate, (base, quota) = next(iter(by_rate.items()))
        rows.append(Row("row", f"IVA {rate}% INCLUIDO"))
        if rng.random() < 0.6:
            rows.append(_fit(f"BASE {money(base)}", f"CUOTA {money(quota)}", columns))
        return rows
    if style == "pairs":
        for rate, (base, quota) in sorted(by_rate.items()):
            rows.append(_fit(f"BASE IMPONIBLE {rate}%", money(base), columns))
            rows.append(_fit(f"CUOTA IVA {rate}%", money(quota), columns))
        return rows
    if rng.random() < 0.4:
        rows.append(
            Row("center", rng.choice(["DESGLOSE IVA", "DETALLE DE IMPUESTOS", "IMPUESTOS"]))
        )
    if style == "coded":
        header: tuple[str, ...] = ("", "%IVA", "BASE", "CUOTA")
        with_total = False
    else:
        header, with_total = rng.choice(
            [
                (("IVA", "BASE", "CUOTA"), False),
                (("%IVA", "BASE IMP.", "CUOTA"), False),
                (("TIPO", "BASE", "IVA", "TOTAL"), True),
                (("IVA", "B.IMPONIBLE", "C.IVA"), False),
                (("IVA%", "BASE", "CUOTA", "IMPORTE"), True),
            ]
        )
        if style == "table_total" and not with_total:
            header, with_total = (*header, "TOTAL"), True
    rate_format = rng.choice(["{r}%", "{r},00%", "IVA {r}%", "{r} %"])
    table: list[list[str]] = []
    sums = [Decimal(0), Decimal(0), Decimal(0)]
    for rate, (base, quota) in sorted(by_rate.items()):
        cells = [rate_format.format(r=rate), money(base), money(quota)]
        if with_total:
            cells.append(money(base + quota))
        if style == "coded":
            cells.insert(0, rate_codes[rate])
        table.append(cells)
        sums[0] += base
        sums[1] += quota
        sums[2] += base + quota
    if style == "table_total" and len(by_rate) > 1:
        table.append(["TOTAL", money(sums[0]), money(sums[1]), money(sums[2])])
    rows += [Row("row", line) for line in _aligned(list(header), table, columns)]
    return rows


def _aligned(header: list[str], table: list[list[str]], columns: int) -> list[str]:
    """Header and rows as a till prints a table: first column left, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    spare = columns - sum(widths)
    gap = max(1, min(4, spare // max(1, len(widths))))
    lines = []
    for row in [header, *table]:
        line = row[0].ljust(widths[0])
        for cell, width in zip(row[1:], widths[1:], strict=True):
            line += " " * gap + cell.rjust(width)
        lines.append(line.rstrip())
    return lines


def _payment_rows(
    rng: random.Random, total: Decimal, numbers: _Numbers, columns: int
) -> tuple[str, list[Row]]:
    money = numbers.money
    method = rng.choices(["card", "cash"], [3, 2])[0]
    if method == "cash":
        tendered = next(
            Decimal(n) for n in (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if n >= total
        )
        if rng.random() < 0.15:
            tendered = total  # exact money
        label = rng.choice(["EFECTIVO", "ENTREGADO", "ENTREGA EFECTIVO", "PAGO EFECTIVO"])
        rows = [
            _fit(label, money(tendered), columns),
            _fit("CAMBIO", money(tendered - total), columns),
        ]
        return "efectivo", rows
    label = rng.choice(["TARJETA", "TARJETA BANCARIA", "VISA", "PAGO CON TARJETA", "MASTERCARD"])
    rows = [_fit(label, money(total), columns)]
    if rng.random() < 0.45:  # the card terminal's slip printed below
        rows += [
            Row("rule", "-"),
            Row("center", rng.choice(["COPIA PARA EL CLIENTE", "*** COPIA CLIENTE ***"])),
            Row("row", f"TARJ: ************{rng.randrange(10**4):04d}"),
            Row("row", f"AID: A00000000{rng.choice(['31010', '41010'])}"),
            _fit("OPERACION: VENTA", rng.choice(["CONTACTLESS", "CHIP", ""]), columns),
            _fit(
                f"AUT: {rng.randrange(10**6):06d}", f"N.OPER: {rng.randrange(10**6):06d}", columns
            ),
            _fit("IMPORTE:", f"{money(total)} EUR", columns),
        ]
    return "tarjeta", rows


def make_receipt(seed: int) -> GeneratedDocument:
    """A till receipt of a randomly chosen shop; ``truth`` holds what an extractor must find.

    ``extra`` carries the printing plan: ``rows`` (Row list) and ``columns``.
    """
    rng = random.Random(seed)
    shop = rng.choices(list(SHOP_WEIGHTS), list(SHOP_WEIGHTS.values()))[0]
    columns = rng.choices([32, 42, 48], [4, 3, 3])[0]
    name = rng.choice(SHOPS[shop])
    cif = make_cif(rng)
    date = dt.date(2025, 1, 2) + dt.timedelta(days=rng.randrange(720))
    time = f"{rng.randint(8, 22):02d}:{rng.randrange(60):02d}" + (
        f":{rng.randrange(60):02d}" if rng.random() < 0.4 else ""
    )
    decimal_comma = rng.random() < 0.9
    numbers = _Numbers(
        decimal="," if decimal_comma else ".",
        thousands=("." if rng.random() < 0.7 else "") if decimal_comma else "",
        item_suffix=rng.choices(["", " €", "€"], [6, 1, 1])[0],
    )
    money = numbers.money
    items, head = _items(rng, shop)
    total = sum((amount for _, _, amount in items), Decimal("0.00"))
    by_rate: dict[int, tuple[Decimal, Decimal]] = {}
    for rate in sorted({rate for _, rate, _ in items}):
        gross = sum((a for _, r, a in items if r == rate), Decimal(0))
        base = _q(gross / (1 + Decimal(rate) / 100))
        by_rate[rate] = (base, gross - base)
    rate_codes = dict(zip(sorted(by_rate), "ABC", strict=False)) if rng.random() < 0.25 else None

    street_postcode, city = rng.choice(CITIES)
    id_label = rng.choice(["CIF:", "C.I.F.:", "NIF:", "N.I.F.", "CIF", "NIF."])
    printed_cif = f"{cif[0]}-{cif[1:]}" if rng.random() < 0.2 else cif
    legal = f"{name.title()} {rng.choice(['S.L.', 'S.A.', 'S.L.U.'])}"
    big_name = rng.random() < 0.6 and 2 * len(name) <= columns
    rows: list[Row] = [Row("big" if big_name else "center", name)]
    if rng.random() < 0.7:
        rows.append(Row("center", legal))
    id_row = Row("center", f"{id_label} {printed_cif}")
    address = [
        Row("center", f"{rng.choice(STREETS)}, {rng.randint(1, 140)}"),
        Row("center", f"{street_postcode} {city.upper()}"),
    ]
    if rng.random() < 0.5:
        rows += [id_row, *address]
    else:
        rows += [*address, id_row]
    if rng.random() < 0.6:
        rows.append(Row("center", f"TEL. 9{rng.randint(10, 88)} {rng.randrange(10**6):06d}"))
    rule = rng.choice("-=*.")
    rows.append(Row("rule", rule))

    number = f"{rng.randint(1, 40):03d}-{rng.randrange(10**6):06d}"
    number_row = rng.choice(
        [
            [Row("row", "FACTURA SIMPLIFICADA"), Row("row", f"N\u00ba: {number}")],
            [Row("row", f"FACTURA SIMPLIFICADA N\u00ba {number}")],
            [Row("row", f"F. SIMPLIFICADA: {number}")],
            [Row("row", f"TICKET N\u00ba: {number}")],
            [Row("row", "FRA. SIMPLIFICADA"), Row("row", f"NUM: {number}")],
        ]
    )
    date_text = receipt_date_text(rng, date)
    date_row = rng.choice(
        [
            _fit(f"FECHA: {date_text}", f"HORA: {time}", columns),
            _fit(date_text, time, columns),
            _fit(f"{date_text} {time}", f"CAJA: {rng.randint(1, 9):02d}", columns),
            _fit(f"Fecha {date_text}", time, columns),
            _fit(time, date_text, columns),
        ]
    )
    date_at_end = rng.random() < 0.25
    rows += number_row
    if not date_at_end:
        rows.append(date_row)
    if shop == "parking":
        entry = dt.datetime.combine(date, dt.time(rng.randint(7, 11), rng.randrange(60)))
        rows.append(Row("row", f"ENTRADA: {receipt_date_text(rng, date)} {entry:%H:%M}"))
    buyer = make_cif(rng) if rng.random() < 0.12 else None
    if buyer:
        rows.append(Row("row", f"NIF CLIENTE: {buyer}"))
    rows += head
    rows.append(Row("rule", rule))
    rows += _item_rows(rng, items, numbers, columns, rate_codes)
    rows.append(Row("rule", rule))
    count = sum(int(s.split("|")[0]) if s[0].isdigit() else 1 for s, _, _ in items)
    if rng.random() < 0.35:
        rows.append(
            _fit(
                rng.choice(["TOTAL ARTICULOS:", "N. ARTICULOS", "ARTICULOS:"]), str(count), columns
            )
        )
    if rng.random() < 0.2:
        rows.append(_fit("SUBTOTAL", money(total), columns))
    total_label = rng.choice(
        [
            "TOTAL",
            "TOTAL",
            "TOTAL A PAGAR",
            "IMPORTE TOTAL",
            "TOTAL EUR",
            "TOTAL (\u20ac)",
            "TOTAL COMPRA",
            "TOTAL FACTURA",
            "IMPORTE",
        ]
    )
    amount = money(total)
    currency = rng.choices(["", " \u20ac", " EUR", "\u20ac", "prefix"], [4, 4, 2, 1, 1])[0]
    amount = f"\u20ac {amount}" if currency == "prefix" else amount + currency
    if "EUR" in total_label or "\u20ac" in total_label:
        amount = money(total)
    big_total = rng.random() < 0.4 and len(total_label) + len(amount) + 1 <= columns // 2
    rows.append(
        Row("big", f"{total_label} {amount}") if big_total else _fit(total_label, amount, columns)
    )
    vat_rows = _vat_rows(rng, by_rate, numbers, columns, rate_codes)
    method, pay_rows = _payment_rows(rng, total, numbers, columns)
    if rng.random() < 0.5:
        rows += [*vat_rows, Row("rule", rule), *pay_rows]
    else:
        rows += [*pay_rows, Row("rule", rule), *vat_rows]
    if date_at_end:
        rows.append(date_row)
    if rng.random() < 0.2:
        limit = date + dt.timedelta(days=rng.choice([15, 30]))
        rows.append(Row("center", f"DEVOLUCIONES HASTA {limit:%d/%m/%Y}"))
    rows.append(
        Row(
            "center",
            rng.choice(
                [
                    "GRACIAS POR SU VISITA",
                    "GRACIAS POR SU COMPRA",
                    "*** GRACIAS ***",
                    "VUELVA PRONTO",
                ]
            ),
        )
    )
    if rng.random() < 0.3:
        rows.append(Row("center", f"LE ATENDIO: {rng.choice(['MARIA', 'JOSE', 'ELENA', 'RAUL'])}"))

    with_qr = rng.random() < 0.1
    lines = [_text(row, columns) for row in rows]
    truth = {
        "category": "ticket",
        "issuer_tax_id": cif,
        "issue_date": date.isoformat(),
        "total": str(total),
        "recipient_tax_id": buyer,
        "payment_method": method,
        "vat_lines": [
            {"rate": str(rate), "base": str(base), "amount": str(quota)}
            for rate, (base, quota) in sorted(by_rate.items())
        ],
        "vat_base": str(sum((b for b, _ in by_rate.values()), Decimal("0.00"))),
        "vat_quota": str(sum((q for _, q in by_rate.values()), Decimal("0.00"))),
    }
    return GeneratedDocument(
        f"receipt_{shop}",
        lines,
        truth,
        seed,
        verifactu_url(cif, number, date, total) if with_qr else None,
        extra={"rows": rows, "columns": columns},
    )


def _text(row: Row, columns: int) -> str:
    if row.kind == "rule":
        return row.left * columns
    if row.kind in {"center", "big"}:
        return row.left
    if not row.right:
        return row.left
    return row.left + " " * max(1, columns - len(row.left) - len(row.right)) + row.right


# --- printing ------------------------------------------------------------------------------

# Printable dots per line at 203 dpi: 384 on 58 mm paper, 576 on 80 mm.
PRINT_DOTS = {32: 384, 42: 576, 48: 576}
PRINT_FONTS = (
    ("DejaVuSansMono.ttf", True),
    ("DejaVuSansMono-Bold.ttf", True),
    ("DejaVuSansMono-Bold.ttf", True),
    ("DejaVuSans.ttf", False),
    ("DejaVuSansCondensed.ttf", False),
    ("DejaVuSansCondensed-Bold.ttf", False),
)


def _row_image(text: str, font: ImageFont.FreeTypeFont, height: int) -> Image.Image:
    """``text`` drawn at its natural width on a white strip ``height`` dots high (L)."""
    width = max(1, math.ceil(font.getlength(text)) + 2)
    strip = Image.new("L", (width, height), 255)
    ascent, descent = font.getmetrics()
    ImageDraw.Draw(strip).text((1, (height - ascent - descent) // 2), text, font=font, fill=0)
    return strip


def receipt_print(document: GeneratedDocument) -> Image.Image:
    """The receipt as printed: one pixel per printer dot (203 dpi), grey paper and ink (L).

    Thermal ink is binary dots; fading (overall, patchy and along the strip), dead heater
    elements (white vertical lines) and missing dots come from the seed.
    """
    rng = random.Random(document.seed * 7919 + 11)
    columns: int = document.extra["columns"]
    rows: list[Row] = document.extra["rows"]
    dots = PRINT_DOTS[columns]
    cell = dots / columns
    line_height = rng.randint(26, 34)
    face, monospaced = rng.choice(PRINT_FONTS)
    size = rng.randint(21, 25)
    font = ImageFont.truetype(str(FONT_DIR / face), size)
    big_font = ImageFont.truetype(str(FONT_DIR / face), size * 2)
    margin = rng.randint(24, 40)
    qr = _qr_image(document.qr_url, 3).convert("L") if document.qr_url else None
    qr_height = qr.height + 20 if qr is not None else 0
    height = (
        2 * margin
        + qr_height
        + sum(2 * line_height if row.kind == "big" else line_height for row in rows)
    )
    page = Image.new("L", (dots + 2 * margin, height), 255)
    y = margin
    if qr is not None and rng.random() < 0.5:
        page.paste(qr, ((page.width - qr.width) // 2, y))
        y += qr_height
        qr = None
    for row in rows:
        if row.kind == "big":
            strip = _row_image(row.left, big_font, 2 * line_height)
            if monospaced:
                strip = strip.resize((round(2 * cell * len(row.left)), strip.height))
            if strip.width > dots:
                strip = strip.resize((dots, strip.height))
            page.paste(strip, ((page.width - strip.width) // 2, y))
            y += 2 * line_height
            continue
        text = _text(row, columns)
        if monospaced or row.kind == "rule":
            strip = _row_image(text, font, line_height)
            # A monospaced till font fills its cell exactly: squeeze or widen to the grid.
            strip = strip.resize((max(1, round(cell * len(text))), line_height))
            x = margin if row.kind != "center" else (page.width - strip.width) // 2
            page.paste(strip.crop((0, 0, min(strip.width, dots), line_height)), (x, y))
        else:
            left = _row_image(row.left, font, line_height)
            right = _row_image(row.right, font, line_height) if row.right else None
            room = dots - (right.width + round(cell) if right is not None else 0)
            if left.width > room:  # a proportional font runs long: the till squeezes it
                left = left.resize((max(1, room), line_height))
            x = margin if row.kind != "center" else (page.width - left.width) // 2
            page.paste(left, (x, y))
            if right is not None:
                page.paste(right, (margin + dots - right.width, y))
        y += line_height
    if qr is not None:
        page.paste(qr, ((page.width - qr.width) // 2, y + 10))
    ink = np.asarray(page, dtype=np.float32) < 150  # the print head fires a dot or not
    ink &= _dead_dots(rng, ink.shape)
    darkness = _fading(rng, ink.shape)
    paper = rng.uniform(236, 250)
    pixels = paper - ink * darkness * (paper - rng.uniform(10, 40))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _smooth_field(rng: random.Random, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth random field in [0, 1] of ``shape``, with about ``cells`` blobs across."""
    gh = max(2, round(cells * shape[0] / shape[1]))
    coarse = np.array([[rng.random() for _ in range(cells + 1)] for _ in range(gh + 1)])
    field = ndimage.zoom(coarse, (shape[0] / coarse.shape[0], shape[1] / coarse.shape[1]), order=3)
    field = field[: shape[0], : shape[1]]
    if field.shape != shape:
        field = np.pad(
            field, ((0, shape[0] - field.shape[0]), (0, shape[1] - field.shape[1])), "edge"
        )
    low, high = float(field.min()), float(field.max())
    return (field - low) / (high - low + 1e-9)


def _fading(rng: random.Random, shape: tuple[int, int]) -> np.ndarray:
    """Ink darkness 0..1 per dot: a fresh print is ~1, old or cheap paper fades in patches."""
    fade = rng.choices([0.0, 0.3, 0.5, 0.7], [5, 3, 2, 1])[0]
    patches = _smooth_field(rng, shape, rng.randint(2, 5))
    along = np.linspace(0, 1, shape[0])[:, None] * rng.uniform(0, 1)
    darkness = 1.0 - fade * (0.6 * patches + 0.4 * along)
    return np.clip(darkness * rng.uniform(0.85, 1.0), 0.2, 1.0)


def _dead_dots(rng: random.Random, shape: tuple[int, int]) -> np.ndarray:
    """True where the print head can fire: some heater elements dead, some dots dropped."""
    alive = np.ones(shape, dtype=bool)
    if rng.random() < 0.25:
        for _ in range(rng.randint(1, 3)):
            alive[:, rng.randrange(shape[1])] = False
    if rng.random() < 0.3:
        dropped = np.random.default_rng(rng.randrange(2**32)).random(shape) < rng.uniform(
            0.02, 0.12
        )
        alive &= ~dropped
    return alive


# --- photographing -------------------------------------------------------------------------

TABLES = ((92, 72, 54), (70, 74, 80), (150, 140, 125), (45, 50, 60), (190, 185, 175), (120, 60, 40))


def _crumple(rng: random.Random, image: Image.Image, strength: float) -> Image.Image:
    """Bend the paper: a smooth warp plus creases where it was folded (a step in position
    and in brightness along a line across the strip)."""
    width, height = image.size
    shape = (height, width)
    amplitude = strength * width * rng.uniform(0.002, 0.008)
    cells = rng.randint(3, 6)
    dx = (_smooth_field(rng, shape, cells) - 0.5) * 2 * amplitude
    dy = (_smooth_field(rng, shape, cells) - 0.5) * 2 * amplitude
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    shade = 1 + (_smooth_field(rng, shape, cells) - 0.5) * 0.08 * strength
    for _ in range(rng.choices([0, 1, 2, 3], [3, 3, 2, 1])[0]):
        # A fold across the strip: nearly horizontal, anywhere along it.
        y0, slope = rng.uniform(0.1, 0.9) * height, math.tan(math.radians(rng.uniform(-6, 6)))
        distance = rows - (y0 + (cols - width / 2) * slope)
        side = special.expit(distance / max(1.0, 0.004 * height))
        dy += side * rng.uniform(-1, 1) * strength * 0.004 * height
        shade *= 1 - side * rng.uniform(-0.08, 0.12) * strength
        shade *= 1 - np.exp(-((distance / max(1.0, 0.002 * height)) ** 2)) * 0.15
    channels = []
    for channel in image.split():
        pixels = np.asarray(channel, dtype=np.float32)
        warped = ndimage.map_coordinates(pixels, [rows + dy, cols + dx], order=1, mode="nearest")
        channels.append(Image.fromarray(np.clip(warped * shade, 0, 255).astype(np.uint8)))
    return Image.merge(image.mode, channels) if len(channels) > 1 else channels[0]


def receipt_photo(document: GeneratedDocument) -> Image.Image:
    """A phone photo (RGB) of the printed receipt lying on a table."""
    rng = random.Random(document.seed * 104729 + 23)
    severity = rng.random() ** 1.4  # most photos decent, a tail of hard ones
    printed = receipt_print(document)
    # Frame: the phone's long side (a messenger app shrinks it), portrait for a long strip.
    long_side = rng.choices([1280, 1600, 2048, 3000, 4000], [1, 3, 2, 2, 2])[0]
    portrait = printed.height >= printed.width
    canvas_w = round(long_side * 0.75) if portrait else long_side
    canvas_h = long_side if portrait else round(long_side * 0.75)
    angle = rng.uniform(-1, 1) * (1 + 5 * severity)
    jitter = 0.015 + 0.06 * severity  # perspective: how far the corners move
    tilt = abs(math.sin(math.radians(angle)))
    # The receipt fills a share of the frame, and tilt and perspective must not cut it.
    scale = min(
        rng.uniform(0.6, 0.92) * canvas_h / printed.height,
        canvas_h * (0.94 - jitter) / (printed.height + printed.width * tilt),
        canvas_w * (0.94 - 2 * jitter) / (printed.width + printed.height * tilt),
    )
    paper_w, paper_h = max(1, round(printed.width * scale)), max(1, round(printed.height * scale))
    # Dots bleed on thermal paper: smooth the dots a little at print resolution first.
    paper = printed.filter(ImageFilter.GaussianBlur(0.6)).resize(
        (paper_w, paper_h), Image.Resampling.LANCZOS
    )
    tint = (rng.randint(-6, 2), rng.randint(-4, 2), rng.randint(-12, 0))  # aged, yellowish
    paper = Image.merge("RGB", [paper.point(lambda v, t=t: max(0, min(255, v + t))) for t in tint])
    paper = _crumple(rng, paper, severity if rng.random() < 0.7 else 0.0)

    table = rng.choice(TABLES)
    scene = Image.new("RGB", (canvas_w, canvas_h), table)
    texture = _smooth_field(rng, (canvas_h // 8 + 2, canvas_w // 8 + 2), 6)
    texture_img = Image.fromarray((texture * 40).astype(np.uint8)).resize((canvas_w, canvas_h))
    scene = Image.composite(
        Image.new("RGB", scene.size, tuple(max(0, c - 20) for c in table)),
        scene,
        texture_img,
    )
    mask = Image.new("L", paper.size, 255)
    paper = paper.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    mask = mask.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    # Not always centred, never cut.
    spare_x, spare_y = max(0, canvas_w - paper.width), max(0, canvas_h - paper.height)
    room_x = min(spare_x // 2, round(jitter * canvas_w) + 4)
    room_y = min(spare_y // 2, round(jitter * canvas_h / 2) + 4)
    x = rng.randint(room_x, spare_x - room_x)
    y = rng.randint(room_y, spare_y - room_y)
    shadow = mask.filter(ImageFilter.GaussianBlur(6)).point(lambda v: v * 90 // 255)
    scene.paste((0, 0, 0), (x + 5, y + 7), shadow)
    scene.paste(paper, (x, y), mask)

    # Perspective: the phone is not held parallel to the table.
    w, h = scene.size

    def move(limit: float) -> float:
        return rng.uniform(-limit, limit)

    quad = (
        move(w * jitter), move(h * jitter / 2),
        move(w * jitter), h + move(h * jitter / 2),
        w + move(w * jitter), h + move(h * jitter / 2),
        w + move(w * jitter), move(h * jitter / 2),
    )  # fmt: skip
    scene = scene.transform(
        scene.size, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC, fillcolor=table
    )

    # Light: a gradient, sometimes the shadow of the phone or hand, vignetting, colour cast.
    light = np.ones((h, w), dtype=np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, 2 * math.pi)
    ramp = (xs * math.cos(theta) + ys * math.sin(theta)) / math.hypot(w, h)
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min() + 1e-9)
    light *= 1 - rng.uniform(0.05, 0.2 + 0.25 * severity) * ramp
    if rng.random() < 0.2 + 0.4 * severity:
        phi = rng.uniform(0, 2 * math.pi)
        offset = rng.uniform(0.2, 0.7) * math.hypot(w, h)
        edge = xs * math.cos(phi) + ys * math.sin(phi) - offset
        softness = rng.uniform(0.01, 0.06) * math.hypot(w, h)
        inside = special.expit(edge / softness)
        light *= 1 - rng.uniform(0.25, 0.5) * inside
    radius = ((xs - w / 2) ** 2 + (ys - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
    light *= 1 - rng.uniform(0, 0.2) * radius
    pixels = np.asarray(scene, dtype=np.float32) * light[..., None]
    pixels *= np.array([rng.uniform(0.92, 1.05), 1.0, rng.uniform(0.85, 1.05)], dtype=np.float32)
    if rng.random() < 0.12:  # a glare spot from a lamp
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        spot = np.exp(-(((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (0.08 * w) ** 2)))
        pixels += spot[..., None] * rng.uniform(40, 90)
    noise = np.random.default_rng(rng.randrange(2**32))
    sigma = rng.uniform(2, 4 + 5 * severity)
    pixels += noise.normal(0, sigma, (h, w, 1)) + noise.normal(0, sigma / 3, (h, w, 3))
    scene = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))

    if rng.random() < 0.15 + 0.2 * severity:  # hand shake: a short motion blur
        length = rng.randint(3, 3 + round(4 * severity))
        kernel = np.zeros((length, length), dtype=np.float32)
        kernel[length // 2, :] = 1
        kernel = ndimage.rotate(kernel, rng.uniform(0, 180), reshape=False, order=1)
        kernel /= kernel.sum()
        blurred = [ndimage.convolve(np.asarray(c, dtype=np.float32), kernel) for c in scene.split()]
        scene = Image.merge(
            "RGB", [Image.fromarray(np.clip(b, 0, 255).astype(np.uint8)) for b in blurred]
        )
    return scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.6 + 0.7 * severity)))


def receipt_photo_bytes(document: GeneratedDocument) -> bytes:
    """`receipt_photo` as the JPEG a phone or a messenger app uploads (quality 55-92)."""
    rng = random.Random(document.seed * 65537 + 29)
    image = receipt_photo(document)
    params: dict[str, object] = {"quality": rng.randint(55, 92)}
    if rng.random() < 0.5:
        params["dpi"] = (72, 72)  # what most phones write, and mean nothing by
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **params)
    return buffer.getvalue()
