"""Fields of invoices, tickets, payslips and AEAT forms, each with confidence, source and notes.

Exact sources win: a fiscal QR (Verifactu/TicketBAI) or an XML (Facturae, Factur-X) over the
text layer, and the text layer over OCR. Validation (checksums, VAT arithmetic, rates valid for
the date, OCR repairs) lowers a field's confidence and says why in its ``notes``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from stdnum.es import dni

from pipeline._text import fold
from pipeline.amounts import DateMatch, find_amounts, find_date_matches, find_dates, format_amount
from pipeline.facturae import FacturaeDocument
from pipeline.facturx import CrossIndustryInvoice
from pipeline.fields import compact_tax_id, find_iban, is_valid_tax_id
from pipeline.payslip_fields import read_payslip
from pipeline.qr import FiscalQr
from pipeline.vat import (
    SURCHARGE_RATES,
    VatLine,
    VatRow,
    check_vat,
    percent_of,
    rate_from_amounts,
    rate_text,
    settle_vat_rows,
)


class FieldSource(StrEnum):
    """Where a field's value was read."""

    qr = "qr"
    xml = "xml"
    text = "text"
    ocr = "ocr"
    advisor = "advisor"  # set by a correction


@dataclass(slots=True)
class FieldValue:
    """A field as stored: value (JSON), confidence 0..1, source, and why it is not higher."""

    value: Any
    confidence: float
    source: FieldSource
    notes: list[str] = field(default_factory=list)

    def lower(self, factor: float, why: str) -> None:
        self.confidence = round(self.confidence * factor, 3)
        self.notes.append(why)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "confidence": round(self.confidence, 3),
            "source": str(self.source),
        }
        if self.notes:
            out["notes"] = list(self.notes)
        return out


# OCR reads these in place of digits/letters inside a tax id.
_TO_DIGIT: Final = str.maketrans(
    {
        "O": "0",
        "Q": "0",
        "D": "0",
        "I": "1",
        "L": "1",
        "|": "1",
        "S": "5",
        "B": "8",
        "Z": "2",
        "G": "6",
        "T": "7",
    }
)
_TO_LETTER: Final = {"8": "B", "0": "D", "5": "S", "6": "G", "2": "Z", "1": "I", "4": "A"}
_ID_TOKEN: Final = re.compile(
    r"(?<![A-Z0-9])(?:ES[\s-]?)?([A-Z0-9|][\s.-]?[A-Z0-9|]{7}[\s.-]?[A-Z0-9|])"
    r"(?![A-Z0-9])",
    re.IGNORECASE,
)
_SEPARATORS: Final = re.compile(r"[\s.\-]")
# "CIF", "N.I.F.", and OCR's "N.1.F." or "C.l.F." right before a token.
_ID_LABEL: Final = re.compile(r"(c\W?[i1l|]\W?f|n\W?[i1l|]\W?[fe])\W{0,4}$")
_DNI_LETTER_LOST: Final = re.compile(
    r"(?:n\.?i\.?f|dni)\W{0,4}(\d{8})(?:[)\]}!]|\s*$)", re.IGNORECASE | re.MULTILINE
)
_RECIPIENT_CUE: Final = re.compile(
    r"\b(cliente|destinatario|receptor|facturar a|datos del cliente|comprador|nif cliente|"
    r"trabajador|empleado)\b"
)


@dataclass(frozen=True, slots=True)
class TaxIdHit:
    """A tax id found in text: compact value, position, line index, and whether OCR was fixed."""

    value: str
    start: int
    line: int
    repaired: bool


def _repair_tax_id(token: str, *, labelled: bool = False) -> str | None:
    """A valid NIF/CIF/NIE from an OCR token with letter/digit confusions, or None.

    Fewest changes first, and a company's CIF before a person's NIF when both fit (a
    misread first letter, "629241502" → G29241502, or last, → 62924150Z). A token behind a
    "CIF"/"NIF" label may also have one zero printed slashed and read as 8, 6 or 9.
    """
    token = _SEPARATORS.sub("", token).upper()
    if len(token) != 9:
        return None
    if is_valid_tax_id(token):
        return token
    middle = token[1:8].translate(_TO_DIGIT)
    first, last = token[0], token[8]
    heads = dict.fromkeys([first, _TO_LETTER.get(first, first), first.translate(_TO_DIGIT)])
    tails = dict.fromkeys([last, last.translate(_TO_DIGIT), _TO_LETTER.get(last, last)])
    candidates = [head + middle + tail for head in heads for tail in tails]
    if labelled:
        candidates += [
            head + middle[:i] + "0" + middle[i + 1 :] + tail
            for head in heads
            for tail in tails
            for i, digit in enumerate(middle)
            if digit in "869"
        ]
    valid = [c for c in dict.fromkeys(candidates) if is_valid_tax_id(c)]
    if not valid:
        return None
    changes = {c: sum(a != b for a, b in zip(c, token, strict=True)) for c in valid}
    fewest = min(changes.values())
    best = [c for c in valid if changes[c] == fewest]
    companies = [c for c in best if not _is_person_id(c)]
    people = [c for c in best if _is_person_id(c)]
    # Two readings of the same kind: a checksum passed by chance, nothing to choose by.
    if len(companies) == 1:
        return companies[0]
    return people[0] if not companies and len(people) == 1 else None


