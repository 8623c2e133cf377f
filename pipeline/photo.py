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
# The paper box grows over ink next to it in steps of this share of the probe's long side,
# while a step's strip has at least GROW_INK_SHARE of ink pixels (text lines run ~5-15 %).
GROW_STEP: Final = 0.01
GROW_INK_SHARE: Final = 0.02
# Strokes are dark features narrower than STROKE_WINDOW probe pixels (printed glyph strokes
# are 1-3 at PAPER_PROBE_SIDE), at least STROKE_CONTRAST grey levels below their surroundings.
STROKE_WINDOW: Final = 5
STROKE_CONTRAST: Final = 20
# Skew search range and precision, in degrees; phones rarely tilt a page more than this.
MAX_SKEW: Final = 10.0
SKEW_STEP: Final = 0.1
# Below this the page is level enough; re-sampling would only blur it.
MIN_SKEW: Final = 0.3
# Share of ink pixels below which there are no text lines to level.
MIN_INK_SHARE: Final = 0.002
# Fewer letter-like ink blobs than this are too few to measure a text block by.
MIN_LETTERS: Final = 20
# How much sharper the line profile must be at the found angle than as it is.
SKEW_GAIN: Final = 1.2
# A pixel whose channels spread more than this (0-255) is coloured; a photo with fewer than
# COLOUR_SHARE of such pixels is grey paper and ink, stored as grey.
COLOUR_CHROMA: Final = 40
COLOUR_SHARE: Final = 0.005
# Share of darkest/brightest pixels ignored when stretching contrast (noise, specular glare).
CONTRAST_CUTOFF: Final = 1
# Window of the paper-brightness estimate, as a share of the long side: wider than any pen
# or print stroke, narrower than a shadow's or a light falloff's changes.
BACKGROUND_WINDOW: Final = 1 / 60


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
    # Paper in a shadow is darker than PAPER_LEVEL but still brighter than the table: the
    # split between the two (Otsu) keeps it, so a shadow never crops text away.
    level = min(PAPER_LEVEL, otsu_level(stretched))
    mask = stretched.point(lambda v: 255 if v > level else 0)
    # An opening removes bright specks on the table that would stretch the box.
    mask = mask.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.MaxFilter(3))
    box = mask.getbbox()
    if box is None:
        return None
    box = _grow_over_ink(box, _strokes(probe))
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


def _grow_over_ink(box: tuple[int, int, int, int], ink: np.ndarray) -> tuple[int, int, int, int]:
    """``box`` pushed outwards while the strip just outside a side holds ink (see `_strokes`).

    Paper in a deep shadow can be as dark as the table, but its text still stands out
    from its surroundings: lines running out of the box pull the box over them.
    """
    height, width = ink.shape
    step = max(2, round(max(width, height) * GROW_STEP))
    left, top, right, bottom = box
    grown = True
    while grown:
        grown = False
        strips = {
            "left": ink[top:bottom, max(0, left - step) : left],
            "right": ink[top:bottom, right : min(width, right + step)],
            "top": ink[max(0, top - step) : top, left:right],
            "bottom": ink[bottom : min(height, bottom + step), left:right],
        }
        for side, strip in strips.items():
            if strip.size == 0 or float(strip.mean()) < GROW_INK_SHARE:
                continue
            grown = True
            if side == "left":
                left = max(0, left - step)
            elif side == "right":
                right = min(width, right + step)
            elif side == "top":
                top = max(0, top - step)
            else:
                bottom = min(height, bottom + step)
    return left, top, right, bottom


def _strokes(probe: Image.Image) -> np.ndarray:
    """Mask of thin dark strokes (print, handwriting) in a grey probe: no dark regions.

    A black top-hat: what a closing over STROKE_WINDOW pixels brightens by more than
    STROKE_CONTRAST. The table beside the paper and a shadow's edge stay unmarked (a closing
    keeps straight edges), whereas `_ink` marks a band of table along every paper edge,
    which would pull the paper box over the table.
    """
    closed = probe.filter(ImageFilter.MaxFilter(STROKE_WINDOW))
    closed = closed.filter(ImageFilter.MinFilter(STROKE_WINDOW))
    diff = np.asarray(closed, dtype=np.int16) - np.asarray(probe, dtype=np.int16)
    return diff > STROKE_CONTRAST


