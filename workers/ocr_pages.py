"""OCR of long scans, one task per page, joined without a result backend.

The embedded broker has no result backend, so a Celery chord cannot join here. Instead
each page task stores its result (JSON) and text layer (PDF) in the object store under the
document's run; the task that finds every page present assembles exactly what the
sequential OCR step would, and claims the join with one conditional UPDATE
(``archive_key IS NULL`` → set), so only one of them continues the chain. Redelivered
page tasks rewrite the same objects; a late duplicate finds the join taken and stops.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from tempfile import TemporaryDirectory

from celery import chain
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import update

from pipeline.errors import DocumentError, ErrorCode
from pipeline.ocr import OcrPage, OcrResult, layer_path, ocr_page
from storage.db import transaction
from storage.history import mark_finished, mark_queued
from storage.history import step_event as history_row
from storage.keys import ObjectRole
from storage.models import Document, DocumentStatus, Step
from workers.app import app
from workers.documents import (
    DocumentTask,
    classify,
    document_key,
    fail_document,
    index,
    notify,
    ocr_outcome,
    turns_pages,
)
from workers.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)


def fan_out(document: Document) -> None:
    """Publish one `ocr_page_task` per page of ``document`` that needs OCR (ids only)."""
    for page in document.ocr_pages:
        ocr_page_task.apply_async((document.id, document.run, page))


def _page_key(document: Document, run: int, page: int, suffix: str) -> str:
    return document_key(document, ObjectRole.OCR_PAGE, f"run{run}-page{page:04d}.{suffix}")


class OcrPageTask(DocumentTask):
    """Transient faults retry; anything else fails the document at the OCR step."""

    step = Step.OCR


@app.task(name="papeleo.ocr.page", base=OcrPageTask, bind=True)
def ocr_page_task(self: OcrPageTask, document_id: str, run: int, page: int) -> None:
    """OCR page ``page`` of run ``run`` of a document; the last page joins the step."""
    runtime = get_runtime()
    with runtime.sessions() as session:
        document = session.get(Document, document_id)
        if document is None or document.run != run or document.status == DocumentStatus.FAILED:
            return  # deleted, retried since, or another page already failed it
        session.expunge(document)
    try:
        with TemporaryDirectory(prefix="papeleo-ocr-page-") as scratch:
            _read_page(runtime, document, run, page, Path(scratch))
            if all(
                runtime.store.exists(_page_key(document, run, other, "json"))
                for other in document.ocr_pages
            ):
                _join(runtime, document, run, Path(scratch))
    except DocumentError as error:
        _fail(document_id, error.code, error.detail)
    except SoftTimeLimitExceeded:
        _fail(document_id, ErrorCode.timeout, f"soft time limit exceeded on page {page}")


def _read_page(runtime: Runtime, document: Document, run: int, page: int, scratch: Path) -> None:
    settings = runtime.settings
    pdf = scratch / "normalized.pdf"
    runtime.store.get_file(document.normalized_key or "", pdf)
    layer = scratch / "layer.pdf"
    result = ocr_page(
        pdf,
        page,
        languages=settings.ocr_languages,
        dpi=settings.ocr_dpi,
        timeout=settings.ocr_page_timeout,
        max_pixels=settings.max_image_pixels,
        layer_pdf=layer,
        fix_rotation=turns_pages(document),
    )
    runtime.store.put_file(
        _page_key(document, run, page, "pdf"), layer, content_type="application/pdf"
    )
    # The JSON goes last: its presence means the page (text and layer) is complete.
    record = scratch / "page.json"
    record.write_text(
        json.dumps(
            {"text": result.text, "confidence": result.confidence, "rotation": result.rotation}
        )
    )
    runtime.store.put_file(
        _page_key(document, run, page, "json"), record, content_type="application/json"
    )


def _join(runtime: Runtime, document: Document, run: int, scratch: Path) -> None:
    """Assemble every page like the sequential step, claim the join, continue the chain."""
    pdf = scratch / "normalized.pdf"
    pages = []
    layers = {}
    for index_ in document.ocr_pages:
        record = scratch / f"page-{index_}.json"
        runtime.store.get_file(_page_key(document, run, index_, "json"), record)
        data = json.loads(record.read_text())
        pages.append(
            OcrPage(
                index=index_,
                text=data["text"],
                confidence=data["confidence"],
                rotation=data.get("rotation", 0),  # absent from pages read before
            )
        )
        layers[index_] = layer_path(scratch / "layers", index_)
        layers[index_].parent.mkdir(exist_ok=True)
        runtime.store.get_file(_page_key(document, run, index_, "pdf"), layers[index_])
    outcome = ocr_outcome(runtime, document, pdf, OcrResult(tuple(pages)), layers, scratch)
    changes = dict(outcome.changes)
    with transaction(runtime.sessions) as session:
        claimed = session.execute(
            update(Document)
            .where(Document.id == document.id, Document.run == run, Document.archive_key.is_(None))
            .values(archive_key=changes.pop("archive_key"))
        ).rowcount
        if claimed != 1:
            return  # another page task joined first
        saved = session.get_one(Document, document.id)
        for name, value in changes.items():
            setattr(saved, name, value)
        mark_finished(
            session, history_row(session, saved, Step.OCR), outcome.status, message=outcome.message
        )
        mark_queued(session, saved, Step.CLASSIFY)
    chain(classify.si(document.id), index.si(document.id), notify.si(document.id)).apply_async()
    for page in document.ocr_pages:  # the archive holds them now; a leftover costs only space
        for suffix in ("json", "pdf"):
            try:
                runtime.store.delete(_page_key(document, run, page, suffix))
            except Exception:  # best effort: a store hiccup must not undo a finished step
                log.warning("could not delete OCR page %s of %s", page, document.id)


def _fail(document_id: str, code: ErrorCode, detail: str) -> None:
    with get_runtime().sessions() as session:
        document = session.get(Document, document_id)
        if document is None or document.status == DocumentStatus.FAILED:
            return  # another page already failed it and notified
    fail_document(document_id, Step.OCR, code, detail)
    notify.apply_async((document_id,))
