"""First-pass field extraction from document text: tax ids, date, total, number, IBAN."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Final

from stdnum import iban as stdnum_iban
from stdnum.es import cif, nie, nif

from pipeline._text import fold
from pipeline.spanish import MONTH_NUMBERS

# Letter + 7 digits + check (CIF, NIE, K/L/M NIF) or 8 digits + letter (DNI, dots allowed),
# with the "-", " " or "." people put between the parts, optionally behind an "ES" VAT prefix.
_TAX_ID = re.compile(
    r"(?<![A-Z0-9])(?:ES[\s-]?)?"
    r"([A-HJ-NP-SUVWXYZ][\s.-]?\d{7}[\s.-]?[0-9A-Z]"
    r"|\d{8}[\s.-]?[A-Z]"
    r"|\d{1,2}\.\d{3}\.\d{3}[\s.-]?[A-Z])"
    r"(?![A-Z0-9])",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[\s.\-]")

_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?!\d)")
_WORDED_DATE = re.compile(
    r"(?<!\d)(\d{1,2})\s+de\s+(" + "|".join(MONTH_NUMBERS) + r")\s+(?:de\s+|del\s+)?(\d{4})(?!\d)"
)

# An amount with decimal comma (or the dot OCR often reads instead) and optional thousands
# dots: "1.234,56", "1234,56", "12.35", "-3,50".
_AMOUNT = re.compile(r"(?<![\d.,])(-?)(\d{1,3}(?:\.\d{3})+|\d+)[,.](\d{2})(?![\d])")
# Labels of the amount due, best first; each is matched on folded (accentless) text.
_TOTAL_LABELS: Final = (
    (re.compile(r"\b(total a pagar|importe total|total factura|total \(?eur|total \(?€)"), 0.7),
    (re.compile(r"\btotal\b"), 0.6),
)
# "TOTAL" lines that are not the amount due (ticket conventions, see the domain reference).
_NOT_TOTAL = re.compile(
    r"\b(subtotal|total (iva|base|bases|cuota|cuotas|articulos|unidades|uds|descuento|"
    r"dto|impuestos)|entregado|efectivo|cambio|base imponible)\b"
)

_INVOICE_NUMBER = re.compile(
    r"(?:n[ºo°]\.?\s*(?:de\s+)?(?:factura|fra\.?)|factura\s+simplificada|"
    r"factura\s+(?:n[ºo°]\.?|num\.?|numero)|numero\s+de\s+factura|num\.)(?![a-z])"
    r"(?:\s*n[ºo°]\.?)?\s*[:#]?\s*"
    r"([a-z0-9][a-z0-9/\-.]*\d)",
)
_IBAN_START = re.compile(r"(?<![A-Z0-9])[A-Z]{2}\d{2}(?=[\s\dA-Z])")


def compact_tax_id(value: str) -> str:
    """``value`` without separators or the "ES" VAT prefix, upper-case."""
    compact = _SEPARATORS.sub("", value).upper()
    return compact[2:] if compact.startswith("ES") and len(compact) == 11 else compact


def is_valid_tax_id(value: str) -> bool:
    """Whether ``value`` is a valid Spanish NIF (DNI or K/L/M), NIE or CIF, by checksum."""
    number = compact_tax_id(value)
    return nif.is_valid(number) or cif.is_valid(number) or nie.is_valid(number)


def find_tax_ids(text: str) -> list[str]:
    """Valid Spanish NIF/NIE/CIF in ``text``, compact and upper-case, unique, in order."""
    found: list[str] = []
    for match in _TAX_ID.finditer(text):
        number = compact_tax_id(match.group(1))
        if number not in found and is_valid_tax_id(number):
            found.append(number)
    return found


def _field(value: object, confidence: float) -> dict[str, object]:
    return {"value": value, "confidence": confidence, "source": "text"}


def extract_basic_fields(text: str) -> dict[str, object]:
    """A JSON-serialisable dict of the fields found in ``text``; missing ones are omitted.

    Each field is ``{"value": ..., "confidence": 0..1, "source": "text"}``: ``tax_ids``
    (list), ``issue_date`` (ISO), ``total`` (decimal string "1234.56"), ``invoice_number``,
    ``iban`` (compact).
    """
    fields: dict[str, object] = {}
    folded = fold(text)
    # Checksums make a tax id nearly certain; what it is (issuer or recipient) comes later.
    if tax_ids := find_tax_ids(text):
        fields["tax_ids"] = _field(tax_ids, 0.9)
    if found := _issue_date(folded):
        fields["issue_date"] = _field(found[0].isoformat(), found[1])
    if found := _total(folded):
        fields["total"] = _field(str(found[0]), found[1])
    if found := _invoice_number(text, folded):
        fields["invoice_number"] = _field(found, 0.6)
    if found := find_iban(text):
        fields["iban"] = _field(found, 0.95)
    return fields


def parse_date(day: str, month: str | int, year: str) -> dt.date | None:
    """A day-first Spanish date from its parts; two-digit years are 20xx."""
    month_number = month if isinstance(month, int) else MONTH_NUMBERS.get(month, 0) or int(month)
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    try:
        return dt.date(full_year, month_number, int(day))
    except ValueError:
        return None


def _issue_date(folded: str) -> tuple[dt.date, float] | None:
    """The first date on a "fecha" line (not a due date), else the first date at all."""
    candidates: list[tuple[int, dt.date]] = []
    for line in folded.splitlines():
        rank = 0 if "fecha" in line and "vencim" not in line else 2 if "vencim" in line else 1
        for pattern in (_NUMERIC_DATE, _WORDED_DATE):
            for match in pattern.finditer(line):
                day, month, year = match.groups()
                if (date := parse_date(day, month, year)) is not None:
                    candidates.append((rank, date))
    if not candidates:
        return None
    rank, date = min(candidates, key=lambda item: item[0])  # stable: first of the best rank
    return date, 0.8 if rank == 0 else 0.5


def parse_amount(sign: str, units: str, cents: str) -> Decimal:
    """Decimal from the parts matched by the amount pattern."""
    return Decimal(f"{sign}{units.replace('.', '')}.{cents}")


def _total(folded: str) -> tuple[Decimal, float] | None:
    """The amount on the best-labelled TOTAL line (or the line after a bare label)."""
    lines = folded.splitlines()
    for label, confidence in _TOTAL_LABELS:
        amounts = []
        for number, line in enumerate(lines):
            hit = label.search(line)
            if hit is None or _NOT_TOTAL.search(line):
                continue
            found = _AMOUNT.findall(line[hit.end():])
            if not found and number + 1 < len(lines):
                found = _AMOUNT.findall(lines[number + 1])  # label and amount in two cells
            if found:
                amounts.append(parse_amount(*found[-1]))
        if amounts:
            # Among equally good labels the amount due is the largest (totals include parts).
            return max(amounts), confidence
    return None


def _invoice_number(text: str, folded: str) -> str | None:
    match = _INVOICE_NUMBER.search(folded)
    if match is None:
        return None
    # fold() keeps positions, so the original spelling can be cut out.
    return text[match.start(1):match.end(1)].upper()


def find_iban(text: str) -> str | None:
    """The first valid IBAN in ``text`` (spaces allowed every four characters), compact."""
    upper = text.upper()
    for match in _IBAN_START.finditer(upper):
        chars: list[str] = []
        for char in upper[match.start():match.start() + 50]:
            if char.isalnum():
                chars.append(char)
            elif char not in " -" or len(chars) >= 34:
                break
        # Anything glued after the IBAN ("... 1332 BIC") is shed until the checksum holds.
        for end in range(min(len(chars), 34), 14, -1):
            candidate = "".join(chars[:end])
            if stdnum_iban.is_valid(candidate):
                return candidate
    return None
