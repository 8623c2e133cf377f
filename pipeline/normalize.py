"""Turn an upload (PDF or photo) into one clean PDF plus its text layer, if any."""

from __future__ import annotations

import io
import math
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import numpy as np
import pillow_heif
import pytesseract
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PasswordType, PdfReader, PdfWriter
from pypdf.errors import LimitReachedError

from pipeline._tesseract import limit_threads
from pipeline.errors import DocumentError, ErrorCode
from pipeline.filetype import HEAD_SIZE, FileType, detect_type
from pipeline.photo import crop_to_paper, deskew, enhance_contrast, text_width_in_letters
from pipeline.storable import storable

pillow_heif.register_heif_opener()

# A text layer with fewer non-space characters than this is a scanner stub, not real text.
MIN_TEXT_CHARS: Final = 20
# Longest side of a page image we keep; larger photos only cost memory and OCR time.
MAX_SIDE: Final = 4000
# Longest side of the copy given to tesseract OSD: enough for glyphs, ~4x faster than full.
OSD_MAX_SIDE: Final = 2000
# OSD orientation confidence above which its answer is taken when reading can't decide.
# (On receipts in thermal fonts OSD was wrong or silent for 26 of 48 generated photos in
# four orientations, some wrong at confidence > 5; reading got all 48 right.)
MIN_OSD_CONFIDENCE: Final = 0.5
# Longest side of the copy OCRed in each orientation.
VOTE_MAX_SIDE: Final = 700
# Letters per line above which a page is a sheet of print, not a till receipt (19-46).
PAGE_MIN_LETTERS: Final = 52.0
# Weighted mean word confidence at which an orientation is surely right (measured on 48
# receipt photos: right ones 57-93, wrong ones at most 40).
SURE_READ: Final = 60.0
# Mean word confidence by which one orientation must beat the others to be taken.
FLIP_MARGIN: Final = 5.0
A4_WIDTH_IN: Final = 8.27
MIN_DPI: Final = 150.0
JPEG_QUALITY: Final = 90

_PIL_FORMATS: Final[dict[FileType, str]] = {
    FileType.JPEG: "JPEG",
    FileType.PNG: "PNG",
    FileType.TIFF: "TIFF",
    FileType.WEBP: "WEBP",
    FileType.HEIC: "HEIF",
    FileType.BMP: "BMP",
    FileType.GIF: "GIF",
}
# Errors Pillow raises for truncated or malformed image data.
_IMAGE_DATA_ERRORS: Final = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    UnidentifiedImageError,
)
_NON_SPACE = re.compile(r"\S")


@dataclass(frozen=True, slots=True)
class NormalizedDocument:
    """What normalize learned about an upload; the clean PDF itself is written to a file."""

    detected_type: FileType
    pages: int
    page_texts: tuple[str, ...]

    @property
    def pages_needing_ocr(self) -> tuple[int, ...]:
        """0-based indices of pages without a usable text layer."""
        return tuple(i for i, text in enumerate(self.page_texts) if not _has_real_text(text))

    @property
    def text(self) -> str:
        """The text layer of every page, pages separated by form feeds."""
        return "\f".join(self.page_texts)


def _has_real_text(text: str) -> bool:
    return len(_NON_SPACE.findall(text)) >= MIN_TEXT_CHARS


def normalize_upload(
    source: Path,
    out_pdf: Path,
    *,
    max_pages: int = 300,
    max_pixels: int = 80_000_000,
    fix_rotation: bool = True,
) -> NormalizedDocument:
    """Detect the real type of ``source`` from its bytes and write one clean PDF to ``out_pdf``.

    PDFs are opened leniently, decrypted when the password is empty, and copied (or
    re-written when they had to be decrypted or repaired). Images get EXIF orientation,
    an OSD rotation fix (``fix_rotation``), a white background, a sane DPI and one PDF page
    per frame. Returns the type, page count and text layer per page; raises DocumentError
    for permanent failures.
    """
    with source.open("rb") as fh:
        head = fh.read(HEAD_SIZE)
        detected = detect_type(head)
        if detected is FileType.PDF:
            return _normalize_pdf(
                source, head.find(b"%PDF-"), out_pdf, max_pages=max_pages, max_pixels=max_pixels
            )
        fh.seek(0)
        return _normalize_image(
            fh,
            detected,
            out_pdf,
            max_pages=max_pages,
            max_pixels=max_pixels,
            fix_rotation=fix_rotation,
        )


