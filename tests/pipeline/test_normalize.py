from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter

from pipeline.errors import DocumentError, ErrorCode
from pipeline.filetype import FileType
from pipeline.normalize import NormalizedDocument, detect_rotation, normalize_upload
from pipeline.ocr import ocr_pdf_pages
from tests.documents import (
    CORRUPT_EXPECTED,
    blank_pdf_bytes,
    corrupt_bytes,
    deflate_bomb_pdf_bytes,
    encrypted_pdf_bytes,
    image_bytes,
    invoice_pdf_bytes,
    invoice_scan_image,
    make_invoice,
    make_ticket,
    ocr_normal,
    pixel_bomb_png,
    scanned_pdf_bytes,
    self_referencing_pdf_bytes,
    ticket_image,
    ticket_photo_bytes,
)
from tests.receipts import make_receipt, receipt_photo_bytes

# Seeds whose photos tesseract OSD reads with good confidence (it is weak on some fonts).
ROTATION_SEED = 9


def page_size_in(pdf: Path, index: int = 0) -> tuple[float, float]:
    box = PdfReader(pdf).pages[index].mediabox
    return float(box.width) / 72, float(box.height) / 72


def embedded_image(pdf: Path, index: int = 0) -> Image.Image:
    return PdfReader(pdf).pages[index].images[0].image


def ocr_text(pdf: Path, doc: NormalizedDocument) -> str:
    # The photos here are ~150 dpi; rendering at that keeps glyph sizes and halves OCR time.
    return ocr_normal(ocr_pdf_pages(pdf, doc.pages_needing_ocr, dpi=150).text)


# --- PDFs ----------------------------------------------------------------------------------


def test_text_pdf_keeps_its_text_layer_and_bytes(upload, out_pdf) -> None:
    invoice = make_invoice(11)
    data = invoice_pdf_bytes(invoice)
    doc = normalize_upload(upload(data, "factura.pdf"), out_pdf)

    assert doc.detected_type is FileType.PDF
    assert doc.pages == 1
    assert doc.pages_needing_ocr == ()
    assert invoice.number in doc.text
    assert invoice.issuer_cif in doc.text
    assert out_pdf.read_bytes() == data  # sound PDFs are copied, not re-written


def test_image_only_pdf_page_needs_ocr(upload, out_pdf) -> None:
    scan = scanned_pdf_bytes(invoice_scan_image(make_invoice(12), dpi=100), dpi=100)
    doc = normalize_upload(upload(scan), out_pdf)
    assert (doc.pages, doc.page_texts, doc.pages_needing_ocr) == (1, ("",), (0,))


def test_mixed_pdf_needs_ocr_only_on_the_scanned_page(upload, out_pdf) -> None:
    invoice = make_invoice(13)
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(invoice_pdf_bytes(invoice))))
    writer.append(PdfReader(io.BytesIO(scanned_pdf_bytes(Image.new("L", (850, 1100), 255), 100))))
    writer.append(PdfReader(io.BytesIO(invoice_pdf_bytes(make_invoice(14)))))
    buffer = io.BytesIO()
    writer.write(buffer)

    doc = normalize_upload(upload(buffer.getvalue()), out_pdf)
    assert doc.pages == 3
    assert doc.pages_needing_ocr == (1,)
    assert doc.text.count("\f") == 2
    assert invoice.number in doc.text.split("\f")[0]


def test_junk_before_the_header_is_stripped(upload, out_pdf) -> None:
    invoice = make_invoice(15)
    data = b"From: escaner@oficina.es\r\nContent-Type: application/pdf\r\n\r\n" + invoice_pdf_bytes(
        invoice
    )
    doc = normalize_upload(upload(data), out_pdf)
    assert out_pdf.read_bytes().startswith(b"%PDF-")
    assert invoice.number in doc.text
    assert len(PdfReader(out_pdf, strict=True).pages) == 1


