from __future__ import annotations

import io

import pytest
from PIL import Image

from pipeline.errors import DocumentError, ErrorCode
from pipeline.filetype import FileType, detect_type
from tests.documents import (
    CORRUPT_EXPECTED,
    corrupt_bytes,
    image_bytes,
    invoice_pdf_bytes,
    make_invoice,
    make_ticket,
    ticket_photo_bytes,
)

SMALL = Image.new("RGB", (40, 30), "white")


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("JPEG", FileType.JPEG),
        ("PNG", FileType.PNG),
        ("TIFF", FileType.TIFF),
        ("WEBP", FileType.WEBP),
        ("HEIF", FileType.HEIC),
        ("BMP", FileType.BMP),
        ("GIF", FileType.GIF),
    ],
)
def test_images_are_recognised_by_their_bytes(fmt: str, expected: FileType) -> None:
    assert detect_type(image_bytes(SMALL, fmt)[:4096]) is expected


def test_pdf_and_junk_before_the_header() -> None:
    pdf = invoice_pdf_bytes(make_invoice(3))
    assert detect_type(pdf[:4096]) is FileType.PDF
    assert detect_type((b"\r\n\xef\xbb\xbfX-Mailer junk\r\n" * 20 + pdf)[:4096]) is FileType.PDF


def test_pdf_header_too_far_in_is_not_a_pdf() -> None:
    with pytest.raises(DocumentError) as caught:
        detect_type(b"x" * 2000 + b"%PDF-1.7\n")
    assert caught.value.code is ErrorCode.unsupported_type


def test_generated_photo_formats() -> None:
    ticket = make_ticket(4)
    assert detect_type(ticket_photo_bytes(ticket, fmt="HEIC")[:4096]) is FileType.HEIC
    assert detect_type(ticket_photo_bytes(ticket, fmt="WEBP")[:4096]) is FileType.WEBP


@pytest.mark.parametrize("brand", [b"heic", b"heix", b"mif1", b"msf1", b"hevc"])
def test_heif_brands(brand: bytes) -> None:
    head = (24).to_bytes(4, "big") + b"ftyp" + brand + b"\x00\x00\x00\x00" + b"mif1heic"
    assert detect_type(head) is FileType.HEIC


def test_other_iso_bmff_files_are_not_heic() -> None:
    mp4 = (24).to_bytes(4, "big") + b"ftypisom\x00\x00\x02\x00isomiso2"
    with pytest.raises(DocumentError) as caught:
        detect_type(mp4)
    assert caught.value.code is ErrorCode.unsupported_type


@pytest.mark.parametrize("name", ["random_bytes", "empty", "text"])
def test_hostile_heads(name: str) -> None:
    with pytest.raises(DocumentError) as caught:
        detect_type(corrupt_bytes()[name][:4096])
    assert caught.value.code == CORRUPT_EXPECTED[name]


def test_detection_ignores_what_the_name_would_say() -> None:
    # A JPEG called "factura.pdf" is a JPEG: only bytes reach detect_type.
    buffer = io.BytesIO()
    SMALL.save(buffer, "JPEG")
    assert detect_type(buffer.getvalue()) is FileType.JPEG
