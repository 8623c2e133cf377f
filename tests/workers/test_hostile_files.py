"""Hostile files through the real tasks (in-process, eager), a retry with a password, and
a long scan fanned out page by page giving what sequential OCR gives.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from pipeline.errors import DocumentError, ErrorCode
from storage.keys import ObjectRole
from storage.models import Document
from tests.documents import (
    invoice_scan_image,
    make_invoice,
    make_ticket,
    scanned_pdf_bytes,
    ticket_photo_bytes,
)
from tests.workers.test_documents import new_document, runtime  # noqa: F401 - fixture
from workers import documents as tasks
from workers.retry import retry_document
from workers.runtime import get_runtime
from workers.settings import get_settings

HOSTILE = {
    "pillow_decompression_bomb.gif": "image_too_large",
    "ocrmypdf_hugemono.pdf": "image_too_large",
    "pillow_truncated_jpeg.jpg": "corrupt_file",
    "ocrmypdf_invalid.pdf": "corrupt_file",
    "derived_zero_bytes.pdf": "empty_file",
    "pypdf_encrypted-file.pdf": "needs_password",
}


def load(document_id: str) -> Document:
    with get_runtime().sessions() as session:
        document = session.get_one(Document, document_id)
        session.expunge(document)
        return document


def test_hostile_files_fail_with_their_code_and_the_worker_keeps_serving(
    runtime, samples_dir: Path  # noqa: F811
) -> None:
    for name, code in HOSTILE.items():
        document_id = new_document((samples_dir / "broken_pdfs" / name).read_bytes(), name)
        tasks.start_processing(document_id)
        document = load(document_id)
        assert (document.status, document.error_code) == ("failed", code), name
        assert get_runtime().store.exists(document.original_key)
    ticket = make_ticket(2)
    document_id = new_document(ticket_photo_bytes(ticket), "ticket.jpg")
    tasks.start_processing(document_id)
    document = load(document_id)
    assert document.status == "indexed"
    assert ticket.words[0].casefold() in (document.text or "").casefold()
    assert document.page_confidences
    assert document.page_confidences["0"] > 50
    archive = Path(get_runtime().settings.data_dir) / "archive.pdf"
    get_runtime().store.get_file(document.archive_key or "", archive)
    assert ticket.words[0].casefold() in PdfReader(archive).pages[0].extract_text().casefold()


def test_a_poster_sized_text_page_is_classified_from_a_smaller_render(runtime) -> None:  # noqa: F811
    # 8400 pt square: at the QR search's 200 dpi, 544 million pixels, which Pillow refuses as a
    # decompression bomb; the page's text needs no render at all.
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(8400, 8400))
    page.setFont("Helvetica", 400)
    for row, line in enumerate(("FACTURA F-2026-7", "Fecha 14/03/2026", "TOTAL 121,00 EUR")):
        page.drawString(400, 7600 - row * 600, line)
    page.save()
    document_id = new_document(buffer.getvalue(), "cartel.pdf")
    tasks.start_processing(document_id)
    document = load(document_id)
    assert (document.status, document.error_code) == ("indexed", None)
    assert document.fields["total"]["value"] == "121.00"


def test_a_scan_whose_text_layer_cannot_be_merged_keeps_its_words(
    runtime, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # As pypdf does on some damaged files that it reads but cannot write again (found by
    # mutating the samples: "Invalid Elementary Object" in a font dictionary).
    def trip(*_: object) -> None:
        raise DocumentError(ErrorCode.ocr_failed, "searchable PDF: PdfReadError('Invalid')")

    monkeypatch.setattr(tasks, "build_searchable_pdf", trip)
    invoice = make_invoice(44)
    scan = scanned_pdf_bytes(invoice_scan_image(invoice, dpi=150), dpi=150)
    document_id = new_document(scan, "escaneo.pdf")
    tasks.start_processing(document_id)
    document = load(document_id)
    assert (document.status, document.error_code) == ("indexed", None)
    assert invoice.words[0].casefold() in (document.text or "").casefold()
    assert document.archive_key == document.normalized_key
    with get_runtime().sessions() as session:
        events = session.get_one(Document, document_id).events
        ocr_line = next(e for e in events if e.step == "ocr")
    assert "no text layer in the archive PDF" in (ocr_line.message or "")


@pytest.mark.parametrize("turned", [90, 180, 270])
def test_a_scan_fed_in_sideways_is_read_and_archived_upright(runtime, turned: int) -> None:  # noqa: F811
    invoice = make_invoice(81)
    page = invoice_scan_image(invoice, dpi=150).rotate(turned, expand=True)
    document_id = new_document(scanned_pdf_bytes(page, dpi=150), "de-lado.pdf")
    tasks.start_processing(document_id)
    document = load(document_id)
    assert (document.status, document.predicted_category) == ("indexed", "factura_recibida")
    assert document.fields["total"]["value"] == str(invoice.total)
    archive = Path(get_runtime().settings.data_dir) / "archive.pdf"
    get_runtime().store.get_file(document.archive_key or "", archive)
    shown = PdfReader(archive).pages[0]
    assert shown.mediabox.width < shown.mediabox.height  # A4 portrait, as it reads
    assert invoice.words[0].casefold() in shown.extract_text().casefold()


def test_encrypted_sample_succeeds_on_retry_with_its_password(
    runtime, samples_dir: Path  # noqa: F811
) -> None:
    data = (samples_dir / "broken_pdfs" / "pypdf_encrypted-file.pdf").read_bytes()
    document_id = new_document(data, "cifrado.pdf")
    tasks.start_processing(document_id)
    assert load(document_id).error_code == "needs_password"

    rt = get_runtime()
    with rt.sessions() as session:
        document = session.get_one(Document, document_id)
        retry_document(rt, session, document, "test")
    document = load(document_id)
    assert (document.status, document.run, document.error_code) == ("indexed", 2, None)
    assert rt.store.exists(document.original_key)
    assert rt.store.exists(tasks.document_key(document, ObjectRole.DECRYPTED, "decrypted.pdf"))
    with rt.sessions() as session:
        rows = session.get_one(Document, document_id)
        assert "test" not in repr([e.message for e in rows.events])


def test_a_long_scan_fans_out_and_equals_sequential_ocr(runtime) -> None:  # noqa: F811
    writer = PdfWriter()
    for seed in (41, 42, 43):
        page = scanned_pdf_bytes(invoice_scan_image(make_invoice(seed), dpi=150), dpi=150)
        writer.append(PdfReader(io.BytesIO(page)))
    copies = []
    for title in ("sequential", "fanned out"):  # different bytes: not a duplicate upload
        writer.add_metadata({"/Title": title})
        buffer = io.BytesIO()
        writer.write(buffer)
        copies.append(buffer.getvalue())

    sequential = new_document(copies[0], "seq.pdf")
    tasks.start_processing(sequential)
    get_settings().ocr_fanout_pages = 2  # three pages > 2: one task per page
    fanned = new_document(copies[1], "fan.pdf")
    tasks.start_processing(fanned)
    first, second = load(sequential), load(fanned)
    assert second.status == first.status == "indexed"
    assert second.text == first.text
    assert second.page_confidences == first.page_confidences
    assert second.archive_key
    assert second.archive_key != first.archive_key