def test_broken_xref_is_repaired_and_rewritten(upload, out_pdf) -> None:
    invoice = make_invoice(16)
    data = invoice_pdf_bytes(invoice)
    broken = re.sub(rb"startxref\s+\d+", b"startxref\n999999", data)
    assert broken != data

    doc = normalize_upload(upload(broken), out_pdf)
    assert invoice.number in doc.text
    assert out_pdf.read_bytes() != broken
    assert len(PdfReader(out_pdf, strict=True).pages) == 1  # the output is sound


def test_empty_password_pdf_is_decrypted(upload, out_pdf) -> None:
    invoice = make_invoice(17)
    data = encrypted_pdf_bytes(invoice_pdf_bytes(invoice), user_password="")
    assert PdfReader(io.BytesIO(data)).is_encrypted

    doc = normalize_upload(upload(data), out_pdf)
    assert invoice.number in doc.text
    assert not PdfReader(out_pdf).is_encrypted


def test_password_protected_pdf_needs_password(upload, out_pdf) -> None:
    data = encrypted_pdf_bytes(invoice_pdf_bytes(make_invoice(18)), user_password="secreto")
    with pytest.raises(DocumentError) as caught:
        normalize_upload(upload(data), out_pdf)
    assert caught.value.code is ErrorCode.needs_password


def test_too_many_pages(upload, out_pdf) -> None:
    source = upload(blank_pdf_bytes(5))
    with pytest.raises(DocumentError) as caught:
        normalize_upload(source, out_pdf, max_pages=4)
    assert caught.value.code is ErrorCode.too_many_pages
    assert normalize_upload(source, out_pdf, max_pages=5).pages == 5


def test_pdf_without_pages_is_corrupt(upload, out_pdf) -> None:
    with pytest.raises(DocumentError) as caught:
        normalize_upload(upload(blank_pdf_bytes(0)), out_pdf)
    assert caught.value.code is ErrorCode.corrupt_file


@pytest.mark.parametrize("name", sorted(CORRUPT_EXPECTED))
def test_hostile_uploads_fail_with_a_reason(name: str, upload, out_pdf) -> None:
    with pytest.raises(DocumentError) as caught:
        normalize_upload(upload(corrupt_bytes()[name]), out_pdf, fix_rotation=False)
    assert caught.value.code == CORRUPT_EXPECTED[name]


def test_a_page_that_inflates_past_the_readers_limits_is_too_large(upload, out_pdf) -> None:
    bomb = deflate_bomb_pdf_bytes(100)
    assert len(bomb) < 2_000_000
    with pytest.raises(DocumentError) as caught:
        normalize_upload(upload(bomb), out_pdf)
    assert caught.value.code is ErrorCode.file_too_large


def test_a_reference_loop_is_not_too_large_its_page_goes_to_ocr(upload, out_pdf) -> None:
    document = normalize_upload(upload(self_referencing_pdf_bytes()), out_pdf)
    assert document.pages_needing_ocr == (0,)


# --- images --------------------------------------------------------------------------------


def test_jpeg_ticket_photo_becomes_one_upright_page(upload, out_pdf) -> None:
    ticket = make_ticket(21)
    doc = normalize_upload(upload(ticket_photo_bytes(ticket), "IMG_0001.JPG"), out_pdf)
    assert doc.detected_type is FileType.JPEG
    assert (doc.pages, doc.page_texts, doc.pages_needing_ocr) == (1, ("",), (0,))
    width, height = page_size_in(out_pdf)
    assert height > width  # a receipt stays portrait: OSD must not turn an upright photo


def test_png_without_dpi_gets_at_least_150_dpi(upload, out_pdf) -> None:
    image = ticket_image(make_ticket(22))
    data = ticket_photo_bytes(make_ticket(22), fmt="PNG")
    assert "dpi" not in Image.open(io.BytesIO(data)).info
    doc = normalize_upload(upload(data), out_pdf, fix_rotation=False)
    assert doc.detected_type is FileType.PNG
    width, height = page_size_in(out_pdf)
    page = embedded_image(out_pdf)
    # Cropped to the paper, < 1240 px wide: the A4 estimate falls under 150 dpi, the floor applies.
    assert page.width < image.width
    assert width == pytest.approx(page.width / 150, abs=0.02)
    assert height == pytest.approx(page.height / 150, abs=0.02)


