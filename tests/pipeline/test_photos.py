"""Generated phone photos of receipts, every way they arrive, come out readable.

Several seeds per case (consecutive, not chosen): each must recover the merchant's
distinctive words and "factura simplificada" after normalize + OCR.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.normalize import normalize_upload
from pipeline.ocr import ocr_pdf_pages
from tests.documents import (
    Ticket,
    image_bytes,
    make_ticket,
    ocr_normal,
    ticket_image,
    ticket_photo_bytes,
)

SEEDS = (1, 2, 3)


def low_contrast(ticket: Ticket) -> bytes:
    # Grey ink on grey paper in dim light: the whole picture within 60 grey levels.
    faint = ticket_image(ticket).point(lambda v: 105 + v * 60 // 255)
    return image_bytes(faint, "JPEG", quality=90)


CASES: dict[str, Callable[[Ticket], bytes]] = {
    "rotated_90": lambda t: ticket_photo_bytes(t, rotate=90),
    "rotated_180": lambda t: ticket_photo_bytes(t, rotate=180),
    "rotated_270": lambda t: ticket_photo_bytes(t, rotate=270),
    "skewed_5": lambda t: ticket_photo_bytes(t, skew=5),
    "heic": lambda t: ticket_photo_bytes(t, fmt="HEIC"),
    "exif_rotated": lambda t: ticket_photo_bytes(t, exif_orientation=6),
    "png_without_dpi": lambda t: ticket_photo_bytes(t, fmt="PNG"),
    "low_contrast": low_contrast,
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", list(CASES))
def test_photo_recovers_the_expected_words(case: str, seed: int, upload, out_pdf) -> None:
    ticket = make_ticket(seed)
    doc = normalize_upload(upload(CASES[case](ticket)), out_pdf)
    text = ocr_normal(ocr_pdf_pages(out_pdf, doc.pages_needing_ocr).text)
    expected = [*(ocr_normal(word) for word in ticket.words), "factura simplificada"]
    assert [word for word in expected if word not in text] == [], text
