"""The classify + extract step end to end on text: every category, the review flag, photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from pdf2image import convert_from_path

from pipeline.extract import analyze_document
from pipeline.normalize import normalize_upload
from pipeline.ocr import merge_text, ocr_pdf_pages
from tests.extraction_documents import (
    GENERATORS,
    document_pdf_bytes,
    document_photo_bytes,
    make_professional_invoice,
    make_supermarket_ticket,
)

COMPANY = "B12345674"
OTHER_CATEGORIES = {
    "seguros_sociales": "TESORERÍA GENERAL DE LA SEGURIDAD SOCIAL\nRecibo de liquidación de "
    "cotizaciones (RLC)\nRelación nominal de trabajadores (RNT)\nCCC 28/1234567/89",
    "extracto_bancario": "EXTRACTO DE MOVIMIENTOS\nCuenta ES91 2100 0418 4502 0005 1332\n"
    "Fecha valor  Concepto  Importe  Saldo\nSaldo anterior 1.234,00",
    "contrato": "CONTRATO DE ARRENDAMIENTO DE LOCAL\nREUNIDOS\nDe una parte…\nEXPONEN\n"
    "CLÁUSULAS\nPrimera.- …\nY en prueba de conformidad firman",
    "otros": "Hola, os envío el plano de la oficina nueva.\nUn saludo",
}


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_generated_documents_get_their_category(kind: str) -> None:
    for seed in range(3):
        document = GENERATORS[kind](seed)
        analysis = analyze_document(document.text, company_nif=COMPANY)
        expected = document.truth["category"]
        assert str(analysis.classification.category) == expected, document.text
        assert analysis.classification.confidence >= 0.5


@pytest.mark.parametrize(("category", "text"), sorted(OTHER_CATEGORIES.items()))
def test_the_other_categories(category: str, text: str) -> None:
    assert str(analyze_document(text).classification.category) == category


def test_issued_versus_received_by_the_company_nif() -> None:
    received = make_professional_invoice(4, company_nif=COMPANY)
    issued = make_professional_invoice(4, company_nif=COMPANY, issued=True)
    assert (
        str(analyze_document(received.text, company_nif=COMPANY).classification.category)
        == "factura_recibida"
    )
    analysis = analyze_document(issued.text, company_nif=COMPANY)
    assert str(analysis.classification.category) == "factura_emitida"
    assert analysis.fields["issuer_tax_id"]["value"] == COMPANY


def test_review_when_the_folder_disagrees_or_the_suggestion_is_unsure() -> None:
    ticket = make_supermarket_ticket(2)
    agreed = analyze_document(ticket.text, chosen_category="ticket")
    assert not agreed.needs_review
    assert agreed.review_reasons == ()
    disagreed = analyze_document(ticket.text, chosen_category="nomina")
    assert disagreed.needs_review
    assert disagreed.review_reasons == ("uploader chose nomina, Papeleo suggests ticket",)
    unsure = analyze_document(OTHER_CATEGORIES["otros"], chosen_category="otros")
    assert unsure.needs_review
    assert "confidence" in unsure.review_reasons[0]
    assert not analyze_document(
        OTHER_CATEGORIES["otros"], chosen_category="otros", review_threshold=0.05
    ).needs_review


@pytest.mark.parametrize("kind", ["ticket_restaurant", "payslip", "invoice_irpf"])
def test_noisy_photos_through_normalize_and_ocr(kind: str, tmp_path: Path) -> None:
    """A handful of real photo OCRs (the benchmark runs hundreds)."""
    document = GENERATORS[kind](42)
    source = tmp_path / "photo.jpg"
    source.write_bytes(document_photo_bytes(document))
    normalized = normalize_upload(source, tmp_path / "n.pdf")
    result = ocr_pdf_pages(tmp_path / "n.pdf", list(normalized.pages_needing_ocr))
    analysis = analyze_document(merge_text(normalized, result), from_ocr=True, company_nif=COMPANY)
    truth = document.truth
    assert str(analysis.classification.category) == truth["category"]
    assert analysis.fields["issuer_tax_id"]["value"] == truth["issuer_tax_id"]
    assert analysis.fields["issuer_tax_id"]["source"] == "ocr"
    key = "net" if kind == "payslip" else "total"
    assert analysis.fields[key]["value"] == truth[key]


def test_a_clean_pdf_with_a_verifactu_qr(tmp_path: Path) -> None:
    document = next(d for d in (GENERATORS["ticket_fuel"](s) for s in range(50)) if d.qr_url)
    source = tmp_path / "ticket.pdf"
    source.write_bytes(document_pdf_bytes(document))
    normalized = normalize_upload(source, tmp_path / "n.pdf")
    images = convert_from_path(str(tmp_path / "n.pdf"), dpi=200, first_page=1, last_page=1)
    analysis = analyze_document(normalized.text, page_images=images)
    assert analysis.fields["total"]["source"] == "qr"
    assert analysis.fields["total"]["value"] == document.truth["total"]
    assert analysis.fields["total"]["notes"] == ["text agrees"]
    assert analysis.fields["fiscal_qr"]["value"] == document.qr_url