# --- PDF -----------------------------------------------------------------------------------


def _normalize_pdf(
    source: Path, offset: int, out_pdf: Path, *, max_pages: int, max_pixels: int
) -> NormalizedDocument:
    working = source
    if offset > 0:
        # Junk before the header shifts every offset; readers resolve them from "%PDF-".
        with source.open("rb") as src, out_pdf.open("wb") as dst:
            src.seek(offset)
            shutil.copyfileobj(src, dst)
        working = out_pdf

    # Reading from the open file keeps pypdf from loading the whole file into memory.
    with working.open("rb") as fh:
        reader, repaired = _open_pdf(fh)
        decrypted = _decrypt(reader)
        pages = _count_pages(reader, max_pages)
        for index in range(pages):
            _check_image_sizes(reader, index, max_pixels)
        page_texts = tuple(_page_text(reader, index) for index in range(pages))
        if repaired or decrypted:
            _rewrite_pdf(reader, out_pdf)
    if working != out_pdf and not (repaired or decrypted):
        shutil.copyfile(working, out_pdf)
    return NormalizedDocument(FileType.PDF, pages, page_texts)


def _open_pdf(fh: IO[bytes]) -> tuple[PdfReader, bool]:
    """Open a PDF, returning the reader and whether pypdf had to repair the file."""
    # A strict parse that succeeds means the structure is sound: the bytes can be kept.
    strict = _strict_reader(fh)
    if strict is not None:
        return strict, False
    fh.seek(0)
    try:
        reader = PdfReader(fh, strict=False)
    except Exception as exc:  # pypdf raises many types for broken files
        raise DocumentError(ErrorCode.corrupt_file, f"pypdf: {exc!r}") from exc
    return reader, True


def _strict_reader(fh: IO[bytes]) -> PdfReader | None:
    try:
        reader = PdfReader(fh, strict=True)
        _ = len(reader.pages)
    except Exception:  # any strict-mode complaint only means "open it leniently and repair"
        return None
    return reader


def _decrypt(reader: PdfReader) -> bool:
    """Decrypt with the empty password; return whether the file was encrypted."""
    if not reader.is_encrypted:
        return False
    try:
        result = reader.decrypt("")
    except Exception as exc:  # unsupported algorithms raise NotImplementedError & co.
        raise DocumentError(ErrorCode.needs_password, f"cannot decrypt: {exc!r}") from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise DocumentError(ErrorCode.needs_password, "the empty password does not open it")
    return True


def _count_pages(reader: PdfReader, max_pages: int) -> int:
    try:
        pages = len(reader.pages)
    except Exception as exc:  # a broken page tree surfaces here
        raise DocumentError(ErrorCode.corrupt_file, f"page tree: {exc!r}") from exc
    if pages == 0:
        raise DocumentError(ErrorCode.corrupt_file, "the PDF has no pages")
    if pages > max_pages:
        raise DocumentError(ErrorCode.too_many_pages, f"{pages} pages > {max_pages}")
    return pages


def _check_image_sizes(reader: PdfReader, index: int, max_pixels: int) -> None:
    """Refuse a page drawing an image larger than ``max_pixels`` (a JBIG2/CCITT bomb).

    Reads the image dictionaries only (page resources and forms one level down); no pixel
    is decoded.
    """
    try:
        resources = reader.pages[index].get("/Resources")
        pending = [resources.get_object()] if resources is not None else []
        for depth in range(2):
            found = []
            for res in pending:
                xobjects = res.get("/XObject") if hasattr(res, "get") else None
                for ref in xobjects.get_object().values() if xobjects is not None else ():
                    xobject = ref.get_object()
                    if xobject.get("/Subtype") == "/Image":
                        pixels = int(xobject.get("/Width", 0)) * int(xobject.get("/Height", 0))
                        if pixels > max_pixels:
                            raise DocumentError(
                                ErrorCode.image_too_large,
                                f"page {index}: image of {pixels} pixels > {max_pixels}",
                            )
                    elif depth == 0 and xobject.get("/Resources") is not None:
                        found.append(xobject["/Resources"].get_object())
            pending = found
    except DocumentError:
        raise
    except Exception:  # odd resource trees are the renderer's problem, not a size verdict
        return


