"""Photo clean-up helpers: paper box under shadows, even light, one-column text detection."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from pipeline.photo import (
    flatten_illumination,
    otsu_level,
    paper_box,
    text_width_in_letters,
)
from tests.documents import _font, invoice_scan_image, make_invoice
from tests.receipts import make_receipt, receipt_print


def receipt_on_a_table(shadow: float) -> Image.Image:
    """A receipt with text lines on a dark table; the right side under the phone's shadow."""
    scene = Image.new("L", (1200, 1600), 70)
    draw = ImageDraw.Draw(scene)
    draw.rectangle((300, 100, 900, 1500), fill=235)
    font = _font("DejaVuSansMono.ttf", 26)
    for row in range(40):
        draw.text(
            (330, 130 + row * 34), f"ARTICULO {row:02d}          {row * 1.37:6.2f}", font=font
        )
    pixels = np.asarray(scene, dtype=np.float32)
    pixels[:, 700:] *= shadow
    return Image.fromarray(pixels.astype(np.uint8))


def test_otsu_splits_table_from_paper() -> None:
    pixels = np.concatenate([np.full(1000, 60), np.full(3000, 200)]).astype(np.uint8)
    level = otsu_level(Image.fromarray(pixels.reshape(40, 100)))
    assert 60 <= level < 200


def test_the_paper_box_keeps_text_in_a_shadow() -> None:
    # The amounts run to x ~ 750, inside the shadow that starts at x = 700.
    left, top, right, bottom = paper_box(receipt_on_a_table(shadow=0.45)) or (0, 0, 0, 0)
    assert left <= 330
    assert right >= 760
    assert top <= 130
    assert bottom >= 1470
    # In even light the box is the paper with its margin (1.5 %: ~9 px across, ~21 px down),
    # no more: the table's edge along the paper is not text to grow over (a dark frame left
    # around the page made tesseract drop accents and read stray characters).
    left, top, right, bottom = paper_box(receipt_on_a_table(shadow=1.0)) or (0, 0, 0, 0)
    assert 280 <= left <= 300
    assert 900 <= right <= 920
    assert 70 <= top <= 100
    assert 1500 <= bottom <= 1530


def test_flattened_light_is_even_and_ink_stays_dark() -> None:
    page = Image.new("L", (800, 1000), 230)
    draw = ImageDraw.Draw(page)
    for row in range(25):
        draw.text(
            (40, 30 + row * 38),
            "TOTAL 12,34  IVA 10%  BASE 11,22",
            font=_font("DejaVuSansMono-Bold.ttf", 24),
            fill=30,
        )
    falloff = np.linspace(1.0, 0.4, 800, dtype=np.float32)[None, :]  # light from the left
    lit = Image.fromarray((np.asarray(page, dtype=np.float32) * falloff).astype(np.uint8))
    flat = np.asarray(flatten_illumination(lit), dtype=np.float32)
    ink = np.asarray(page) < 128
    paper = np.asarray(page) == 230  # away from the letters' anti-aliased edges
    assert flat[paper].std() < 8
    assert np.asarray(lit, dtype=np.float32)[paper].std() > 30
    assert np.median(flat[ink]) < 100


def test_receipts_are_narrow_text_and_pages_are_wide() -> None:
    for seed in (1, 2, 3):
        width = text_width_in_letters(receipt_print(make_receipt(seed)))
        assert width is not None
        assert width < 52
    width = text_width_in_letters(invoice_scan_image(make_invoice(1)))
    assert width is not None
    assert width > 52
    assert text_width_in_letters(Image.new("L", (600, 800), 255)) is None
