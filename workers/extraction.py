"""Classify + extract for the document chain, Facturae uploads, and learning from corrections.

``workers.documents`` calls ``classify_and_extract`` from its classify step and
``normalize_xml`` from its normalize step; ``retrain_category_model`` is the task an advisor's
correction schedules (on the ``maintenance`` queue).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from celery import signals
from PIL import Image

from pipeline.errors import DocumentError, ErrorCode
from pipeline.extract import QR_PAGES, analyze_document
from pipeline.facturae import (
    DamagedFacturae,
    facturae_pdf,
    facturae_summary_text,
    parse_facturae,
)
from pipeline.filetype import HEAD_SIZE, FileType, detect_type
from pipeline.learning import Example, load_libraries, train_category_model
from pipeline.ocr import page_image
from storage.corrections import category_examples, load_category_model, save_category_model
from storage.db import transaction
from storage.keys import ObjectRole, object_key
from storage.models import Company, Document
from workers.app import app
from workers.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)

# Page renders for the QR search: 200 dpi reads a 30 mm code with room to spare. A page too
# large for that (a poster, a broken MediaBox) is rendered smaller: an A3 page at 200 dpi is
# 7.8 million pixels.
QR_DPI: Final = 200
QR_MAX_PIXELS: Final = 16_000_000
RETRAIN_TASK: Final = "papeleo.corrections.retrain"


@dataclass(slots=True)
class StepResult:
    """What a step learned: a history message and the document attributes to set."""

    message: str
    changes: dict[str, Any] = field(default_factory=dict)


@signals.worker_init.connect
def _load_libraries(**_: Any) -> None:
    # Once in the worker's main process: its forked pool processes share the loaded modules.
    load_libraries()


def is_xml_upload(source: Path) -> bool:
    """Whether the stored original is an XML file (Facturae, signed or not)."""
    with source.open("rb") as fh:
        head = fh.read(HEAD_SIZE)
    try:
        return detect_type(head) is FileType.XML
    except DocumentError:
        return False


def normalize_xml(runtime: Runtime, document: Document, source: Path, scratch: Path) -> StepResult:
    """Facturae upload: a readable one-page PDF and the invoice text; no OCR needed.

    Raises DocumentError(corrupt_file) for a Facturae file cut short or damaged,
    DocumentError(unsupported_type) for XML that is not a Facturae e-invoice.
    """
    try:
        parsed = parse_facturae(source.read_bytes())
    except DamagedFacturae as error:
        raise DocumentError(ErrorCode.corrupt_file, f"damaged Facturae: {error}") from error
    except ValueError as error:
        raise DocumentError(ErrorCode.unsupported_type, f"XML but not Facturae: {error}") from error
    pdf = scratch / "normalized.pdf"
    facturae_pdf(parsed, pdf)
    key = object_key(
        document.company_id,
        document.fiscal_year,
        document.id,
        ObjectRole.NORMALIZED,
        "normalized.pdf",
    )
    runtime.store.put_file(key, pdf, content_type="application/pdf")
    return StepResult(
        message=f"Facturae {parsed.version} · {len(parsed.invoices)} invoice(s) · "
        + ("valid" if parsed.valid else f"{len(parsed.errors)} error(s)"),
        changes={
            "detected_type": str(FileType.XML),
            "pages": 1,
            "normalized_key": key,
            "text": facturae_summary_text(parsed),
            "ocr_pages": [],
        },
    )


def _page_images(runtime: Runtime, document: Document, scratch: Path) -> list[Image.Image]:
    """The first pages as images for the QR search; fewer, or none, where poppler fails.

    The QR codes only add to a text already read, so a page that cannot be rendered ends the
    search instead of failing the document.
    """
    if not document.normalized_key or not document.pages:
        return []
    pdf = scratch / "normalized.pdf"
    runtime.store.get_file(document.normalized_key, pdf)
    settings = runtime.settings
    images = []
    for index in range(min(QR_PAGES, document.pages)):
        try:
            image = page_image(
                pdf,
                index,
                dpi=QR_DPI,
                timeout=settings.ocr_page_timeout,
                max_pixels=min(QR_MAX_PIXELS, settings.max_image_pixels),
            )
        except DocumentError as error:
            log.warning("document %s: no QR search on page %d: %s", document.id, index, error)
            break
        images.append(image)
    return images


def classify_and_extract(runtime: Runtime, document: Document, scratch: Path) -> StepResult:
    """Suggest the category, extract the fields, decide whether an advisor must review.

    Reads the company's NIF and the advisory's learned model, the page images (for fiscal QR
    codes), the PDF (for Factur-X XML) or the original (for Facturae uploads).
    """
    with runtime.sessions() as session:
        company = session.get_one(Company, document.company_id)
        company_nif, advisory_id = company.nif, company.advisory_id
        model = load_category_model(session, advisory_id)
    facturae = None
    pdf_path: Path | None = None
    images: list[Image.Image] = []
    if document.detected_type == FileType.XML:
        original = scratch / "original.xml"
        runtime.store.get_file(document.original_key, original)
        facturae = parse_facturae(original.read_bytes())
    else:
        images = _page_images(runtime, document, scratch)
        if (scratch / "normalized.pdf").exists():
            pdf_path = scratch / "normalized.pdf"
    analysis = analyze_document(
        document.text or "",
        company_nif=company_nif,
        from_ocr=bool(document.ocr_pages),
        page_images=images,
        pdf=pdf_path,
        facturae=facturae,
        chosen_category=document.category,
        learned_model=model,
        review_threshold=runtime.settings.review_confidence_threshold,
    )
    suggestion = analysis.classification
    message = f"suggested {suggestion.category} ({suggestion.confidence:.2f})"
    if analysis.needs_review:
        message += "; needs review: " + "; ".join(analysis.review_reasons)
    return StepResult(
        message=message[:2000],
        changes={
            "predicted_category": str(suggestion.category),
            "category_confidence": suggestion.confidence,
            "fields": analysis.fields,
            "needs_review": analysis.needs_review,
        },
    )


@app.task(name=RETRAIN_TASK, bind=True, autoretry_for=(OSError,), retry_backoff=2, max_retries=5)
def retrain_category_model(self: Any, advisory_id: int) -> int:
    """Rebuild ``advisory_id``'s category model from its corrections; returns the examples.

    Idempotent: the model is a function of the corrections, so a rerun writes the same one.
    """
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        rows = category_examples(session, advisory_id)
        model = train_category_model([Example(text, category) for text, category, _ in rows])
        save_category_model(session, advisory_id, model, len(rows), rows[-1][2] if rows else None)
    log.info("advisory %s: category model retrained on %d example(s)", advisory_id, len(rows))
    return len(rows)
