from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from pipeline.errors import DocumentError, ErrorCode
from pipeline.normalize import NormalizedDocument, normalize_upload
from pipeline.ocr import (
    PSM_ONE_BLOCK,
    PSM_PAGE,
    OcrPage,
    OcrResult,
    merge_text,
    ocr_pdf_pages,
    page_segmentation,
)
from tests.documents import (
    invoice_pdf_bytes,
    invoice_scan_image,
    make_invoice,
    make_ticket,
    ocr_normal,
    scanned_pdf_bytes,
    ticket_image,
    ticket_photo_bytes,
)
from tests.receipts import make_receipt, receipt_photo_bytes, receipt_print


@pytest.mark.parametrize("seed", [33, 35])
def test_ticket_photo_ocr_recovers_merchant_and_total(seed: int, upload, out_pdf) -> None:
    ticket = make_ticket(seed)
    doc = normalize_upload(upload(ticket_photo_bytes(ticket)), out_pdf, fix_rotation=False)
    result = ocr_pdf_pages(out_pdf, doc.pages_needing_ocr, dpi=150)

    text = ocr_normal(result.text)
    assert all(ocr_normal(word) in text for word in ticket.words), result.text
    assert ocr_normal(ticket.total_text) in text, result.text
    assert "factura simplificada" in text
    assert result.mean_confidence is not None
    assert result.mean_confidence > 70


def test_photographed_tickets_keep_their_accents(upload, out_pdf) -> None:
    # Spanish words differ by their accents (año/ano); a read that drops them is a wrong
    # read, even though accent-folded comparisons (ocr_normal) would call it right.
    kept, stripped = [], []
    for seed in range(1, 9):
        ticket = make_ticket(seed)
        doc = normalize_upload(upload(ticket_photo_bytes(ticket)), out_pdf)
        text = ocr_pdf_pages(out_pdf, doc.pages_needing_ocr).text.casefold()
        read = set(re.findall(r"\w+", text))
        bare = {ocr_normal(word) for word in read}
        printed = " ".join(
            [ticket.merchant, ticket.legal_name, ticket.address, *(d for d, _, _ in ticket.lines)]
        )
        for word in set(re.findall(r"\w+", printed.casefold())):
            if ocr_normal(word) == word:
                continue  # no diacritic to lose
            if word in read:
                kept.append(word)
            elif ocr_normal(word) in bare:
                stripped.append(f"{seed}: {word}")
    assert not stripped, stripped
    assert len(kept) >= 15, kept


def test_receipts_are_read_as_one_block_and_pages_with_layout_analysis(tmp_path: Path) -> None:
    receipt, page = tmp_path / "receipt.png", tmp_path / "page.png"
    receipt_print(make_receipt(2)).save(receipt)
    invoice_scan_image(make_invoice(33)).save(page)
    assert page_segmentation(receipt) == PSM_ONE_BLOCK
    assert page_segmentation(page) == PSM_PAGE
    assert page_segmentation(tmp_path / "missing.png") == PSM_PAGE


def test_photographed_receipt_keeps_its_column_of_amounts(upload, out_pdf) -> None:
    # With full page layout analysis tesseract dropped every right-aligned amount here.
    document = make_receipt(2)
    doc = normalize_upload(upload(receipt_photo_bytes(document)), out_pdf)
    text = ocr_pdf_pages(out_pdf, doc.pages_needing_ocr).text
    for amount in ("111,16", "109,23", "220,39", "500,00", "279,61"):
        assert amount in text, text


def test_scanned_invoice_ocr_keeps_lines(upload, out_pdf) -> None:
    invoice = make_invoice(33)
    scan = scanned_pdf_bytes(invoice_scan_image(invoice, dpi=150), dpi=150)
    doc = normalize_upload(upload(scan), out_pdf)
    result = ocr_pdf_pages(out_pdf, doc.pages_needing_ocr, dpi=150)

    [page] = result.pages
    assert page.index == 0
    assert invoice.number in page.text
    assert invoice.issuer_cif in page.text
    # Lines are rebuilt from tesseract's layout, not one long string.
    assert any(line.strip().startswith("FACTURA") for line in page.text.splitlines())


def test_only_listed_pages_are_read(tmp_path: Path) -> None:
    blank = scanned_pdf_bytes(Image.new("L", (600, 800), 255), dpi=100)
    ticket = make_ticket(34)
    text_page = scanned_pdf_bytes(ticket_image(ticket, photo=False), dpi=150)
    writer = PdfWriter()
    for data in (blank, text_page, blank):
        writer.append(PdfReader(io.BytesIO(data)))
    pdf = tmp_path / "three.pdf"
    with pdf.open("wb") as fh:
        writer.write(fh)

    result = ocr_pdf_pages(pdf, [1, 2], dpi=150)
    assert [page.index for page in result.pages] == [1, 2]
    assert ocr_normal(ticket.words[0]) in ocr_normal(result.pages[0].text)
    assert result.pages[1].text == ""
    assert result.pages[1].confidence is None
    assert result.text.count("\f") == 1


