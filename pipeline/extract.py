"""The classify + extract step as one pure function: category, fields and review flag.

Order of trust: XML (Facturae upload, Factur-X attachment) > fiscal QR > text layer > OCR.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from PIL import Image

from pipeline.classify import Category, Classification, suggest_category
from pipeline.facturae import FacturaeDocument
from pipeline.facturx import CrossIndustryInvoice, read_facturx
from pipeline.fields import compact_tax_id
from pipeline.invoice_fields import FieldSource, extract_document_fields, find_tax_id_hits
from pipeline.learning import combine, predict_learned
from pipeline.qr import FiscalQr, decode_fiscal_qrs

DEFAULT_REVIEW_THRESHOLD: Final = 0.5
# Pages searched for a fiscal QR: the rules put it on the first page.
QR_PAGES: Final = 2


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the classify step found: suggested category (with reasons) and fields (JSON)."""

    classification: Classification
    fields: dict[str, dict[str, Any]]
    needs_review: bool
    review_reasons: tuple[str, ...]


def _direction(
    text: str, company_nif: str | None, fields_issuer: str | None, qr: FiscalQr | None
) -> list[str]:
    """Tax ids in the order the invoice rule needs them: issuer first."""
    ordered = [h.value for h in find_tax_id_hits(text)]
    issuer = qr.nif if qr is not None and qr.nif else fields_issuer
    if issuer:
        ordered = [issuer, *(n for n in ordered if n != issuer)]
    return ordered


def analyze_document(
    text: str,
    *,
    company_nif: str | None = None,
    from_ocr: bool = False,
    page_images: Iterable[Image.Image] = (),
    pdf: Path | bytes | None = None,
    facturae: FacturaeDocument | None = None,
    chosen_category: str | None = None,
    learned_model: dict[str, Any] | None = None,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> Analysis:
    """Classify ``text`` and extract its fields.

    ``page_images`` are searched for Verifactu/TicketBAI QR codes; ``pdf`` for an embedded
    Factur-X XML; ``facturae`` is a parsed Facturae upload. ``chosen_category`` is the
    uploader's folder: a disagreement, or a confidence below ``review_threshold``, flags the
    document for review. ``learned_model`` is the advisory's model (see pipeline.learning).
    """
    qrs: Sequence[FiscalQr] = decode_fiscal_qrs(page_images)
    facturx: CrossIndustryInvoice | None = read_facturx(pdf) if pdf is not None else None
    source = FieldSource.ocr if from_ocr else FieldSource.text

    rule = suggest_category(text, company_nif=company_nif)
    if facturae is not None or facturx is not None:
        rule = Classification(Category.factura_recibida, 0.95, ("structured e-invoice XML",))
    elif qrs and rule.category not in {
        Category.ticket,
        Category.factura_recibida,
        Category.factura_emitida,
    }:
        rule = Classification(Category.ticket, 0.7, ("fiscal QR code", *rule.reasons))
    classification = combine(rule, predict_learned(learned_model, text))

    category = str(classification.category)
    fields = extract_document_fields(
        text,
        category=category,
        company_nif=company_nif,
        source=source,
        qrs=qrs,
        facturx=facturx,
        facturae=facturae,
    )
    if classification.category in {Category.factura_recibida, Category.factura_emitida}:
        issuer = fields.get("issuer_tax_id", {}).get("value")
        ordered = _direction(text, company_nif, issuer, qrs[0] if qrs else None)
        classification = _invoice_side(classification, company_nif, ordered)
        if str(classification.category) != category:
            category = str(classification.category)
            fields = extract_document_fields(
                text,
                category=category,
                company_nif=company_nif,
                source=source,
                qrs=qrs,
                facturx=facturx,
                facturae=facturae,
            )

    reasons: list[str] = []
    if chosen_category and chosen_category != category:
        reasons.append(f"uploader chose {chosen_category}, Papeleo suggests {category}")
    if classification.confidence < review_threshold:
        reasons.append(
            f"category confidence {classification.confidence:.2f} < {review_threshold:.2f}"
        )
    if facturae is not None and not facturae.valid:
        reasons.append("the Facturae file has validation errors")
    return Analysis(classification, fields, bool(reasons), tuple(reasons))


def _invoice_side(
    classification: Classification, company_nif: str | None, ordered: Sequence[str]
) -> Classification:
    """factura_emitida when the issuer is the client company, else factura_recibida."""
    if not company_nif or not ordered:
        return classification
    company = compact_tax_id(company_nif)
    side = Category.factura_emitida if ordered[0] == company else Category.factura_recibida
    why = (
        f"issuer NIF {ordered[0]} is the company's"
        if side is Category.factura_emitida
        else f"issuer NIF {ordered[0]} is not the company's"
    )
    reasons = tuple(r for r in classification.reasons if "NIF" not in r and "assumed" not in r)
    return Classification(side, classification.confidence, (*reasons, why))