def decrypt_pdf(source: Path, out_pdf: Path, password: str) -> None:
    """Write a decrypted copy of the encrypted PDF ``source`` opened with ``password``.

    Raises DocumentError(needs_password) when the password does not open it, and
    DocumentError(corrupt_file) when ``source`` is not a readable PDF. The password is
    used in memory only.
    """
    with source.open("rb") as fh:
        head = fh.read(HEAD_SIZE)
        if detect_type(head) is not FileType.PDF:
            raise DocumentError(ErrorCode.unsupported_type, "only PDFs have passwords")
        fh.seek(max(0, head.find(b"%PDF-")))
        data = io.BytesIO(fh.read())
    try:
        reader = PdfReader(data, strict=False)
    except Exception as exc:  # pypdf raises many types for broken files
        raise DocumentError(ErrorCode.corrupt_file, f"pypdf: {exc!r}") from exc
    if reader.is_encrypted:
        try:
            result = reader.decrypt(password)
        except Exception as exc:  # unsupported algorithms raise NotImplementedError & co.
            raise DocumentError(ErrorCode.needs_password, f"cannot decrypt: {exc!r}") from exc
        if result == PasswordType.NOT_DECRYPTED:
            raise DocumentError(ErrorCode.needs_password, "the password does not open it")
    _rewrite_pdf(reader, out_pdf)


def _page_text(reader: PdfReader, index: int) -> str:
    try:
        text = reader.pages[index].extract_text()
    except LimitReachedError as exc:
        # Content past pypdf's output limit (75 MB a stream; "Limit reached while
        # decompressing") is a bomb or a drawing nobody reads: poppler would spend minutes
        # rendering it for OCR. pypdf's other limits (a reference loop, say) mark damage.
        if "while decompressing" in str(exc):
            raise DocumentError(ErrorCode.file_too_large, f"page {index}: {exc}") from exc
        return ""
    except Exception:  # a page whose text can't be extracted just needs OCR
        return ""
    return storable(text) if text else ""


def _rewrite_pdf(reader: PdfReader, out_pdf: Path) -> None:
    partial = out_pdf.with_name(out_pdf.name + ".part")
    try:
        writer = PdfWriter(clone_from=reader)
        with partial.open("wb") as dst:
            writer.write(dst)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        raise DocumentError(ErrorCode.corrupt_file, f"cannot rewrite: {exc!r}") from exc
    # Replacing (not truncating) keeps the reader's open handle on the old bytes valid.
    partial.replace(out_pdf)


# --- images --------------------------------------------------------------------------------


def _normalize_image(
    fh: IO[bytes],
    detected: FileType,
    out_pdf: Path,
    *,
    max_pages: int,
    max_pixels: int,
    fix_rotation: bool,
) -> NormalizedDocument:
    writer = PdfWriter()
    # Pillow's own bomb check warns before ours could run; treat its warning as a verdict too.
    # (catch_warnings is process-wide; workers run one document per process.)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(fh, formats=[_PIL_FORMATS[detected]])
            with image:
                # Only TIFF pages are document pages; GIF/WEBP/HEIC extra frames are
                # animations or bursts, of which the first frame is the picture.
                frames = getattr(image, "n_frames", 1) if detected is FileType.TIFF else 1
                if frames > max_pages:
                    raise DocumentError(ErrorCode.too_many_pages, f"{frames} frames > {max_pages}")
                if frames == 1 and getattr(image, "n_frames", 1) > 1:
                    _check_extra_frames(image, max_pages, max_pixels)
                for index in range(frames):
                    image.seek(index)
                    page = _prepare_frame(image, detected, max_pixels, fix_rotation)
                    writer.append(PdfReader(page))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise DocumentError(ErrorCode.image_too_large, str(exc)) from exc
        except _IMAGE_DATA_ERRORS as exc:
            raise DocumentError(ErrorCode.corrupt_file, f"{detected}: {exc!r}") from exc
    with out_pdf.open("wb") as dst:
        writer.write(dst)
    return NormalizedDocument(detected, frames, ("",) * frames)


