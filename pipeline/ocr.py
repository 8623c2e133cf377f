"""OCR of the PDF pages that have no usable text layer (pdf2image + tesseract)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

import pytesseract
from pdf2image import convert_from_path
from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError
from PIL import Image
from pytesseract import Output

from pipeline._tesseract import limit_threads
from pipeline.errors import DocumentError, ErrorCode
from pipeline.normalize import NormalizedDocument

try:  # pdf2image >= 1.17 names its timeout error; older versions raise a bare subprocess one
    from pdf2image.exceptions import PDFPopplerTimeoutError
except ImportError:  # pragma: no cover
    from subprocess import TimeoutExpired as PDFPopplerTimeoutError


@dataclass(frozen=True, slots=True)
class OcrPage:
    """OCR text of one page (0-based ``index``) and its mean word confidence (0-100)."""

    index: int
    text: str
    confidence: float | None


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
) -> OcrResult:
    """OCR the 0-based ``pages`` of ``pdf``, rendering one page at a time at ``dpi``.

    ``timeout`` (seconds) applies to each page's rendering and recognition. Raises
    DocumentError(ocr_failed) when poppler or tesseract fail, DocumentError(timeout)
    when either runs out of time.
    """
    limit_threads()
    results = []
    for index in pages:
        if index < 0:
            raise ValueError(f"page index must be >= 0, got {index}")
        image = _render_page(pdf, index, dpi=dpi, timeout=timeout)
        results.append(_recognise(image, index, languages=languages, timeout=timeout))
    return OcrResult(tuple(results))


def _render_page(pdf: Path, index: int, *, dpi: int, timeout: int) -> Image.Image:
    try:
        # One page per call keeps memory at one page image; PPM is ~12x faster than PNG.
        images = convert_from_path(
            pdf, dpi=dpi, fmt="ppm", first_page=index + 1, last_page=index + 1,
            thread_count=1, timeout=timeout,
        )
    except PDFPopplerTimeoutError as exc:
        raise DocumentError(ErrorCode.timeout, f"poppler, page {index}: {exc!r}") from exc
    except (PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError, OSError) as exc:
        raise DocumentError(ErrorCode.ocr_failed, f"poppler, page {index}: {exc!r}") from exc
    if not images:
        raise DocumentError(ErrorCode.ocr_failed, f"poppler rendered nothing for page {index}")
    return images[0]


def _recognise(image: Image.Image, index: int, *, languages: str, timeout: int) -> OcrPage:
    try:
        data = pytesseract.image_to_data(
            image, lang=languages, output_type=Output.DICT, timeout=timeout
        )
    except RuntimeError as exc:
        # pytesseract signals its own kill on timeout with a bare RuntimeError.
        if "timeout" in str(exc).lower():
            raise DocumentError(ErrorCode.timeout, f"tesseract, page {index}") from exc
        raise DocumentError(ErrorCode.ocr_failed, f"tesseract, page {index}: {exc!r}") from exc
    except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, OSError) as exc:
        raise DocumentError(ErrorCode.ocr_failed, f"tesseract, page {index}: {exc!r}") from exc
    text, confidence = _layout_text(data)
    return OcrPage(index=index, text=text, confidence=confidence)


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