def find_tax_id_hits(text: str) -> list[TaxIdHit]:
    """Valid tax ids in ``text`` in order (first occurrence each), repairing OCR slips."""
    hits: list[TaxIdHit] = []
    seen: set[str] = set()
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    for match in _ID_TOKEN.finditer(text):
        raw = _SEPARATORS.sub("", match.group(1)).upper()
        labelled = _ID_LABEL.search(fold(text[max(0, match.start() - 12) : match.start()]))
        if raw.isdigit() and len(raw) == 9 and not labelled:
            continue  # phone numbers, account fragments; a labelled one is a misread CIF
        value = _repair_tax_id(raw, labelled=labelled is not None)
        if value is None or value in seen:
            continue
        seen.add(value)
        line = sum(1 for s in line_starts if s <= match.start()) - 1
        hits.append(TaxIdHit(value, match.start(), line, value != compact_tax_id(raw)))
    for match in _DNI_LETTER_LOST.finditer(text):
        # "NIF: 99529224)": the letter was misread as a bracket; the digits decide it.
        value = match.group(1) + dni.calc_check_digit(match.group(1))
        if value not in seen and not any(h.value.startswith(match.group(1)) for h in hits):
            seen.add(value)
            line = text.count("\n", 0, match.start())
            hits.append(TaxIdHit(value, match.start(1), line, True))
    return sorted(hits, key=lambda hit: hit.start)


def _is_person_id(value: str) -> bool:
    return value[0].isdigit() or value[0] in "XYZKLM"


# --- text readers --------------------------------------------------------------------------

# Spaces are optional inside the explicit labels: OCR glues them ("TOTALAPAGAR").
_TOTAL_LABELS: Final = (
    re.compile(
        r"\b(total ?a ?pagar|importe ?total|total ?factura|total ?\(?eur|total ?\(?€|"
        r"total ?a ?percibir|importe ?a ?pagar|total ?ticket)"
    ),
    re.compile(r"\b(total|importe)\b"),
)
_NOT_TOTAL: Final = re.compile(
    r"\b(subtotal|total (iva|base|bases|cuota|cuotas|articulos|unidades|uds|descuento|dto|"
    r"impuestos|devengado|a deducir|aportacion)|entregado|efectivo|cambio|base imponible|"
    r"precio|litros)\b"
)
# "10%", "10,00 %" and, from OCR, "10, 00%".
_RATE: Final = r"(\d{1,2}(?:[.,]\s?\d{1,2})?)\s?%"
_VAT_ROW: Final = re.compile(r"(?:iva|i\.v\.a\.|tipo)?\s*" + _RATE + r"(?!\s*incl)")
# A VAT row starts with its rate, maybe behind OCR specks, a rate code and a mangled "IVA"
# ("| 10%", "A 4%", "C IWA21%"); inside a table, behind anything short ("1 A 10%").
_ROW_START: Final = re.compile(
    r"^\W{0,3}(?:[a-z]{1,2}\W{1,3})?(?:[a-z]{2,4}\s?)?\d{1,2}(?:[.,]\s?\d{1,2})?\s?%"
)
_TABLE_ROW_START: Final = re.compile(r"^.{0,8}?(?<![\d.,])\d{1,2}(?:[.,]\s?\d{1,2})?\s?%")
_BASE_LABEL: Final = re.compile(r"\b(base imponible|base|b\.i\.)\b")
_QUOTA_LABEL: Final = re.compile(r"\b(cuota|cucta|c\.\s?iva)\b")
# The header of a VAT table: "IVA BASE CUOTA", "%IVA B.IMPONIBLE C.IVA", "TIPO BASE IVA TOTAL".
_TABLE_HEADER: Final = re.compile(
    r"(\biva|\b[l1|]?[vw]a\b|\btipo|%).{0,20}\b(base|b\.\s?imp|b\.i\.)"
)
# Amounts whose decimal separator OCR lost ("2221" for 22,21): only read so inside VAT rows,
# where every number has cents and the row's arithmetic confirms the reading.
_BARE_CENTS: Final = re.compile(r"(?<![\d.,:;])\d{3,5}(?![\d%]|[.,:;]\d)")
# ... or that read it as a colon ("11:77"): inside VAT rows there are no times.
_COLON_CENTS: Final = re.compile(r"(?<![\d.,:;])(\d{1,4})[:;](\d{2})(?![\d:])")
_INCLUDED: Final = re.compile(r"\biva\s*" + _RATE + r"\s*incl")
_SURCHARGE: Final = re.compile(r"recargo (de )?equivalencia\s*" + _RATE)
_IRPF: Final = re.compile(r"(?:retencion|irpf)[^%\n]{0,25}?" + _RATE)
# "Nº" folds to "no"; OCR often reads "º" as "2" or "°".
_NO: Final = r"n(?:[ºo°2]|\?2?)\.?"
_NUMBER: Final = re.compile(
    rf"(?:{_NO}\s*(?:de\s+)?(?:factura|fra\.?)|factura\s+simplificada\s*(?:{_NO}(?=[\s:#]))?|"
    rf"factura\s+(?:{_NO}|num\.?|numero)|numero\s+de\s+factura|{_NO}\s*ticket|"
    rf"ticket\s*{_NO}|{_NO}\s*(?:de\s+)?documento|{_NO}(?=\s*:))"
    r"\s*[:#]?\s*([a-z0-9][a-z0-9/\-.]*\d)",
)
# An "O" touching digits inside a number is a zero ("TO30-1738" → "T030-1738").
_O_IN_NUMBER: Final = re.compile(r"(?<=\d)[OQ]|[OQ](?=\d)")
_OPERATION_DATE: Final = re.compile(
    r"fecha\s+(?:de\s+)?(?:la\s+)?(operacion|prestacion|servicio|"
    r"entrega|devengo)"
)
_PAYMENT: Final = (
    ("tarjeta", re.compile(r"\b(tarjeta|visa|mastercard|contactless|tpv|card)\b")),
    ("transferencia", re.compile(r"\b(transferencia|iban)\b")),
    ("domiciliacion", re.compile(r"\b(domiciliacion|recibo domiciliado|adeudo)\b")),
    ("bizum", re.compile(r"\bbizum\b")),
    # OCR glues words ("ENTREGAEFECTIVO"); change is only given in cash.
    ("efectivo", re.compile(r"(efectivo|entregado|metalico|\bcambio\b)")),
)
_CURRENCIES: Final = (
    ("EUR", re.compile(r"€|\beur\b|euros?\b")),
    ("USD", re.compile(r"\$|\busd\b")),
    ("GBP", re.compile(r"£|\bgbp\b")),
)


