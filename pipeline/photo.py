"""Make a phone photo of a paper document look like a scan: paper cropped, level, contrasted.

Every function takes a PIL image and returns a new one (or a number); none touches files.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from PIL import Image, ImageFilter, ImageOps

# Longest side of the copies used for measuring (paper box, skew): plenty for line structure.
PROBE_SIDE: Final = 1000
# The paper box needs only the outline: a smaller copy than for skew is enough.
PAPER_PROBE_SIDE: Final = 500
# Grey level (after autocontrast) above which a pixel counts as paper rather than table.
PAPER_LEVEL: Final = 128
# A paper box smaller than this share of the frame is a glare spot, larger is no crop at all.
MIN_PAPER_SHARE: Final = 0.10
MAX_PAPER_SHARE: Final = 0.97
# Margin kept around the paper, as a share of its size: a tight crop eats edge characters.
PAPER_MARGIN: Final = 0.015
# Skew search range and precision, in degrees; phones rarely tilt a page more than this.
MAX_SKEW: Final = 10.0
SKEW_STEP: Final = 0.1
# Below this the page is level enough; re-sampling would only blur it.
MIN_SKEW: Final = 0.3
# Share of ink pixels below which there are no text lines to level.
MIN_INK_SHARE: Final = 0.002
# How much sharper the line profile must be at the found angle than as it is.
SKEW_GAIN: Final = 1.2
# A pixel whose channels spread more than this (0-255) is coloured; a photo with fewer than
# COLOUR_SHARE of such pixels is grey paper and ink, stored as grey.
COLOUR_CHROMA: Final = 40
COLOUR_SHARE: Final = 0.005
# Share of darkest/brightest pixels ignored when stretching contrast (noise, specular glare).
CONTRAST_CUTOFF: Final = 1


def _probe(image: Image.Image, side: int = PROBE_SIDE) -> tuple[Image.Image, float]:
    """A grey copy no longer than ``side``, and its scale relative to ``image``."""
    grey = image.convert("L")
    scale = min(1.0, side / max(grey.size))
    if scale < 1.0:
        grey = grey.resize(
            (max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
            Image.Resampling.BILINEAR,
        )
    return grey, scale


def paper_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom) of the bright paper in a photo, or None.

    None when there is no distinct paper: blank, a scan that is all paper, or a bright
    region too small to be the document.
    """
    probe, scale = _probe(image, PAPER_PROBE_SIDE)
    stretched = ImageOps.autocontrast(probe.filter(ImageFilter.MedianFilter(3)), cutoff=2)
    mask = stretched.point(lambda v: 255 if v > PAPER_LEVEL else 0)
    # An opening removes bright specks on the table that would stretch the box.
    mask = mask.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.MaxFilter(3))
    box = mask.getbbox()
    if box is None:
        return None
    share = (box[2] - box[0]) * (box[3] - box[1]) / (probe.width * probe.height)
    if not MIN_PAPER_SHARE <= share <= MAX_PAPER_SHARE:
        return None
    pad_x = round((box[2] - box[0]) * PAPER_MARGIN)
    pad_y = round((box[3] - box[1]) * PAPER_MARGIN)
    left, top, right, bottom = (
        max(0, box[0] - pad_x),
        max(0, box[1] - pad_y),
        min(probe.width, box[2] + pad_x),
        min(probe.height, box[3] + pad_y),
    )
    return (
        int(left / scale),
        int(top / scale),
        min(image.width, round(right / scale)),
        min(image.height, round(bottom / scale)),
    )


def crop_to_paper(image: Image.Image) -> Image.Image:
    """``image`` cropped to its paper (see `paper_box`), or ``image`` itself."""
    box = paper_box(image)
    return image.crop(box) if box is not None else image


