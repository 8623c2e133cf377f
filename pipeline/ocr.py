"""OCR of the PDF pages that have no usable text layer (pdf2image + tesseract)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from tempfile import TemporaryDirectory
from typing import Any, Final

import pytesseract
from pdf2image import convert_from_path
from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ContentStream

from pipeline._tesseract import limit_threads
from pipeline.errors import DocumentError, ErrorCode
from pipeline.normalize import NormalizedDocument, detect_rotation
from pipeline.photo import text_width_in_letters

try:  # pdf2image >= 1.17 names its timeout error; older versions raise a bare subprocess one
    from pdf2image.exceptions import PDFPopplerTimeoutError
except ImportError:  # pragma: no cover
    from subprocess import TimeoutExpired as PDFPopplerTimeoutError


# Largest page rendering (pixels) when the caller sets no limit; as normalize's default.
DEFAULT_MAX_PIXELS: Final = 80_000_000
# A text block at most this many letter heights wide is one column, a till receipt (19-46
# measured; A4 pages ~60+). Tesseract reads it as one uniform block (--psm 6): its page
# layout analysis (--psm 3) splits the right-aligned amounts off receipts and drops them
# (48 generated receipt photos: total right 75 % with psm 3, 96 % with psm 6).
ONE_COLUMN_MAX_WIDTH: Final = 52.0
PSM_PAGE: Final = 3
PSM_ONE_BLOCK: Final = 6


@dataclass(frozen=True, slots=True)
class OcrPage:
    """OCR text of one page (0-based ``index``), its mean word confidence (0-100), and the
    degrees it was turned clockwise to be read upright (a scan fed in sideways)."""

    index: int
    text: str
    confidence: float | None
    rotation: int = 0


@dataclass(frozen=True, slots=True)
class OcrResult:
    """OCR of the requested pages, in the order they were asked for."""

    pages: tuple[OcrPage, ...]

    @property
    def text(self) -> str:
        """Page texts separated by form feeds."""
        return "\f".join(page.text for page in self.pages)

    @property
    def mean_confidence(self) -> float | None:
        """Mean of the page confidences (pages without words don't count)."""
        values = [page.confidence for page in self.pages if page.confidence is not None]
        return fmean(values) if values else None


def ocr_pdf_pages(
    pdf: Path,
    pages: Sequence[int],
    *,
    languages: str = "spa+eng",
    dpi: int = 300,
    timeout: int = 120,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    layers_dir: Path | None = None,
    fix_rotation: bool = False,
) -> OcrResult:
    """OCR the 0-based ``pages`` of ``pdf`` one at a time (see `ocr_page`).

    With ``layers_dir``, each page's invisible text layer is written there as
    ``page-{index}.pdf`` (see `layer_path`), ready for `pipeline.searchable`.
    """
    return OcrResult(
        tuple(
            ocr_page(
                pdf, index, languages=languages, dpi=dpi, timeout=timeout,
                max_pixels=max_pixels,
                layer_pdf=layer_path(layers_dir, index) if layers_dir is not None else None,
                fix_rotation=fix_rotation,
            )
            for index in pages
        )
    )


def layer_path(folder: Path, index: int) -> Path:
    """Where `ocr_pdf_pages` writes the text layer of page ``index``."""
    return folder / f"page-{index}.pdf"


def ocr_page(
    pdf: Path,
    index: int,
    *,
    languages: str = "spa+eng",
    dpi: int = 300,
    timeout: int = 120,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    layer_pdf: Path | None = None,
    fix_rotation: bool = False,
) -> OcrPage:
    """OCR page ``index`` (0-based) of ``pdf``; optionally write its text layer to ``layer_pdf``.

    A page that is one upright image (every photo we wrap, most scans) is read at the
    image's own resolution straight from its bytes (rendered instead where tesseract cannot
    decode them); any other page is rendered at ``dpi`` (lowered so the rendering stays under
    ``max_pixels``). ``timeout`` (seconds) applies to rendering and to recognition. Raises
    DocumentError(corrupt_file) when poppler cannot parse the file, DocumentError(ocr_failed)
    when poppler or tesseract fail otherwise, DocumentError(timeout) when either runs out of
    time. With ``fix_rotation`` (scans: photos were turned upright by normalize) a page read
    sideways or upside down is turned first; `OcrPage.rotation` says how far.
    """
    if index < 0:
        raise ValueError(f"page index must be >= 0, got {index}")
    limit_threads()
    with TemporaryDirectory(prefix="papeleo-ocr-") as scratch:
        folder = Path(scratch)

        def read(image: Path, image_dpi: int) -> tuple[dict[str, list], int]:
            turn = 0
            if fix_rotation:
                image, turn = _upright(image, folder)
            data = _tesseract(image, folder / "out", index, languages=languages, dpi=image_dpi,
                              timeout=timeout, layer=layer_pdf is not None,
                              psm=page_segmentation(image))
            return data, turn

        read_as = None
        embedded = _embedded_scan(pdf, index, folder)
        if embedded is not None:
            try:
                read_as = read(*embedded)
            except DocumentError as error:
                if error.code is not ErrorCode.ocr_failed:
                    raise
                # Tesseract gives up on a damaged JPEG at its first bad byte; poppler draws
                # what the rest of the image still holds.
        if read_as is None:
            read_as = read(*render_page(pdf, index, folder, dpi=dpi, timeout=timeout,
                                        max_pixels=max_pixels))
        data, rotation = read_as
        if layer_pdf is not None:
            layer_pdf.parent.mkdir(parents=True, exist_ok=True)
            (folder / "out.pdf").replace(layer_pdf)
    text, confidence = _layout_text(data)
    return OcrPage(index=index, text=text, confidence=confidence, rotation=rotation)


def _upright(image: Path, folder: Path) -> tuple[Path, int]:
    """``image`` turned so its text reads upright (a new file in ``folder``), and the degrees
    clockwise; an image that cannot be decoded here is left to tesseract as it is."""
    try:
        with Image.open(image) as picture:
            turn = detect_rotation(picture)
            if not turn:
                return image, 0
            upright = folder / "upright.ppm"
            readable = picture if picture.mode in {"1", "L", "RGB"} else picture.convert("RGB")
            readable.rotate(-turn, expand=True).save(upright, "PPM")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            pytesseract.TesseractError):
        return image, 0
    return upright, turn