def _line_amounts(line: str) -> list[Decimal]:
    return [a.value for a in find_amounts(line)]


def _rate(text: str) -> Decimal:
    return Decimal(text.replace(",", ".").replace(" ", ""))


# Lines that say how the amount due was paid by card (the slip's "IMPORTE:" is a label).
_CARD_LINE: Final = re.compile(
    r"(tarjeta|\bvisa\b|mastercard|maestro|\bamex\b|contactless|\btpv\b|datafono)"
)


@dataclass(frozen=True, slots=True)
class TotalChoice:
    """The amount due, how sure we are, and what the other evidence on the page said."""

    value: Decimal
    confidence: float
    repaired: bool
    notes: tuple[str, ...]


def choose_total(folded_lines: Sequence[str], vat_sum: Decimal | None = None) -> TotalChoice | None:
    """The amount due from every clue on the page, each worth points: a TOTAL-like label
    (3 for the explicit labels, 2 for a bare "TOTAL"/"IMPORTE"), the card payment (2), cash
    tendered minus change (2) and the VAT breakdown's sum ``vat_sum`` (2).

    The value with most points wins (then the better label, then the larger amount, as
    totals include their parts), so one misread line is outvoted by two that agree.
    """
    points: dict[Decimal, int] = {}
    label_rank: dict[Decimal, int] = {}
    repaired: dict[Decimal, bool] = {}
    sources: dict[Decimal, list[str]] = {}

    def vote(value: Decimal, weight: int, source: str, rank: int = 9, slip: bool = False) -> None:
        points[value] = points.get(value, 0) + weight
        label_rank[value] = min(label_rank.get(value, 9), rank)
        repaired[value] = repaired.get(value, False) or slip
        sources.setdefault(value, []).append(source)

    for rank, label in enumerate(_TOTAL_LABELS):
        for number, line in enumerate(folded_lines):
            hit = label.search(line)
            if hit is None or _NOT_TOTAL.search(line):
                continue
            amounts = find_amounts(line[hit.end() :])
            if not amounts and number + 1 < len(folded_lines):
                # Label and amount in two cells; not a column header over an item line.
                following = folded_lines[number + 1]
                amounts = [] if re.search(r"[a-df-z]{3,}", following) else find_amounts(following)
            if amounts:
                found = amounts[-1]
                vote(found.value, 3 - rank, "the TOTAL line", rank, found.repaired)
    for line in folded_lines:
        amounts = find_amounts(line) if _CARD_LINE.search(line) else []
        if amounts and not _NOT_TOTAL.search(line):
            vote(amounts[-1].value, 2, "the card payment", slip=amounts[-1].repaired)
    if (cash := _tendered_minus_change(folded_lines)) is not None:
        vote(cash, 2, "cash tendered minus change")
    if vat_sum is not None:
        vote(vat_sum, 2, "the VAT breakdown")
    if not points:
        return None
    best = max(points, key=lambda value: (points[value], -label_rank[value], value))
    rank = label_rank[best]
    confidence = 0.85 if rank == 0 else 0.75 if rank == 1 else 0.55
    notes: list[str] = []
    if len(sources[best]) > 1:
        confidence = min(0.99, confidence + 0.1)  # two clues agree
    if rank == 9:
        notes.append(f"from {' and '.join(sources[best])}")
    for value, found in sources.items():
        for source in found:
            if value == best:
                continue
            if source != "the TOTAL line":
                notes.append(f"{source} says {value}, not {best}")
                confidence *= 0.6
            elif rank == 9:
                # Outvoted: the TOTAL line was misread, or everything else was.
                notes.append(f"{source} says {value}, not {best}")
                confidence *= 0.8
    return TotalChoice(best, round(confidence, 3), repaired[best], tuple(notes))


def _next_amounts(folded_lines: Sequence[str], number: int) -> list[Decimal]:
    """Amounts on the next line when it is a bare amount (label and value in two cells)."""
    if number + 1 >= len(folded_lines):
        return []
    following = folded_lines[number + 1]
    if re.search(r"[a-df-z]{3,}", following):
        return []
    return _line_amounts(following)