def _ink(probe: Image.Image) -> Image.Image:
    """Ink mask (255 = dark strokes) of a grey probe, robust to uneven light."""
    background = probe.filter(ImageFilter.BoxBlur(15))
    # Ink is what is clearly darker than its surroundings, whatever the light falloff.
    diff = np.asarray(background, dtype=np.int16) - np.asarray(probe, dtype=np.int16)
    return Image.fromarray(np.where(diff > 20, 255, 0).astype(np.uint8))


def _line_score(ink: Image.Image, angle: float) -> float:
    # Level text lines give rows that are all ink or all paper: a spiky row profile.
    pixels = ink.rotate(angle, Image.Resampling.NEAREST) if angle else ink
    rows = np.asarray(pixels, dtype=np.float64).mean(axis=1)
    return float(np.square(np.diff(rows)).mean()) if len(rows) > 1 else 0.0


def estimate_skew(image: Image.Image) -> float:
    """Degrees to rotate ``image`` counter-clockwise (PIL's sense) to level its text lines.

    Projection-profile search over ±MAX_SKEW: coarse whole degrees, then SKEW_STEP.
    Returns 0.0 for images without ink.
    """
    probe, _ = _probe(image)
    ink = _ink(probe)
    if float((np.asarray(ink) > 0).mean()) < MIN_INK_SHARE:
        return 0.0  # a word or two: no lines to measure, any answer would be noise
    coarse = max(np.arange(-MAX_SKEW, MAX_SKEW + 0.5, 1.0), key=lambda a: _line_score(ink, a))
    fine = np.arange(coarse - 1.0, coarse + 1.0 + SKEW_STEP / 2, SKEW_STEP)
    best = float(max(fine, key=lambda a: _line_score(ink, a)))
    # Only a clearly sharper profile justifies re-sampling the page.
    if _line_score(ink, best) < SKEW_GAIN * _line_score(ink, 0.0):
        return 0.0
    return round(best, 2)


def text_lines_are_vertical(image: Image.Image) -> bool:
    """Whether the text lines run top to bottom (the photo is turned 90° or 270°).

    Compares the row and column profiles of the ink: lines of text make one of them spiky.
    """
    probe, _ = _probe(image)
    ink = _ink(probe)
    if not np.asarray(ink).any():
        return False
    return _line_score(ink.transpose(Image.Transpose.ROTATE_90), 0.0) > _line_score(ink, 0.0)


def deskew(image: Image.Image) -> Image.Image:
    """``image`` rotated so its text lines are level; corners filled with white."""
    angle = estimate_skew(image)
    if abs(angle) < MIN_SKEW:
        return image
    fill = 255 if image.mode in {"L", "1"} else (255, 255, 255)
    return image.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def is_greyish(image: Image.Image) -> bool:
    """Whether a colour photo is really grey (paper and ink), judged on a small copy."""
    if image.mode in {"1", "L"}:
        return True
    small = image.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR)
    pixels = np.asarray(small, dtype=np.int16)
    chroma = pixels.max(axis=2) - pixels.min(axis=2)
    # A small red logo or stamp is colour worth keeping, even on a mostly grey page.
    return float((chroma > COLOUR_CHROMA).mean()) < COLOUR_SHARE


def enhance_contrast(image: Image.Image) -> Image.Image:
    """Grey for grey documents, and contrast stretched so faint ink becomes dark.

    Colour documents keep their colours (one stretch for every channel, so hues stay).
    """
    if image.mode == "1":
        return image
    # Levels are measured inside the page: a strip of table left by the crop must not
    # count as the darkest ink, or grey paper stays grey.
    inset_x, inset_y = image.width // 10, image.height // 10
    inner = Image.new("L", image.size, 0)
    inner.paste(255, (inset_x, inset_y, image.width - inset_x, image.height - inset_y))
    if is_greyish(image):
        return ImageOps.autocontrast(image.convert("L"), cutoff=CONTRAST_CUTOFF, mask=inner)
    return ImageOps.autocontrast(
        image, cutoff=CONTRAST_CUTOFF, preserve_tone=True, mask=inner
    )
