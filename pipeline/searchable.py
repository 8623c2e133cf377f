"""The searchable (archive) PDF: each page as normalized, plus an invisible OCR text layer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pypdf import PdfReader, PdfWriter, Transformation

from pipeline.errors import DocumentError, ErrorCode


def build_searchable_pdf(
    normalized: Path,
    layers: Mapping[int, Path],
    out_pdf: Path,
    rotations: Mapping[int, int] | None = None,
) -> None:
    """Write ``normalized`` to ``out_pdf`` with the text-only PDF ``layers[i]`` under page i.

    ``layers`` come from `pipeline.ocr.ocr_page` (tesseract's text-only renderer): one page
    each, sized like the image that was read. A page OCR read turned (``rotations[i]``
    degrees clockwise: a scan fed in sideways) is turned the same way, so it shows upright.
    Each layer is scaled onto the page box as it is displayed (a /Rotate is first baked into
    the page), so the invisible words sit over the visible ones. Pages without a layer are
    copied as they are.
    """
    rotations = rotations or {}
    try:
        writer = PdfWriter(clone_from=PdfReader(normalized))
        for index, layer_file in sorted(layers.items()):
            page = writer.pages[index]
            if rotations.get(index, 0) % 360:
                page.rotate(rotations[index])
            if int(page.get("/Rotate", 0) or 0) % 360:
                page.transfer_rotation_to_content()
            layer = PdfReader(layer_file).pages[0]
            box, text_box = page.mediabox, layer.mediabox
            scale_x = float(box.width) / float(text_box.width)
            scale_y = float(box.height) / float(text_box.height)
            placement = (
                Transformation()
                .translate(-float(text_box.left), -float(text_box.bottom))
                .scale(scale_x, scale_y)
                .translate(float(box.left), float(box.bottom))
            )
            # The layer goes over the image but draws nothing (render mode 3, invisible).
            page.merge_transformed_page(layer, placement, over=True)
        partial = out_pdf.with_name(out_pdf.name + ".part")
        with partial.open("wb") as dst:
            writer.write(dst)
        partial.replace(out_pdf)
    except Exception as exc:  # pypdf raises many types on odd files; the text is already safe
        raise DocumentError(ErrorCode.ocr_failed, f"searchable PDF: {exc!r}") from exc