def _row_amounts(text: str, ocr: bool) -> list[Decimal]:
    """Amounts in a VAT row, in order; from OCR also numbers that lost their decimal comma."""
    found = [(a.start, a.value) for a in find_amounts(text)]
    if ocr:
        taken = [(a.start, a.end) for a in find_amounts(text)]
        found += [
            (m.start(), Decimal(m.group()) / 100)
            for m in _BARE_CENTS.finditer(text)
            if not any(start <= m.start() < end for start, end in taken)
        ]
        found += [
            (m.start(), Decimal(f"{m.group(1)}.{m.group(2)}"))
            for m in _COLON_CENTS.finditer(text)
            if not any(start <= m.start() < end for start, end in taken)
        ]
    return [value for _, value in sorted(found)]


def _ordered_row(rate: Decimal, amounts: Sequence[Decimal]) -> VatRow:
    """(base, amount, gross) from a row's numbers; some tills print the amount first."""
    first, second = amounts[0], amounts[1]
    gross = amounts[2] if len(amounts) > 2 else None
    if abs(percent_of(first, rate) - second) > Decimal("0.02") and (
        abs(percent_of(second, rate) - first) <= Decimal("0.02")
    ):
        first, second = second, first
    return VatRow(rate, first, second, gross)


def read_vat_lines(folded_lines: Sequence[str], total: Decimal | None) -> list[VatLine]:
    """VAT rows of a text layer (see `read_vat_breakdown`)."""
    return read_vat_breakdown(folded_lines, total)[0]


def read_vat_breakdown(
    folded_lines: Sequence[str], total: Decimal | None, *, ocr: bool = False
) -> tuple[list[VatLine], bool]:
    """VAT lines and whether OCR slips were repaired in them.

    Reads "IVA 21% base cuota" tables (with a rate code, a total column, specks before the
    rate), "Base imponible r% …" + "Cuota IVA r% …" pairs, "Base imponible" + "IVA r%"
    pairs, "IVA r% INCL." and "BASE x CUOTA y". From ``ocr`` text, rows are settled by their
    arithmetic and ``total`` (see `pipeline.vat.settle_vat_rows`); a text layer is taken
    as printed.
    """
    rows: list[VatRow] = []
    base_alone: Decimal | None = None
    bases: dict[Decimal, Decimal] = {}
    quotas: dict[Decimal, Decimal] = {}
    surcharges: dict[Decimal, Decimal] = {}
    consumed: set[int] = set()
    in_table = False
    for number, line in enumerate(folded_lines):
        if number in consumed or _IRPF.search(line):
            continue
        if (surcharge := _SURCHARGE.search(line)) is not None:
            amounts = _line_amounts(line[surcharge.end() :])
            if amounts:
                surcharges[_rate(surcharge.group(2))] = amounts[-1]
            continue
        if (included := _INCLUDED.search(line)) is not None:
            rate = _rate(included.group(1))
            pair = _base_and_quota(line[included.end() :], ocr)
            if pair == (None, None) and number + 1 < len(folded_lines):
                pair = _base_and_quota(folded_lines[number + 1], ocr)
                if pair != (None, None):
                    consumed.add(number + 1)
            base, quota = pair
            if base is None and quota is None and total is not None:
                base = (total / (1 + rate / 100)).quantize(Decimal("0.01"))
            rows.append(VatRow(rate, base, quota))
            continue
        rate_hit = re.search(_RATE, line)
        if rate_hit is not None:
            before = line[: rate_hit.start()]
            after = _row_amounts(line[rate_hit.end() :], ocr)
            if _QUOTA_LABEL.search(before) and after:
                quotas[_rate(rate_hit.group(1))] = after[-1]
                continue
            if _BASE_LABEL.search(before) and after:
                bases[_rate(rate_hit.group(1))] = after[-1]
                continue
        if _BASE_LABEL.search(line) and _QUOTA_LABEL.search(line) and "%" not in line:
            base, quota = _base_and_quota(line, ocr)
            if base is not None and quota is not None:
                # "BASE 13,95 CUOTA 1,40" without its "IVA 10% INCLUIDO": the rate is the
                # one that turns this base into this amount.
                if (rate := rate_from_amounts(base, quota)) is not None or ocr:
                    rows.append(VatRow(rate or Decimal(-1), base, quota))
                continue
        if _TABLE_HEADER.search(line) and not find_amounts(line):
            in_table = True
            continue
        if _BASE_LABEL.search(line) and "%" not in line:
            amounts = _line_amounts(line) or _next_amounts(folded_lines, number)
            if amounts:
                base_alone = amounts[-1]
            continue
        row = _VAT_ROW.search(line)
        # A table row whose rate OCR lost ("> WA& 3.91 0.16 4.07"): its amounts say it.
        if (
            row is None
            and ocr
            and in_table
            and not re.search(r"[a-z]{3,}", line)
            and len(amounts := _row_amounts(line, ocr)) >= 2
        ):
            rows.append(_ordered_row(Decimal(-1), amounts))
            continue
        tabled = (ocr and bool(_ROW_START.match(line))) or (
            in_table and bool(_TABLE_ROW_START.match(line))
        )
        if row is None or (
            "iva" not in line
            and "tipo" not in line
            and not re.match(r"\s*\d{1,2}(?:[.,]\d{1,2})?\s?%", line)
            and not tabled
        ):
            in_table = in_table and bool(re.match(r"\W*total\b", line))
            continue
        rate = _rate(row.group(1))
        if rate > 30:
            continue
        amounts = _row_amounts(line[row.end() :], ocr) or _next_amounts(folded_lines, number)
        if len(amounts) >= 2:
            rows.append(_ordered_row(rate, amounts))
        elif len(amounts) == 1 and rate in bases and rate not in quotas:
            quotas[rate] = amounts[0]  # "Base imponible 21% 100,00" then "IVA 21% 21,00"
        elif len(amounts) == 1 and base_alone is not None:
            rows.append(VatRow(rate, base_alone, amounts[0]))
            base_alone = None
        elif len(amounts) == 1 and (in_table or tabled):
            rows.append(VatRow(rate, amounts[0], None))  # tables print the base first
        elif len(amounts) == 1 and total is not None and rate:
            # "IVA 21%  21,00" with no base printed: derive the base from the total.
            rows.append(VatRow(rate, total - amounts[0], amounts[0]))
    for rate in dict.fromkeys([*bases, *quotas]):
        base = bases.get(rate)
        if base is None and len(quotas) == 1 and base_alone is not None:
            base = base_alone
        rows.append(VatRow(rate, base, quotas.get(rate)))
    if ocr:
        lines, repaired = settle_vat_rows(rows, total)
    else:
        lines, repaired = [_as_printed(row) for row in rows if row.base is not None], False
    if surcharges:
        lines = [
            VatLine(
                ln.rate,
                ln.base,
                ln.amount,
                SURCHARGE_RATES.get(ln.rate.normalize()),
                surcharges.get(SURCHARGE_RATES.get(ln.rate.normalize(), Decimal(-1))),
            )
            for ln in lines
        ]
    return lines, repaired


