"""The archive PDF: the normalized pages untouched, with OCR words findable where they are."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from pipeline.normalize import normalize_upload
from pipeline.ocr import layer_path, ocr_pdf_pages
from pipeline.searchable import build_searchable_pdf
from tests.documents import (
    invoice_pdf_bytes,
    invoice_scan_image,
    make_invoice,
    scanned_pdf_bytes,
)


def test_scan_becomes_searchable_with_the_same_page(tmp_path: Path, upload) -> None:
    invoice = make_invoice(51)
    source = upload(scanned_pdf_bytes(invoice_scan_image(invoice, dpi=150), dpi=150))
    normalized = tmp_path / "normalized.pdf"
    doc = normalize_upload(source, normalized)
    layers = tmp_path / "layers"
    result = ocr_pdf_pages(normalized, doc.pages_needing_ocr, layers_dir=layers)
    archive = tmp_path / "archive.pdf"
    build_searchable_pdf(normalized, {0: layer_path(layers, 0)}, archive)

    before, after = PdfReader(normalized).pages[0], PdfReader(archive).pages[0]
    assert before.mediabox == after.mediabox
    assert before.extract_text().strip() == ""
    text = after.extract_text()
    assert invoice.number in text
    assert invoice.number in result.text
    # The invisible words sit over the printed ones: the number is in the page's top half.
    found = []
    after.extract_text(
        visitor_text=lambda t, cm, tm, *_: found.append(tm[5]) if invoice.number in t else None
    )
    assert found
    assert all(float(after.mediabox.height) / 2 < y <= float(after.mediabox.height) for y in found)


def test_pages_without_a_layer_are_copied(tmp_path: Path, upload) -> None:
    normalized = tmp_path / "text.pdf"
    normalize_upload(upload(invoice_pdf_bytes(make_invoice(52))), normalized)
    archive = tmp_path / "archive.pdf"
    build_searchable_pdf(normalized, {}, archive)
    copied = PdfReader(archive).pages[0].extract_text()
    assert copied == PdfReader(normalized).pages[0].extract_text()