def _check_extra_frames(image: Image.Image, max_pages: int, max_pixels: int) -> None:
    """Seek through an animation's frames so a bomb hidden after the first one is refused."""
    for index in range(1, min(image.n_frames, max_pages)):
        image.seek(index)
        width, height = image.size
        if width * height > max_pixels:
            raise DocumentError(ErrorCode.image_too_large, f"frame {index}: {width}x{height}")
    image.seek(0)


def _prepare_frame(
    image: Image.Image, detected: FileType, max_pixels: int, fix_rotation: bool
) -> io.BytesIO:
    """Decode the current frame, make it an upright, level, cropped scan; one-page PDF out."""
    width, height = image.size
    if width <= 0 or height <= 0:
        raise DocumentError(ErrorCode.corrupt_file, f"image size {width}x{height}")
    # Checked on the header alone, before any pixel is decoded.
    if width * height > max_pixels:
        raise DocumentError(ErrorCode.image_too_large, f"{width}x{height} > {max_pixels} pixels")
    source_dpi = _sane_dpi(image.info.get("dpi"), width, height)
    if detected is FileType.JPEG and max(width, height) > MAX_SIDE:
        # JPEG can decode at 1/2, 1/4, 1/8 scale directly: less memory and time.
        scale = MAX_SIDE / max(width, height)
        image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    image.load()

    frame = _flatten(ImageOps.exif_transpose(image))
    if max(frame.size) > MAX_SIDE:
        frame.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # Pixels per source pixel; crops and quarter turns keep it, only resizing changes it.
    scale = max(frame.size) / max(width, height)
    frame = crop_to_paper(frame)
    if fix_rotation:
        rotation = detect_rotation(frame)
        if rotation:
            # PIL rotates counter-clockwise; our answer is clockwise.
            frame = frame.rotate(-rotation, expand=True)
    frame = enhance_contrast(deskew(frame))

    if source_dpi is not None:
        dpi = source_dpi * scale
    else:
        # Unknown or absurd DPI (phones write 72): assume the short side is an A4 width.
        dpi = max(MIN_DPI, min(frame.size) / A4_WIDTH_IN)
    page = io.BytesIO()
    frame.save(page, "PDF", resolution=round(dpi, 2), quality=JPEG_QUALITY)
    page.seek(0)
    return page


def _sane_dpi(value: object, width: int, height: int) -> float | None:
    """The DPI an image declares, if it describes a plausible paper size."""
    if not isinstance(value, tuple) or len(value) < 1:
        return None
    try:
        dpi = float(value[0])
    except (TypeError, ValueError):
        return None
    if not 50 <= dpi <= 2400:
        return None
    short_in, long_in = sorted((width / dpi, height / dpi))
    # From a bus ticket (~1.5 in) to A3 (~11.7 x 16.5 in); long receipts may run ~50 in.
    return dpi if 1.5 <= short_in <= 17 and long_in <= 50 else None


def _flatten(image: Image.Image) -> Image.Image:
    """Return an RGB, L or 1 image: transparency onto white, odd modes converted."""
    mode = image.mode
    if mode in {"1", "L", "RGB"}:
        return image
    if mode.startswith("I") or mode == "F":
        # 16/32-bit grey: scale to 8 bits instead of clipping everything above 255 to white.
        scaled = image.convert("I").point(lambda v: v / 256) if mode.startswith("I;16") else image
        return scaled.convert("L")
    if mode in {"RGBA", "LA", "PA", "La", "RGBa"} or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(background, rgba)
        return flat.convert("L" if mode in {"LA", "La"} else "RGB")
    return image.convert("RGB")