def test_blank_page_gives_no_text_and_no_confidence(tmp_path: Path) -> None:
    pdf = tmp_path / "blank.pdf"
    pdf.write_bytes(scanned_pdf_bytes(Image.new("L", (600, 800), 255), dpi=100))
    result = ocr_pdf_pages(pdf, [0], dpi=100)
    assert result.text == ""
    assert result.mean_confidence is None


def test_a_pdf_poppler_cannot_parse_fails_as_corrupt(tmp_path: Path) -> None:
    pdf = tmp_path / "broken.pdf"
    pdf.write_bytes(b"%PDF-1.7\nthis is not a pdf at all\n")
    with pytest.raises(DocumentError) as caught:
        ocr_pdf_pages(pdf, [0])
    assert caught.value.code is ErrorCode.corrupt_file


def test_a_scan_with_damaged_jpeg_data_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    invoice = make_invoice(52)
    scan = scanned_pdf_bytes(invoice_scan_image(invoice, dpi=150), dpi=150)
    start = scan.index(b"\xff\xd8\xff")
    end = scan.index(b"\xff\xd9", start)
    # The lower half of the picture is lost (a failing disk, a cut transfer), not its size.
    cut = start + (end - start) // 2
    pdf = tmp_path / "damaged.pdf"
    pdf.write_bytes(scan[:cut] + bytes(end - cut) + scan[end:])
    result = ocr_pdf_pages(pdf, [0], dpi=150)
    assert ocr_normal(invoice.issuer_name) in ocr_normal(result.text)


def test_page_out_of_range_fails(tmp_path: Path) -> None:
    pdf = tmp_path / "one.pdf"
    pdf.write_bytes(scanned_pdf_bytes(Image.new("L", (200, 200), 255), dpi=100))
    with pytest.raises(DocumentError) as caught:
        ocr_pdf_pages(pdf, [3], dpi=100)
    assert caught.value.code is ErrorCode.ocr_failed


def test_unknown_language_fails_as_ocr_failed(tmp_path: Path) -> None:
    pdf = tmp_path / "one.pdf"
    pdf.write_bytes(scanned_pdf_bytes(ticket_image(make_ticket(35), photo=False), dpi=150))
    with pytest.raises(DocumentError) as caught:
        ocr_pdf_pages(pdf, [0], languages="xxx", dpi=100)
    assert caught.value.code is ErrorCode.ocr_failed


def test_tesseract_timeout_is_a_timeout(tmp_path: Path) -> None:
    pdf = tmp_path / "one.pdf"
    pdf.write_bytes(scanned_pdf_bytes(ticket_image(make_ticket(36), photo=False), dpi=150))
    with pytest.raises(DocumentError) as caught:
        ocr_pdf_pages(pdf, [0], dpi=300, timeout=0.01)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.timeout


def test_omp_thread_limit_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    pdf = tmp_path / "blank.pdf"
    pdf.write_bytes(scanned_pdf_bytes(Image.new("L", (100, 100), 255), dpi=100))
    ocr_pdf_pages(pdf, [0], dpi=50)
    import os

    assert os.environ["OMP_THREAD_LIMIT"] == "1"


def test_merge_text_uses_ocr_only_where_needed() -> None:
    layer = "Factura F2026/0001 con capa de texto suficiente"
    doc = NormalizedDocument(
        detected_type="application/pdf",
        pages=3,  # type: ignore[arg-type]
        page_texts=(layer, "", "  "),
    )
    ocr = OcrResult(
        (OcrPage(0, "ignored: the layer is better", 90.0), OcrPage(1, "texto reconocido", 88.0))
    )
    assert merge_text(doc, ocr) == f"{layer}\ftexto reconocido\f  "
    assert merge_text(doc, None) == f"{layer}\f\f  "
    assert OcrResult(ocr.pages).mean_confidence == pytest.approx(89.0)


def test_text_pdf_needs_no_ocr_and_merges_to_its_layer(upload, out_pdf) -> None:
    invoice = make_invoice(37)
    doc = normalize_upload(upload(invoice_pdf_bytes(invoice)), out_pdf)
    assert merge_text(doc, None) == doc.text
    assert invoice.number in merge_text(doc, None)