def _as_printed(row: VatRow) -> VatLine:
    assert row.base is not None
    amount = row.amount if row.amount is not None else percent_of(row.base, row.rate)
    return VatLine(row.rate, row.base, amount)


def _base_and_quota(text: str, ocr: bool) -> tuple[Decimal | None, Decimal | None]:
    """The amounts after "base" and after "cuota" in ``text``, each None when absent."""
    found: list[Decimal | None] = []
    for label in (_BASE_LABEL, _QUOTA_LABEL):
        hit = label.search(text)
        amounts = _row_amounts(text[hit.end() :], ocr) if hit is not None else []
        found.append(amounts[0] if amounts else None)
    return found[0], found[1]


def read_withholding(folded_lines: Sequence[str]) -> tuple[Decimal, Decimal] | None:
    """(IRPF rate, amount withheld) from "Retención IRPF 15 % -150,00"."""
    for line in folded_lines:
        if (hit := _IRPF.search(line)) is not None:
            amounts = _line_amounts(line[hit.end() :])
            if amounts:
                return _rate(hit.group(1)), abs(amounts[-1])
    return None


def _issue_date(folded_lines: Sequence[str]) -> tuple[dt.date, float, bool] | None:
    """(issue date, confidence, OCR-repaired): a "fecha" line first, never a due date."""
    ranked: list[tuple[int, int, DateMatch]] = []
    for number, line in enumerate(folded_lines):
        dates = find_date_matches(line)
        if not dates:
            continue
        if (
            "fecha" in line
            and not _OPERATION_DATE.search(line)
            and not re.search(r"vencim|nacimiento|antiguedad|alta|presentacion|devengo", line)
        ):
            rank = 0
        elif re.search(r"vencim|nacimiento|antiguedad|alta|hasta|al \d", line):
            rank = 3
        else:
            rank = 1
        ranked.append((rank, number, dates[0]))
    if not ranked:
        return None
    rank, _, found = min(ranked, key=lambda item: item[:2])
    return found.date, 0.9 if rank == 0 else 0.7, found.repaired


def _names_near(lines: Sequence[str], hit_line: int) -> str | None:
    """The party's name: the line above its tax id (issuer blocks print name, then NIF)."""
    for offset in (1, 2):
        index = hit_line - offset
        if index < 0:
            break
        candidate = lines[index].strip()
        folded = fold(candidate)
        if (
            len(candidate) >= 3
            and not find_dates(candidate)
            and not re.search(r"\d{5}|tel|c/|calle|avda|plaza|fecha|factura", folded)
            and sum(c.isalpha() for c in candidate) >= 3
        ):
            return (
                re.sub(
                    r"^(cliente|destinatario|empresa|trabajador)\s*[:]?\s*",
                    "",
                    candidate,
                    flags=re.IGNORECASE,
                ).strip()
                or None
            )
    return None


# --- the entry point -----------------------------------------------------------------------

INVOICE_CATEGORIES: Final = frozenset({"factura_recibida", "factura_emitida", "ticket", "otros"})