def test_a4_scan_without_dpi_is_sized_as_a4(upload, out_pdf) -> None:
    page = Image.new("L", (2480, 3508), 255)  # A4 at 300 dpi, resolution not recorded
    ImageDraw.Draw(page).text((200, 200), "FACTURA", fill=0)
    normalize_upload(upload(image_bytes(page, "PNG")), out_pdf, fix_rotation=False)
    assert page_size_in(out_pdf) == pytest.approx((8.27, 11.69), abs=0.02)


def test_declared_dpi_is_kept_when_sane(upload, out_pdf) -> None:
    ticket = make_ticket(23)
    image = ticket_image(ticket)
    normalize_upload(upload(ticket_photo_bytes(ticket, dpi=200)), out_pdf, fix_rotation=False)
    assert image.width > embedded_image(out_pdf).width  # cropped to the paper, same scale
    assert page_size_in(out_pdf)[0] == pytest.approx(embedded_image(out_pdf).width / 200, abs=0.02)


def test_absurd_dpi_is_ignored(upload, out_pdf) -> None:
    # Phones write 72 dpi: a 4000 px photo would become a 55-inch page.
    photo = Image.new("RGB", (3000, 4000), "white")
    normalize_upload(upload(image_bytes(photo, "JPEG", dpi=(72, 72))), out_pdf, fix_rotation=False)
    assert page_size_in(out_pdf)[0] == pytest.approx(8.27, abs=0.02)


def test_exif_orientation_is_applied(upload, out_pdf) -> None:
    ticket = make_ticket(24)
    data = ticket_photo_bytes(ticket, exif_orientation=6)
    stored = Image.open(io.BytesIO(data))
    assert stored.width > stored.height  # the camera stored it sideways

    # OSD off: only EXIF can make this upright.
    doc = normalize_upload(upload(data), out_pdf, fix_rotation=False)
    width, height = page_size_in(out_pdf)
    assert height > width
    text = ocr_text(out_pdf, doc)
    assert all(ocr_normal(word) in text for word in ticket.words), text


def test_rotated_photo_is_turned_upright_by_osd(upload, out_pdf) -> None:
    ticket = make_ticket(ROTATION_SEED)
    data = ticket_photo_bytes(ticket, rotate=90)
    doc = normalize_upload(upload(data), out_pdf)
    width, height = page_size_in(out_pdf)
    assert height > width
    text = ocr_text(out_pdf, doc)
    assert all(ocr_normal(word) in text for word in ticket.words), text


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_detect_rotation_undoes_a_turn(rotate: int) -> None:
    image = ticket_image(make_ticket(ROTATION_SEED), rotate=rotate)
    assert detect_rotation(image) == (360 - rotate) % 360


@pytest.mark.parametrize("turn", [0, 180, 90])
def test_receipts_osd_calls_upside_down_are_turned_by_how_they_read(turn: int) -> None:
    # Upright, tesseract OSD says "rotate 180" for this thermal-font receipt with
    # confidence 5.3 (5 of 48 generated receipt photos were turned over before).
    photo = Image.open(io.BytesIO(receipt_photo_bytes(make_receipt(11))))
    assert detect_rotation(photo.rotate(-turn, expand=True)) == (360 - turn) % 360


def test_detect_rotation_of_upright_blank_and_tiny_images() -> None:
    assert detect_rotation(ticket_image(make_ticket(ROTATION_SEED))) == 0
    assert detect_rotation(Image.new("RGB", (800, 1000), "white")) == 0
    assert detect_rotation(Image.new("L", (3, 3), 0)) == 0


def test_heic_photo(upload, out_pdf) -> None:
    doc = normalize_upload(
        upload(ticket_photo_bytes(make_ticket(25), fmt="HEIC")), out_pdf, fix_rotation=False
    )
    assert doc.detected_type is FileType.HEIC
    assert len(PdfReader(out_pdf).pages) == 1


@pytest.mark.parametrize(("fmt", "expected"), [("WEBP", FileType.WEBP), ("TIFF", FileType.TIFF)])
def test_other_photo_formats(fmt: str, expected: FileType, upload, out_pdf) -> None:
    doc = normalize_upload(
        upload(ticket_photo_bytes(make_ticket(26), fmt=fmt)), out_pdf, fix_rotation=False
    )
    assert (doc.detected_type, doc.pages) == (expected, 1)