def detect_rotation(image: Image.Image, *, min_confidence: float = MIN_OSD_CONFIDENCE) -> int:
    """Degrees (0, 90, 180 or 270) to rotate ``image`` clockwise so its text is upright.

    A quick OCR of a sample decides: upright when it reads well as it is; otherwise
    tesseract OSD suggests which turn to read next, and the turn that reads clearly best
    wins. When no turn reads clearly best (text too small in the sample), OSD's answer is
    taken if it is at least ``min_confidence`` sure. Blank images give 0.
    """
    limit_threads()
    probe = image.convert("L")
    if max(probe.size) > OSD_MAX_SIDE:
        probe.thumbnail((OSD_MAX_SIDE, OSD_MAX_SIDE), Image.Resampling.BILINEAR)
    probe = crop_to_paper(probe)
    if min(probe.size) < 16 or probe.getextrema()[0] == probe.getextrema()[1]:
        return 0
    sample = _reading_sample(probe)
    scores = {0: _read_confidence(sample)}
    if scores[0] >= SURE_READ:
        return 0  # the common case: one quick read, no OSD
    # OSD alone turns some upright till receipts upside down, even "sure" (conf > 5):
    # it only orders the reads.
    rotation, confidence = _osd(probe)
    sure_osd = rotation is not None and confidence >= min_confidence
    order = [rotation] if sure_osd and rotation else []
    for turn in [*order, *(t for t in (180, 90, 270) if t not in order)]:
        scores[turn] = _read_confidence(sample.rotate(-turn, expand=True))
        if scores[turn] >= SURE_READ:
            break
    ranked = sorted(scores, key=lambda turn: scores[turn], reverse=True)
    if len(ranked) > 1 and scores[ranked[0]] > scores[ranked[1]] + FLIP_MARGIN:
        return ranked[0]
    return rotation if sure_osd and rotation is not None else 0


def _reading_sample(probe: Image.Image) -> Image.Image:
    """A small copy of ``probe`` to OCR in each orientation (cheap, and text stays legible).

    A full page of small print (a payslip, an invoice) shrunk to VOTE_MAX_SIDE has letters a
    few pixels high that read as noise in every turn: for a page, the inkiest square of that
    size is cut at full resolution instead.
    """
    if max(probe.size) >= 2 * VOTE_MAX_SIDE and _is_page_of_text(probe):
        return _inkiest_square(probe, VOTE_MAX_SIDE)
    small = probe.copy()
    small.thumbnail((VOTE_MAX_SIDE, VOTE_MAX_SIDE), Image.Resampling.BILINEAR)
    return small


def _is_page_of_text(probe: Image.Image) -> bool:
    """Lines longer than a receipt's, read either way up (the page may lie on its side)."""
    for image in (probe, probe.transpose(Image.Transpose.ROTATE_90)):
        letters = text_width_in_letters(image)
        if letters is not None and letters > PAGE_MIN_LETTERS:
            return True
    return False


def _inkiest_square(probe: Image.Image, side: int) -> Image.Image:
    """The ``side``-pixel square of ``probe`` holding the most dark pixels."""
    cell = 10
    grey = np.asarray(probe.convert("L"), dtype=np.uint8)
    dark = grey < min(int(grey.mean()) - 40, 160)
    rows, cols = dark.shape[0] // cell, dark.shape[1] // cell
    counts = dark[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell).sum(axis=(1, 3))
    span_r, span_c = min(rows, side // cell), min(cols, side // cell)
    summed = counts.cumsum(0).cumsum(1)
    summed = np.pad(summed, ((1, 0), (1, 0)))
    window = (
        summed[span_r:, span_c:]
        - summed[:-span_r, span_c:]
        - summed[span_r:, :-span_c]
        + summed[:-span_r, :-span_c]
    )
    top, left = np.unravel_index(int(window.argmax()), window.shape)
    return probe.crop(
        (int(left) * cell, int(top) * cell, int(left) * cell + side, int(top) * cell + side)
    )


def _osd(probe: Image.Image) -> tuple[int | None, float]:
    try:
        osd = pytesseract.image_to_osd(
            probe, output_type=pytesseract.Output.DICT, config="--psm 0", timeout=30
        )
    except (pytesseract.TesseractError, RuntimeError):
        # "Too few characters" on blank or tiny images, or a timeout.
        return None, 0.0
    return int(osd.get("rotate", 0)) % 360, float(osd.get("orientation_conf", 0.0))


def _read_confidence(image: Image.Image) -> float:
    try:
        data = pytesseract.image_to_data(
            image, lang="eng", config="--psm 6", output_type=pytesseract.Output.DICT, timeout=30
        )
    except (pytesseract.TesseractError, RuntimeError):
        return 0.0
    words = [
        float(conf)
        for conf, text in zip(data["conf"], data["text"], strict=True)
        if text.strip() and float(conf) >= 0
    ]
    # Confident long words, not confident noise: weight by how many words were read.
    return sum(words) / max(len(words), 1) * min(len(words), 20) / 20