def otsu_level(grey: Image.Image) -> int:
    """The grey level (0-255) that best splits ``grey`` into a dark and a bright class (Otsu)."""
    counts = np.asarray(grey.convert("L").histogram(), dtype=np.float64)
    levels = np.arange(256, dtype=np.float64)
    weight = np.cumsum(counts)
    total = weight[-1]
    if total == 0:
        return 128
    mass = np.cumsum(counts * levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mass[-1] * weight / total - mass) ** 2 / (weight * (total - weight))
    between = np.nan_to_num(between[:-1], nan=0.0, posinf=0.0)
    return int(np.argmax(between))


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


def text_width_in_letters(image: Image.Image) -> float | None:
    """Width of the text block in letter heights, or None when there are too few letters.

    A till receipt prints 32-48 columns (measured 19-46 on generated photos); an A4 page in
    10-12 pt runs ~60 and more. Letters are the ink blobs at least as tall as wide (rules,
    dashes and "=" are not); their median height is the letter height.
    """
    from scipy import ndimage  # only the OCR worker needs it; keeps this module light

    probe, _ = _probe(image)
    labels, count = ndimage.label(np.asarray(_ink(probe)) > 0)
    if count < MIN_LETTERS:
        return None
    boxes = [box for box in ndimage.find_objects(labels) if box is not None]
    heights = np.array([rows.stop - rows.start for rows, _ in boxes])
    widths = np.array([cols.stop - cols.start for _, cols in boxes])
    letters = (heights >= 4) & (heights >= 0.8 * widths) & (heights < probe.height / 10)
    if int(letters.sum()) < MIN_LETTERS:
        return None
    lefts = np.array([cols.start for _, cols in boxes])[letters]
    rights = np.array([cols.stop for _, cols in boxes])[letters]
    # Percentiles, so a speck in the margin does not widen the block.
    width = float(np.percentile(rights, 98) - np.percentile(lefts, 2))
    return width / float(np.median(heights[letters]))


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


def flatten_illumination(image: Image.Image) -> Image.Image:
    """``image`` divided by its local paper brightness, per channel: shadows, light falloff
    and colour casts removed, so one global threshold (tesseract's) separates ink from paper.

    The paper brightness is a maximum over a window wider than any stroke (see
    BACKGROUND_WINDOW), measured on a small copy and smoothed. Modes "1", "L", "RGB".
    """
    if image.mode == "1":
        return image
    window = max(8.0, max(image.size) * BACKGROUND_WINDOW)
    factor = window / 4  # the maximum is taken over 9 px of the small copy: ±4 px
    small_size = (max(1, round(image.width / factor)), max(1, round(image.height / factor)))
    small = image.resize(small_size, Image.Resampling.BOX)
    background = small.filter(ImageFilter.MaxFilter(9)).filter(ImageFilter.GaussianBlur(2))
    background = background.resize(image.size, Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32)
    paper = np.maximum(np.asarray(background, dtype=np.float32), 1.0)
    flat = np.clip(pixels * 255.0 / paper, 0, 255).astype(np.uint8)
    return Image.fromarray(flat)  # 2-D: "L", 3 channels: "RGB"


def enhance_contrast(image: Image.Image) -> Image.Image:
    """Grey for grey documents, even light, and contrast stretched so faint ink becomes dark.

    Light is evened out first (see `flatten_illumination`; that also removes a colour cast).
    Colour documents keep their colours (one stretch for every channel, so hues stay).
    """
    if image.mode == "1":
        return image
    image = flatten_illumination(image if image.mode in {"L", "RGB"} else image.convert("RGB"))
    # Levels are measured inside the page: a strip of table left by the crop must not
    # count as the darkest ink, or grey paper stays grey.
    inset_x, inset_y = image.width // 10, image.height // 10
    inner = Image.new("L", image.size, 0)
    inner.paste(255, (inset_x, inset_y, image.width - inset_x, image.height - inset_y))
    if is_greyish(image):
        return ImageOps.autocontrast(image.convert("L"), cutoff=CONTRAST_CUTOFF, mask=inner)
    return ImageOps.autocontrast(image, cutoff=CONTRAST_CUTOFF, preserve_tone=True, mask=inner)
