"""A first, keyword-based category suggestion for a document's text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pipeline._text import fold
from pipeline.fields import compact_tax_id, find_tax_ids


class Category(StrEnum):
    """The folders a document is filed into."""

    factura_recibida = "factura_recibida"
    factura_emitida = "factura_emitida"
    ticket = "ticket"
    nomina = "nomina"
    modelo_aeat = "modelo_aeat"
    seguros_sociales = "seguros_sociales"
    extracto_bancario = "extracto_bancario"
    contrato = "contrato"
    otros = "otros"


@dataclass(frozen=True, slots=True)
class Classification:
    """A suggested category, how sure we are (0..1), and the evidence, for the advisor."""

    category: Category
    confidence: float
    reasons: tuple[str, ...]


# Invoices are scored together and split into issued/received by the issuer's NIF.
_INVOICE: Final = Category.factura_recibida

# (category, keyword, weight). Keywords are matched accent- and case-insensitively as whole
# words; a longer keyword hides the shorter ones inside it ("factura simplificada" is a
# ticket cue, not an invoice one).
KEYWORDS: Final[tuple[tuple[Category, str, float], ...]] = (
    (_INVOICE, "factura", 2.0),
    (_INVOICE, "nº factura", 2.0),
    (_INVOICE, "numero de factura", 2.0),
    (_INVOICE, "fecha de expedicion", 1.0),
    (_INVOICE, "base imponible", 2.0),
    (_INVOICE, "iva", 1.0),
    (_INVOICE, "cuota iva", 1.0),
    (_INVOICE, "forma de pago", 1.0),
    (_INVOICE, "vencimiento", 1.0),
    (_INVOICE, "retencion irpf", 1.0),
    (Category.ticket, "ticket", 3.0),
    (Category.ticket, "factura simplificada", 4.0),
    (Category.ticket, "f. simplificada", 4.0),
    (Category.ticket, "total a pagar", 1.0),
    (Category.ticket, "efectivo", 1.0),
    (Category.ticket, "entregado", 1.0),
    (Category.ticket, "tarjeta", 1.0),
    (Category.ticket, "cambio", 1.0),
    (Category.ticket, "iva incluido", 2.0),
    (Category.ticket, "gracias por su visita", 2.0),
    (Category.ticket, "gracias por su compra", 2.0),
    (Category.ticket, "gasoleo a", 2.0),
    (Category.ticket, "gasolina 95", 2.0),
    (Category.ticket, "surtidor", 2.0),
    (Category.ticket, "litros", 1.0),
    (Category.ticket, "precio/l", 1.0),
    (Category.ticket, "aparcamiento", 2.0),
    (Category.ticket, "parking", 2.0),
    (Category.ticket, "peaje", 2.0),
    (Category.ticket, "tiempo de estancia", 2.0),
    (Category.ticket, "mesa", 1.0),
    (Category.ticket, "comensales", 2.0),
    (Category.ticket, "camarero", 2.0),
    (Category.ticket, "supermercado", 2.0),
    (Category.ticket, "supermercados", 2.0),
    (Category.ticket, "n. oper", 1.0),
    (Category.ticket, "total compra", 2.0),
    # OCR of photographed receipts loses or mangles words ("F, SIMPLIFICADA", "FRA.
    # SIMPLIFICADA"): the word alone, and the card slip and till wording, are ticket cues too.
    (Category.ticket, "simplificada", 3.0),
    (Category.ticket, "tique", 3.0),
    (Category.ticket, "copia cliente", 2.0),
    (Category.ticket, "copia para el cliente", 2.0),
    (Category.ticket, "visa", 1.0),
    (Category.ticket, "mastercard", 1.0),
    (Category.ticket, "contactless", 1.0),
    (Category.ticket, "pax", 1.0),
    (Category.ticket, "articulos", 1.0),
    (Category.ticket, "le atendio", 2.0),
    (Category.ticket, "i.v.a. incluido", 2.0),
    (Category.nomina, "nomina", 3.0),
    (Category.nomina, "periodo de liquidacion", 3.0),
    (Category.nomina, "total aportaciones", 1.0),
    (Category.nomina, "base sujeta a retencion del irpf", 2.0),
    (Category.nomina, "recibo de salarios", 4.0),
    (Category.nomina, "recibo individual justificativo del pago de salarios", 4.0),
    (Category.nomina, "liquido a percibir", 3.0),
    (Category.nomina, "neto a percibir", 3.0),
    (Category.nomina, "salario base", 2.0),
    (Category.nomina, "devengos", 2.0),
    (Category.nomina, "total devengado", 2.0),
    (Category.nomina, "total a deducir", 2.0),
    (Category.nomina, "contingencias comunes", 1.0),
    (Category.modelo_aeat, "modelo 303", 4.0),
    (Category.modelo_aeat, "modelo 111", 4.0),
    (Category.modelo_aeat, "modelo 115", 4.0),
    (Category.modelo_aeat, "modelo 130", 4.0),
    (Category.modelo_aeat, "modelo 390", 4.0),
    (Category.modelo_aeat, "modelo 190", 4.0),
    (Category.modelo_aeat, "modelo 347", 4.0),
    (Category.modelo_aeat, "agencia tributaria", 3.0),
    (Category.modelo_aeat, "autoliquidacion", 3.0),
    (Category.modelo_aeat, "justificante de presentacion", 2.0),
    (Category.modelo_aeat, "declaracion", 1.0),
    (Category.modelo_aeat, "codigo seguro de verificacion", 3.0),
    (Category.modelo_aeat, "numero de justificante", 3.0),
    (Category.modelo_aeat, "pago fraccionado", 2.0),
    (Category.modelo_aeat, "retenciones e ingresos a cuenta", 2.0),
    (Category.seguros_sociales, "tc2", 3.0),
    (Category.seguros_sociales, "rlc", 3.0),
    (Category.seguros_sociales, "rnt", 3.0),
    (Category.seguros_sociales, "tesoreria general de la seguridad social", 4.0),
    (Category.seguros_sociales, "recibo de liquidacion de cotizaciones", 4.0),
    (Category.seguros_sociales, "relacion nominal de trabajadores", 4.0),
    (Category.extracto_bancario, "extracto", 3.0),
    (Category.extracto_bancario, "saldo", 2.0),
    (Category.extracto_bancario, "saldo anterior", 1.0),
    (Category.extracto_bancario, "movimientos", 2.0),
    (Category.extracto_bancario, "fecha valor", 2.0),
    (Category.contrato, "contrato", 3.0),
    (Category.contrato, "clausulas", 2.0),
    (Category.contrato, "reunidos", 2.0),
    (Category.contrato, "exponen", 2.0),
    (Category.contrato, "estipulaciones", 2.0),
    (Category.contrato, "en prueba de conformidad", 2.0),
)
# A keyword classifier is never sure: keep its confidence below what a real model earns.
MAX_CONFIDENCE: Final = 0.9
# Evidence smaller than this many points is a hint, not a classification.
MIN_SCORE: Final = 2.0

_PATTERNS: Final = tuple(
    (category, keyword, weight, re.compile(rf"(?<!\w){re.escape(fold(keyword))}(?!\w)"))
    for category, keyword, weight in sorted(KEYWORDS, key=lambda row: -len(row[1]))
)


def suggest_category(
    text: str, *, company_nif: str | None = None, nifs_found: Sequence[str] = ()
) -> Classification:
    """Suggest a Category for ``text`` from weighted keywords (see ``KEYWORDS``).

    Invoices are ``factura_emitida`` when the first NIF found (the issuer's; ``nifs_found``
    or, if empty, the ones in ``text``) is ``company_nif``, else ``factura_recibida``.
    Empty or unmatched text gives ``otros`` with a low confidence.
    """
    folded = " ".join(fold(text).split())
    if not folded:
        return Classification(Category.otros, 0.0, ("empty text",))

    scores: dict[Category, float] = {}
    evidence: dict[Category, list[str]] = {}
    taken = bytearray(len(folded))  # characters already claimed by a longer keyword
    for category, keyword, weight, pattern in _PATTERNS:
        for match in pattern.finditer(folded):
            if any(taken[match.start() : match.end()]):
                continue
            taken[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
            if keyword not in evidence.setdefault(category, []):
                # Each keyword counts once: a long ticket repeating "IVA" is not more invoice.
                scores[category] = scores.get(category, 0.0) + weight
                evidence[category].append(keyword)

    if not scores or max(scores.values()) < MIN_SCORE:
        found = ", ".join(f"'{k}'" for words in evidence.values() for k in words)
        return Classification(
            Category.otros, 0.1, (f"too little evidence: {found}" if found else "no keywords",)
        )
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best, best_score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    # Share of the evidence, damped by a constant so that one keyword is never certainty.
    confidence = min(MAX_CONFIDENCE, best_score / (best_score + runner_up + 3.0))
    reasons = [f"{_label(best)}: " + ", ".join(f"'{k}'" for k in evidence[best])]
    if runner_up:
        reasons.append(f"also {_label(ranked[1][0])} ({runner_up:g} vs {best_score:g} points)")

    if best is _INVOICE:
        best, direction = _invoice_direction(text, company_nif, nifs_found)
        reasons.append(direction)
    return Classification(best, round(confidence, 2), tuple(reasons))


def _label(category: Category) -> str:
    return "factura" if category is _INVOICE else str(category)


def _invoice_direction(
    text: str, company_nif: str | None, nifs_found: Sequence[str]
) -> tuple[Category, str]:
    if not company_nif:
        return Category.factura_recibida, "no company NIF given: assumed received"
    nifs = [compact_tax_id(n) for n in nifs_found] or find_tax_ids(text)
    company = compact_tax_id(company_nif)
    if not nifs:
        return Category.factura_recibida, "no NIF found: assumed received"
    if nifs[0] == company:
        return Category.factura_emitida, f"issuer NIF {nifs[0]} is the company's"
    if company in nifs:
        return Category.factura_recibida, f"company NIF {company} is the recipient"
    return Category.factura_recibida, f"issuer NIF {nifs[0]} is not the company's"