def _embedded_scan(pdf: Path, index: int, folder: Path) -> tuple[Path, int] | None:
    """The page's single upright full-page image as a file tesseract reads, and its DPI.

    None when the page is anything else (text, vector art, several images, /Rotate,
    a rotated or flipped placement): those pages are rendered instead.
    """
    try:
        page = PdfReader(pdf).pages[index]
        if int(page.get("/Rotate", 0) or 0) % 360:
            return None
        operations = ContentStream(page.get_contents(), page.pdf).operations
        drawn = [op for op in operations if op[1] not in {b"q", b"Q", b"cm", b"Do"}]
        draws = [operands for operands, op in operations if op == b"Do"]
        matrices = [operands for operands, op in operations if op == b"cm"]
        if drawn or len(draws) != 1 or len(matrices) != 1:
            return None
        a, b, c, d, _, _ = (float(v) for v in matrices[0])
        xobject = page["/Resources"]["/XObject"][draws[0][0]].get_object()
        if xobject.get("/Subtype") != "/Image" or b or c or a <= 0 or d <= 0:
            return None
        box = page.mediabox
        if a * d < 0.9 * float(box.width) * float(box.height):
            return None  # a small picture on a page: render the whole page
        dpi = round(int(xobject["/Width"]) / (a / 72))
        filters = xobject.get("/Filter")
        plain_jpeg = (
            filters == "/DCTDecode"
            and xobject.get("/ColorSpace") in {"/DeviceGray", "/DeviceRGB"}
            and "/Decode" not in xobject
            and "/SMask" not in xobject
        )
        if plain_jpeg:
            # The JPEG bytes as stored: nothing decoded or re-encoded on our side.
            path = folder / "page.jpg"
            path.write_bytes(xobject.get_data())
        else:
            path = folder / "page.pnm"
            page.images[0].image.save(path, "PPM")
    except Exception:  # anything unusual in the page structure: rendering handles it
        return None
    return path, max(dpi, 70)


def page_segmentation(image: Path) -> int:
    """Tesseract's page segmentation mode for the page image at ``image``.

    PSM_ONE_BLOCK for a narrow one-column text (receipts), else PSM_PAGE (full layout
    analysis). An unreadable image gets PSM_PAGE and fails later in tesseract.
    """
    try:
        with Image.open(image) as page:
            page.draft("L", (2000, 2000))  # JPEG decodes at a fraction of its size
            width = text_width_in_letters(page)
    except (OSError, ValueError, SyntaxError):
        return PSM_PAGE
    return PSM_ONE_BLOCK if width is not None and width <= ONE_COLUMN_MAX_WIDTH else PSM_PAGE


def render_page(
    pdf: Path, index: int, folder: Path, *, dpi: int, timeout: int, max_pixels: int
) -> tuple[Path, int]:
    """Page ``index`` as a PPM file in ``folder`` and the dpi it was rendered at: ``dpi``, or
    less where the page is so large that ``dpi`` would exceed ``max_pixels``.

    Raises DocumentError(timeout) after ``timeout`` seconds, DocumentError(corrupt_file) when
    poppler cannot parse the file, DocumentError(ocr_failed) when it cannot run.
    """
    paths, rendered_dpi = _poppler(
        pdf, index, dpi=dpi, timeout=timeout, max_pixels=max_pixels,
        output_folder=folder, paths_only=True,
    )
    return Path(paths[0]), rendered_dpi