def extract_document_fields(
    text: str,
    *,
    category: str,
    company_nif: str | None = None,
    source: FieldSource = FieldSource.text,
    qrs: Sequence[FiscalQr] = (),
    facturx: CrossIndustryInvoice | None = None,
    facturae: FacturaeDocument | None = None,
) -> dict[str, dict[str, Any]]:
    """The fields of a document of ``category`` as ``{name: {value, confidence, source,
    notes?}}`` (JSON). ``source`` says whether ``text`` is a text layer or OCR output.
    """
    fields: dict[str, FieldValue] = {}
    lines = text.splitlines()
    folded_lines = [fold(line) for line in lines]
    scale = 1.0 if source is FieldSource.text else 0.9

    def put(
        name: str, value: Any, confidence: float, origin: FieldSource | None = None
    ) -> FieldValue:
        fields[name] = FieldValue(
            value, round(confidence * (scale if origin is None else 1), 3), origin or source
        )
        return fields[name]

    hits = find_tax_id_hits(text)
    if hits:
        put("tax_ids", [h.value for h in hits], 0.9)
    if (iban := find_iban(text)) is not None:
        put("iban", iban, 0.95)

    if category == "nomina":
        for found in read_payslip(text, hits):
            put(found.name, found.value, found.confidence).notes.extend(found.notes)
    elif category == "modelo_aeat":
        _aeat_fields(put, text, folded_lines)
    elif category in INVOICE_CATEGORIES or facturae or facturx or qrs:
        _invoice_fields(
            put,
            fields,
            hits,
            lines,
            folded_lines,
            category,
            company_nif,
            ocr=source is FieldSource.ocr,
        )
        if facturx is not None:
            _apply_facturx(fields, facturx)
        if facturae is not None:
            _apply_facturae(fields, facturae)
        for qr in qrs[:1]:
            _apply_qr(fields, qr)
        _validate_invoice(fields)
    return {name: value.as_json() for name, value in fields.items()}


def _aeat_fields(put: Any, text: str, folded_lines: Sequence[str]) -> None:
    folded = "\n".join(folded_lines)
    if (model := re.search(r"modelo\s*[:\-]?\s*(\d{3})", folded)) is not None:
        put("model", model.group(1), 0.9)
    if (year := re.search(r"ejercicio\s*[:\-]?\s*(\d{4})", folded)) is not None:
        put("fiscal_year", int(year.group(1)), 0.9)
    if (period := re.search(r"periodo\s*[:\-]?\s*([0-4]t|0a|1[0-2]|0[1-9])\b", folded)) is not None:
        put("period", period.group(1).upper(), 0.9)
    csv = re.search(
        r"c[óo]digo\s+seguro\s+de\s+verificaci[óo]n\s*(?:\(csv\))?\s*[:\-]?\s*"
        r"([A-Z0-9]{16,20})",
        text,
        re.IGNORECASE,
    )
    if csv is not None:
        put("csv", csv.group(1).upper(), 0.9)
    receipt = re.search(r"n[úu]mero\s+de\s+justificante\s*[:\-]?\s*(\d{13})", text, re.IGNORECASE)
    if receipt is not None:
        value = put("receipt_number", receipt.group(1), 0.9)
        if model is not None and not receipt.group(1).startswith(model.group(1)):
            value.lower(0.6, f"receipt number does not start with the model {model.group(1)}")
    for result, pattern in (
        ("a_ingresar", r"a ingresar"),
        ("a_devolver", r"a devolver"),
        ("a_compensar", r"a compensar"),
        ("sin_actividad", r"sin actividad"),
        ("cero", r"resultado cero|cuota cero"),
        ("negativa", r"negativa"),
    ):
        if (
            hit := re.search(
                r"(?:resultado|tipo de declaracion|declaracion)[^\n]{0,30}" + pattern, folded
            )
        ) or (hit := re.search(r"\b" + pattern + r"\b", folded)):
            put("result", result, 0.85)
            amounts = find_amounts(folded[hit.end() : hit.end() + 80])
            if amounts:
                put("result_amount", format_amount(amounts[0].value), 0.8)
            break
    hits = find_tax_id_hits(text)
    if hits:
        put("issuer_tax_id", hits[0].value, 0.8)