def test_multipage_tiff_gives_one_page_per_frame(upload, out_pdf) -> None:
    frames = [Image.new("L", (850, 1100), shade) for shade in (255, 240, 230)]
    data = image_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:], dpi=(100, 100))
    doc = normalize_upload(upload(data), out_pdf, fix_rotation=False)
    assert (doc.detected_type, doc.pages, doc.pages_needing_ocr) == (FileType.TIFF, 3, (0, 1, 2))
    assert page_size_in(out_pdf, 2) == pytest.approx((8.5, 11.0), abs=0.02)
    with pytest.raises(DocumentError) as caught:
        normalize_upload(upload(data), out_pdf, max_pages=2, fix_rotation=False)
    assert caught.value.code is ErrorCode.too_many_pages


def test_gif_keeps_the_first_frame_only(upload, out_pdf) -> None:
    frames = [Image.new("P", (300, 400), color) for color in (1, 2, 3)]
    data = image_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:])
    doc = normalize_upload(upload(data), out_pdf, fix_rotation=False)
    assert (doc.detected_type, doc.pages) == (FileType.GIF, 1)


def test_transparency_is_flattened_onto_white(upload, out_pdf) -> None:
    logo = Image.new("RGBA", (600, 800), (0, 0, 0, 0))  # transparent black: naive -> black
    ImageDraw.Draw(logo).rectangle((100, 100, 200, 200), fill=(200, 0, 0, 255))
    normalize_upload(upload(image_bytes(logo, "PNG")), out_pdf, fix_rotation=False)
    page = embedded_image(out_pdf).convert("RGB")
    assert page.getpixel((10, 10)) >= (245, 245, 245)
    red = page.getpixel((150, 150))
    assert red[0] > 150 > red[1]


def test_huge_images_are_downscaled(upload, out_pdf) -> None:
    wide = Image.new("L", (6000, 900), 255)
    normalize_upload(upload(image_bytes(wide, "PNG", dpi=(600, 600))), out_pdf, fix_rotation=False)
    assert embedded_image(out_pdf).size == (4000, 600)
    # The paper size is unchanged: 6000 px at 600 dpi is 10 inches.
    assert page_size_in(out_pdf)[0] == pytest.approx(10.0, abs=0.02)


def test_pixel_bomb_is_refused_before_decoding(upload, out_pdf) -> None:
    bomb = pixel_bomb_png(50_000, 50_000)
    assert len(bomb) < 100_000
    started = time.perf_counter()
    with pytest.raises(DocumentError) as caught:
        normalize_upload(upload(bomb), out_pdf)
    assert caught.value.code is ErrorCode.image_too_large
    assert time.perf_counter() - started < 1.0


def test_pixel_limit_is_configurable(upload, out_pdf) -> None:
    source = upload(pixel_bomb_png(2000, 1000))
    with pytest.raises(DocumentError) as caught:
        normalize_upload(source, out_pdf, max_pixels=1_000_000)
    assert caught.value.code is ErrorCode.image_too_large


def test_truncated_jpeg_is_corrupt(upload, out_pdf) -> None:
    data = ticket_photo_bytes(make_ticket(27))
    with pytest.raises(DocumentError) as caught:
        normalize_upload(upload(data[: len(data) * 2 // 3]), out_pdf, fix_rotation=False)
    assert caught.value.code is ErrorCode.corrupt_file


def test_random_bytes_are_unsupported(upload, out_pdf) -> None:
    with pytest.raises(DocumentError) as caught:
        normalize_upload(upload(corrupt_bytes()["random_bytes"], "foto.jpg"), out_pdf)
    assert caught.value.code is ErrorCode.unsupported_type


def test_text_property_and_ocr_pages_threshold() -> None:
    doc = NormalizedDocument(FileType.PDF, 3, ("Factura " * 5, "  12 \n", ""))
    assert doc.pages_needing_ocr == (1, 2)
    assert doc.text == "Factura " * 5 + "\f  12 \n\f"