def page_image(pdf: Path, index: int, *, dpi: int, timeout: int, max_pixels: int) -> Image.Image:
    """Page ``index`` as an image in memory (read from poppler's output, never written to
    disk: 10 ms less a page), at ``dpi`` or less as `render_page`, which it raises as."""
    images, _rendered_dpi = _poppler(pdf, index, dpi=dpi, timeout=timeout, max_pixels=max_pixels)
    return images[0]


def _poppler(
    pdf: Path, index: int, *, dpi: int, timeout: int, max_pixels: int, **output: Any
) -> tuple[list[Any], int]:
    """pdf2image's result for page ``index`` (paths or images, by ``output``) and its dpi."""
    try:
        box = PdfReader(pdf).pages[index].mediabox
        area_in2 = max(float(box.width) * float(box.height) / 72**2, 1e-6)
    except Exception:  # poppler gets the final say on odd files
        area_in2 = 8.27 * 11.69
    # A huge page (posters, 30-inch boxes) is read at the resolution the pixel limit allows.
    dpi = max(1, min(dpi, int(math.sqrt(max_pixels / area_in2))))
    try:
        # One page per call keeps memory at one page image; PPM is ~12x faster than PNG.
        rendered = convert_from_path(
            pdf, dpi=dpi, fmt="ppm", first_page=index + 1, last_page=index + 1,
            thread_count=1, timeout=timeout, **output,
        )
    except PDFPopplerTimeoutError as exc:
        raise DocumentError(ErrorCode.timeout, f"poppler, page {index}: {exc!r}") from exc
    except (PDFPageCountError, PDFSyntaxError) as exc:  # poppler cannot parse the file
        raise DocumentError(ErrorCode.corrupt_file, f"poppler, page {index}: {exc!r}") from exc
    except (PDFInfoNotInstalledError, OSError) as exc:
        raise DocumentError(ErrorCode.ocr_failed, f"poppler, page {index}: {exc!r}") from exc
    if not rendered:
        raise DocumentError(ErrorCode.ocr_failed, f"poppler rendered nothing for page {index}")
    return rendered, dpi


def _tesseract(
    image: Path,
    base: Path,
    index: int,
    *,
    languages: str,
    dpi: int,
    timeout: int,
    layer: bool,
    psm: int = PSM_PAGE,
) -> dict[str, list]:
    """Run tesseract once on ``image``: word table (TSV) and, with ``layer``, a text-only PDF."""
    config = f"--psm {psm} --dpi {dpi} -c tessedit_create_tsv=1 -c tessedit_create_txt=0"
    if layer:
        config += " -c tessedit_create_pdf=1 -c textonly_pdf=1"
    try:
        pytesseract.pytesseract.run_tesseract(
            str(image), str(base), extension="", lang=languages, config=config, timeout=timeout
        )
        tsv = base.with_suffix(".tsv").read_text(encoding="utf-8", errors="replace")
    except RuntimeError as exc:
        # pytesseract signals its own kill on timeout with a bare RuntimeError.
        if "timeout" in str(exc).lower():
            raise DocumentError(ErrorCode.timeout, f"tesseract, page {index}") from exc
        raise DocumentError(ErrorCode.ocr_failed, f"tesseract, page {index}: {exc!r}") from exc
    except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, OSError) as exc:
        raise DocumentError(ErrorCode.ocr_failed, f"tesseract, page {index}: {exc!r}") from exc
    data = pytesseract.pytesseract.file_to_dict(tsv, "\t", 11)
    if not data:
        return {"text": [], "conf": [], "block_num": [], "par_num": [], "line_num": []}
    for key in ("block_num", "par_num", "line_num"):
        data[key] = [int(v) for v in data[key]]
    return data


def _layout_text(data: dict[str, list]) -> tuple[str, float | None]:
    """Rebuild lines from tesseract's word table; blank line between blocks/paragraphs."""
    words = []
    confidences = []
    for i, word in enumerate(data["text"]):
        word = word.strip()
        if not word:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        words.append((key, word))
        confidence = float(data["conf"][i])
        if confidence >= 0:
            confidences.append(confidence)

    paragraphs: list[str] = []
    for _, paragraph in itertools.groupby(words, key=lambda item: item[0][:2]):
        lines = [
            " ".join(word for _, word in line)
            for _, line in itertools.groupby(paragraph, key=lambda item: item[0])
        ]
        paragraphs.append("\n".join(lines))
    mean = round(fmean(confidences), 2) if confidences else None
    return "\n\n".join(paragraphs), mean


def merge_text(normalized: NormalizedDocument, ocr: OcrResult | None) -> str:
    """Full text per page: the text layer, or the OCR text for pages that needed OCR.

    Pages are separated by form feeds; a page that needed OCR but has none stays "".
    """
    by_index = {page.index: page.text for page in ocr.pages} if ocr else {}
    needing = set(normalized.pages_needing_ocr)
    return "\f".join(
        by_index.get(index, text) if index in needing else text
        for index, text in enumerate(normalized.page_texts)
    )