def _invoice_fields(
    put: Any,
    fields: dict[str, FieldValue],
    hits: Sequence[TaxIdHit],
    lines: Sequence[str],
    folded_lines: Sequence[str],
    category: str,
    company_nif: str | None,
    ocr: bool = False,
) -> None:
    recipient_lines = {n for n, line in enumerate(folded_lines) if _RECIPIENT_CUE.search(line)}
    near_recipient = {n + k for n in recipient_lines for k in range(0, 5)}
    # A NIF on the buyer's own line ("NIF CLIENTE: …") is never the issuer's.
    fallback = hits[0] if hits and hits[0].line not in recipient_lines else None
    issuer = next((h for h in hits if h.line not in near_recipient), fallback)
    recipient = next((h for h in hits if h is not issuer and h.line in near_recipient), None)
    if recipient is None and len(hits) > 1:
        recipient = next(h for h in hits if h is not issuer)
    company = compact_tax_id(company_nif) if company_nif else None
    if category == "factura_emitida" and company and issuer and issuer.value != company:
        # We issued it: the company's NIF is the issuer, whatever comes first on the page.
        ours = next((h for h in hits if h.value == company), None)
        if ours is not None:
            recipient, issuer = issuer, ours
    if issuer is not None:
        value = put(
            "issuer_tax_id", issuer.value, 0.9 if issuer.line not in recipient_lines else 0.6
        )
        if issuer.repaired:
            value.lower(0.7, "OCR letter/digit confusion repaired by checksum")
        if (name := _names_near(lines, issuer.line)) is not None:
            put("issuer_name", name, 0.6)
        elif issuer.line <= 3 and lines:
            put("issuer_name", lines[0].strip(), 0.5)
    if recipient is not None:
        value = put("recipient_tax_id", recipient.value, 0.8)
        if recipient.repaired:
            value.lower(0.7, "OCR letter/digit confusion repaired by checksum")
        if (name := _names_near(lines, recipient.line)) is not None:
            put("recipient_name", name, 0.55)

    text = "\n".join(lines)
    folded = "\n".join(folded_lines)
    if (number := _NUMBER.search(folded)) is not None:
        printed = text[number.start(1) : number.end(1)].upper()
        repaired = printed
        while (fixed := _O_IN_NUMBER.sub("0", repaired)) != repaired:  # "TOO1" → "TO01" → "T001"
            repaired = fixed
        entry = put("invoice_number", repaired, 0.75)
        if repaired != printed:
            entry.lower(0.8, f"read {printed}: O/Q taken as 0")
            printed = repaired
        if (split := re.match(r"^(.+?)[/\-](\d+)$", printed)) is not None:
            put("series", split.group(1), 0.5)
    if (found := _issue_date(folded_lines)) is not None:
        entry = put("issue_date", found[0].isoformat(), found[1])
        if found[2]:
            entry.lower(0.8, "OCR slip repaired in the date (a zero read as 8, 6 or 9)")
    for line in folded_lines:
        if _OPERATION_DATE.search(line) and (dates := find_dates(line)):
            put("operation_date", dates[0][0].isoformat(), 0.8)
            break
    withholding = read_withholding(folded_lines)
    printed_vat, _ = read_vat_breakdown(folded_lines, None, ocr=ocr)
    vat_sum = None
    if printed_vat and not check_vat(printed_vat, None, date=None):
        vat_sum = sum(
            (ln.base + ln.amount + (ln.surcharge_amount or 0) for ln in printed_vat), Decimal(0)
        ) - (withholding[1] if withholding else 0)
    if (total := choose_total(folded_lines, vat_sum)) is not None:
        value = put("total", format_amount(total.value), total.confidence)
        if total.repaired:
            value.lower(0.8, "OCR confusion repaired in the amount (O/0, l/1…)")
        value.notes.extend(total.notes)
    total_value = Decimal(fields["total"].value) if "total" in fields else None
    vat_lines, vat_repaired = read_vat_breakdown(folded_lines, total_value, ocr=ocr)
    if vat_lines:
        entry = put("vat_lines", [ln.as_json() for ln in vat_lines], 0.8)
        if vat_repaired:
            entry.lower(0.8, "OCR slips repaired in the VAT breakdown by its arithmetic")
    if withholding is not None:
        put("irpf_rate", rate_text(withholding[0]), 0.85)
        put("irpf_amount", format_amount(withholding[1]), 0.85)
    for name, pattern in _CURRENCIES:
        if pattern.search(folded):
            put("currency", name, 0.8)
            break
    else:
        put("currency", "EUR", 0.6).notes.append("no currency printed: assumed euros")
    for name, pattern in _PAYMENT:
        if pattern.search(folded):
            put("payment_method", name, 0.7)
            break
    simplified = (
        bool(re.search(r"factura simplificada|f\. ?simplificada|\bticket\b|\btique\b", folded))
        or category == "ticket"
    )
    put("simplified_invoice", simplified, 0.85)
    if simplified:
        carries = recipient is not None
        put("recipient_tax_id_present", carries, 0.8)
        # Art. 7.2 RD 1619/2012: without the buyer's NIF the ticket's VAT is not deductible.
        put("vat_deductible", carries and bool(vat_lines), 0.7)


def _tendered_minus_change(folded_lines: Sequence[str]) -> Decimal | None:
    tendered = change = None
    for line in folded_lines:
        if re.search(r"(entregado|efectivo|\bentrega\b)", line) and (
            amounts := _line_amounts(line)
        ):
            tendered = amounts[-1]
        elif re.search(r"\bcambio\b", line) and (amounts := _line_amounts(line)):
            change = amounts[-1]
    if tendered is not None and change is not None:
        return tendered - change
    return None


def _override(
    fields: dict[str, FieldValue], name: str, value: Any, source: FieldSource, confidence: float
) -> None:
    """Set ``name`` from an exact source, noting what the text said when it disagrees."""
    if value is None:
        return
    previous = fields.get(name)
    entry = FieldValue(value, confidence, source)
    if previous is not None and previous.value != value:
        entry.notes.append(f"{previous.source} read {previous.value!r}")
    elif previous is not None:
        entry.notes.append(f"{previous.source} agrees")
    fields[name] = entry


def _apply_qr(fields: dict[str, FieldValue], qr: FiscalQr) -> None:
    confidence = 0.99 if not qr.problems else 0.7
    _override(fields, "issuer_tax_id", qr.nif or None, FieldSource.qr, confidence)
    number = f"{qr.series}{qr.number}" if qr.series else qr.number
    _override(fields, "invoice_number", number or None, FieldSource.qr, confidence)
    _override(
        fields, "issue_date", qr.date.isoformat() if qr.date else None, FieldSource.qr, confidence
    )
    _override(
        fields,
        "total",
        format_amount(qr.total) if qr.total is not None else None,
        FieldSource.qr,
        confidence,
    )
    fields["fiscal_qr"] = FieldValue(qr.url, confidence, FieldSource.qr, list(qr.problems))


def _apply_facturx(fields: dict[str, FieldValue], xml: CrossIndustryInvoice) -> None:
    for name, value in (
        ("issuer_tax_id", xml.issuer_tax_id),
        ("issuer_name", xml.issuer_name),
        ("recipient_tax_id", xml.buyer_tax_id),
        ("recipient_name", xml.buyer_name),
        ("invoice_number", xml.invoice_number),
        ("issue_date", xml.issue_date.isoformat() if xml.issue_date else None),
        ("total", format_amount(xml.total) if xml.total is not None else None),
        ("tax_total", format_amount(xml.tax_total) if xml.tax_total is not None else None),
        ("currency", xml.currency),
        ("iban", xml.iban),
    ):
        _override(fields, name, value, FieldSource.xml, 0.99)
    if xml.vat_lines:
        fields["vat_lines"] = FieldValue(
            [ln.as_json() for ln in xml.vat_lines], 0.99, FieldSource.xml
        )
    fields["type_code"] = FieldValue(xml.type_code, 0.99, FieldSource.xml)


def _apply_facturae(fields: dict[str, FieldValue], doc: FacturaeDocument) -> None:
    invoice = doc.invoices[0] if doc.invoices else None
    confidence = 0.99 if doc.valid else 0.6
    for name, value in (
        ("issuer_tax_id", doc.issuer_tax_id),
        ("issuer_name", doc.issuer_name),
        ("recipient_tax_id", doc.buyer_tax_id),
        ("recipient_name", doc.buyer_name),
    ):
        _override(fields, name, value, FieldSource.xml, confidence)
    if invoice is not None:
        for name, value in (
            ("invoice_number", invoice.number),
            ("series", invoice.series),
            ("issue_date", invoice.issue_date.isoformat() if invoice.issue_date else None),
            (
                "operation_date",
                invoice.operation_date.isoformat() if invoice.operation_date else None,
            ),
            ("total", format_amount(invoice.total) if invoice.total is not None else None),
            ("currency", invoice.currency),
            ("iban", invoice.iban),
        ):
            _override(fields, name, value, FieldSource.xml, confidence)
        fields["vat_lines"] = FieldValue(
            [ln.as_json() for ln in invoice.vat_lines], confidence, FieldSource.xml
        )
        if invoice.withholding_rate is not None:
            fields["irpf_rate"] = FieldValue(
                rate_text(invoice.withholding_rate), confidence, FieldSource.xml
            )
            fields["irpf_amount"] = FieldValue(
                format_amount(invoice.withholding_amount), confidence, FieldSource.xml
            )
        fields["simplified_invoice"] = FieldValue(
            invoice.document_type == "FA", confidence, FieldSource.xml
        )
    fields["facturae"] = FieldValue(
        {
            "version": doc.version,
            "modality": doc.modality,
            "signed": doc.signed,
            "invoices": len(doc.invoices),
            "valid": doc.valid,
            "errors": [{"code": str(p.code), "message": p.message} for p in doc.errors],
            "warnings": list(doc.warnings),
        },
        1.0,
        FieldSource.xml,
    )
    for problem in doc.errors:
        target = {
            "invalid_tax_id": "issuer_tax_id",
            "totals_inconsistent": "total",
            "schema_invalid": "invoice_number",
        }.get(str(problem.code))
        if target in fields:
            fields[target].notes.append(problem.message)


def _validate_invoice(fields: dict[str, FieldValue]) -> None:
    """Cross-checks that lower confidences: checksums, VAT arithmetic, rates for the date."""
    for name in ("issuer_tax_id", "recipient_tax_id"):
        entry = fields.get(name)
        if (
            entry is not None
            and entry.source is not FieldSource.xml
            and not is_valid_tax_id(str(entry.value))
        ):
            entry.lower(0.4, f"{entry.value} fails the NIF/CIF/NIE check")
    issue = fields.get("issue_date")
    date = dt.date.fromisoformat(issue.value) if issue is not None else None
    total = Decimal(fields["total"].value) if "total" in fields else None
    vat = fields.get("vat_lines")
    if vat is None or vat.source is FieldSource.xml:
        return
    lines = [
        VatLine(
            Decimal(v["rate"]),
            Decimal(v["base"]),
            Decimal(v["amount"]),
            None,
            Decimal(v["surcharge_amount"]) if v["surcharge_amount"] else None,
        )
        for v in vat.value
    ]
    withholding = Decimal(fields["irpf_amount"].value) if "irpf_amount" in fields else Decimal(0)
    problems = check_vat(lines, total, date=date, withholding=withholding)
    for problem in problems:
        vat.lower(0.6, problem)
        if (
            "total" in problem
            and "total" in fields
            and fields["total"].source is not FieldSource.qr
        ):
            fields["total"].lower(0.7, problem)
        if "not in force" in problem and issue is not None:
            issue.lower(0.8, problem)
    if not problems and total is not None and "total" in fields:
        # Everything adds up: the total is corroborated by the breakdown.
        fields["total"].confidence = min(0.99, fields["total"].confidence + 0.1)
