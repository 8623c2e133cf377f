"""The document chain: normalize ▶ ocr ▶ classify ▶ index ▶ notify.

Each task takes a document id, loads what it needs, runs one `pipeline` step outside any
database transaction, saves the result with its history line, and hands on to the next step.
Every task is idempotent: a redelivered message rewrites the same rows and objects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, Final

from celery import Task, chain
from celery.exceptions import Ignore, SoftTimeLimitExceeded, TimeLimitExceeded
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from pipeline.classify import Category
from pipeline.errors import DocumentError, ErrorCode, user_message
from pipeline.filetype import FileType
from pipeline.normalize import NormalizedDocument, normalize_upload
from pipeline.ocr import OcrResult, layer_path, merge_text, ocr_pdf_pages
from pipeline.searchable import build_searchable_pdf
from pipeline.storable import storable
from storage.db import transaction
from storage.history import mark_finished, mark_queued, mark_started
from storage.history import step_event as history_row
from storage.keys import ObjectRole, object_key
from storage.models import Document, DocumentStatus, Step, StepStatus, utcnow
from storage.objects import StoreUnavailable
from storage.search import index_document
from workers.app import app
from workers.duplicates import stop_if_duplicate
from workers.extraction import classify_and_extract, is_xml_upload, normalize_xml
from workers.notifications import notify_document
from workers.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)

# Faults that pass: the store or the database is briefly away. Everything else is permanent.
TRANSIENT_ERRORS: Final = (StoreUnavailable, sa_exc.OperationalError, sa_exc.InterfaceError)

# The folders an uploader may choose.
CATEGORIES: Final[tuple[str, ...]] = tuple(c.value for c in Category)

NEXT_STEP: Final[dict[Step, Step]] = {
    Step.NORMALIZE: Step.OCR,
    Step.OCR: Step.CLASSIFY,
    Step.CLASSIFY: Step.INDEX,
    Step.INDEX: Step.NOTIFY,
}


@dataclass(slots=True)
class StepOutcome:
    """What a step did: its history status and the document attributes it sets."""

    status: StepStatus = StepStatus.SUCCEEDED
    message: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    save: Callable[[Session, Document], None] | None = None


class DocumentTask(Task):
    """Retries transient faults with backoff and jitter; anything else fails the document."""

    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 120
    retry_jitter = True
    max_retries = 8

    def on_failure(
        self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: Any
    ) -> None:
        if isinstance(exc, TimeLimitExceeded):  # the hard limit: the worker killed the task
            code = ErrorCode.timeout
        elif isinstance(exc, TRANSIENT_ERRORS):  # retries exhausted
            code = ErrorCode.storage_unavailable
        else:
            code = ErrorCode.internal_error
        log.error("task %s failed for document %s: %r", self.name, args[:1], exc)
        try:
            if self.step == Step.NOTIFY:  # a notification fault never fails the document
                _notify_step_failed(args[0], code, f"{type(exc).__name__}: {exc}")
                return
            fail_document(args[0], self.step, code, f"{type(exc).__name__}: {exc}")
            if self.step != Step.NOTIFY:
                notify.apply_async((args[0],))
        except Exception:  # the database or broker may be the fault; the log keeps the reason
            log.exception("could not record the failure of document %s", args[:1])

    step: Step


def _document_task(step: Step) -> Callable[[Callable[..., StepOutcome]], Task]:
    """Declare the task running ``step`` with the given work function."""

    def decorate(work: Callable[[Runtime, Document, Path], StepOutcome]) -> Task:
        def run(self: DocumentTask, document_id: str) -> str:
            return run_step(self, document_id, step, work)

        run.__name__ = run.__qualname__ = step.value
        run.__doc__ = work.__doc__
        return app.task(
            name=f"papeleo.documents.{step.value}", base=DocumentTask, bind=True, step=step
        )(run)

    return decorate


def run_step(
    task: Task,
    document_id: str,
    step: Step,
    work: Callable[[Runtime, Document, Path], StepOutcome],
) -> str:
    runtime = get_runtime()
    if step == Step.NORMALIZE and stop_if_duplicate(document_id):
        raise Ignore  # the company already sent these bytes: kept and linked, not processed
    with transaction(runtime.sessions) as session:
        document = session.get(Document, document_id)
        if document is None:
            log.warning("document %s no longer exists; %s skipped", document_id, step)
            raise Ignore
        if document.status == DocumentStatus.FAILED and step != Step.NOTIFY:
            raise Ignore  # an earlier step failed; the chain was already diverted to notify
        mark_started(session, history_row(session, document, step), task.request.hostname)
        if step == Step.NORMALIZE:
            document.status = DocumentStatus.PROCESSING
    try:
        with TemporaryDirectory(prefix=f"papeleo-{step}-") as scratch:
            outcome = work(runtime, document, Path(scratch))
    except DocumentError as error:
        _divert_to_notify(document_id, step, error.code, error.detail)
    except SoftTimeLimitExceeded:
        _divert_to_notify(document_id, step, ErrorCode.timeout, "soft time limit exceeded")
    with transaction(runtime.sessions) as session:
        document = session.get_one(Document, document_id)
        for name, value in outcome.changes.items():
            setattr(document, name, value)
        if outcome.save is not None:
            outcome.save(session, document)
        mark_finished(
            session, history_row(session, document, step), outcome.status, message=outcome.message
        )
        if step in NEXT_STEP:
            mark_queued(session, document, NEXT_STEP[step])
    return document_id


def fail_document(document_id: str, step: Step, code: ErrorCode, detail: str) -> None:
    """End ``document_id`` in ``failed`` with ``code``; its original and history stay."""
    with transaction(get_runtime().sessions) as session:
        document = session.get(Document, document_id)
        if document is None:
            return
        document.status = DocumentStatus.FAILED
        document.error_code = code.value
        document.error_message = user_message(code, "es")
        mark_finished(
            session,
            history_row(session, document, step),
            StepStatus.FAILED,
            message=storable(detail)[:2000],
            error_code=code.value,
        )
        if step != Step.NOTIFY:
            mark_queued(session, document, Step.NOTIFY)


def _notify_step_failed(document_id: str, code: ErrorCode, detail: str) -> None:
    """Record the notify step as failed in the history; the document keeps its status."""
    with transaction(get_runtime().sessions) as session:
        document = session.get(Document, document_id)
        if document is not None:
            mark_finished(
                session,
                history_row(session, document, Step.NOTIFY),
                StepStatus.FAILED,
                message=storable(detail)[:2000],
                error_code=code.value,
            )


def _divert_to_notify(document_id: str, step: Step, code: ErrorCode, detail: str) -> None:
    fail_document(document_id, step, code, detail)
    notify.apply_async((document_id,))
    raise Ignore  # the rest of the chain does not run


@_document_task(Step.NORMALIZE)
def normalize(runtime: Runtime, document: Document, scratch: Path) -> StepOutcome:
    """Detect the real type, repair or wrap the upload into one clean PDF.

    Reads the decrypted copy when the uploader gave a password on retry, else the original.
    """
    settings = runtime.settings
    source = scratch / "original"
    decrypted = document_key(document, ObjectRole.DECRYPTED, "decrypted.pdf")
    runtime.store.get_file(
        decrypted if runtime.store.exists(decrypted) else document.original_key, source
    )
    if is_xml_upload(source):  # Facturae e-invoice: its fields come from the XML (classify)
        xml = normalize_xml(runtime, document, source, scratch)
        return StepOutcome(message=xml.message, changes=xml.changes)
    normalized_pdf = scratch / "normalized.pdf"
    result = normalize_upload(
        source, normalized_pdf, max_pages=settings.max_pages, max_pixels=settings.max_image_pixels
    )
    key = document_key(document, ObjectRole.NORMALIZED, "normalized.pdf")
    runtime.store.put_file(key, normalized_pdf, content_type="application/pdf")
    needs_ocr = list(result.pages_needing_ocr)
    return StepOutcome(
        message=f"{result.detected_type} · {result.pages} page(s) · {len(needs_ocr)} to OCR",
        changes={
            "detected_type": str(result.detected_type),
            "pages": result.pages,
            "normalized_key": key,
            "text": result.text,
            "ocr_pages": needs_ocr,
            # Cleared here (not by OCR): a fanned-out OCR claims its join by setting it.
            "archive_key": None,
            "page_confidences": None,
            "ocr_confidence": None,
        },
    )


def turns_pages(document: Document) -> bool:
    """Whether OCR turns ``document``'s pages upright: a PDF's scans may have been fed in
    sideways; photos were turned upright by normalize already."""
    return document.detected_type == FileType.PDF


def document_key(document: Document, role: ObjectRole, file_name: str) -> str:
    """The object key of one of ``document``'s derived files."""
    return object_key(document.company_id, document.fiscal_year, document.id, role, file_name)


@_document_task(Step.OCR)
def ocr(runtime: Runtime, document: Document, scratch: Path) -> StepOutcome:
    """OCR the pages without a text layer and store the searchable PDF; text PDFs skip it.

    Above ``ocr_fanout_pages`` pages the work fans out to one task per page
    (workers/ocr_pages.py); the last page to finish continues the chain.
    """
    if not document.ocr_pages:
        return StepOutcome(
            StepStatus.SKIPPED,
            "text layer on every page",
            changes={"archive_key": document.normalized_key},
        )
    settings = runtime.settings
    if len(document.ocr_pages) > settings.ocr_fanout_pages:
        from workers.ocr_pages import fan_out  # the page tasks import this module

        fan_out(document)
        raise Ignore  # the history line stays "started" until the last page joins
    pdf = scratch / "normalized.pdf"
    runtime.store.get_file(document.normalized_key or "", pdf)
    result = ocr_pdf_pages(
        pdf,
        document.ocr_pages,
        languages=settings.ocr_languages,
        dpi=settings.ocr_dpi,
        timeout=settings.ocr_page_timeout,
        max_pixels=settings.max_image_pixels,
        layers_dir=scratch / "layers",
        fix_rotation=turns_pages(document),
    )
    layers = {page.index: layer_path(scratch / "layers", page.index) for page in result.pages}
    return ocr_outcome(runtime, document, pdf, result, layers, scratch)


def ocr_outcome(
    runtime: Runtime,
    document: Document,
    normalized_pdf: Path,
    result: OcrResult,
    layers: dict[int, Path],
    scratch: Path,
) -> StepOutcome:
    """Store the searchable PDF and return the OCR step's changes (sequential or fanned out).

    Where the text layer cannot be laid over the pages, the words are kept anyway and the
    normalized PDF stands in for the archive, as it does for a PDF that needed no OCR.
    """
    archive = scratch / "archive.pdf"
    rotations = {page.index: page.rotation for page in result.pages if page.rotation}
    try:
        build_searchable_pdf(normalized_pdf, layers, archive, rotations)
    except DocumentError as error:  # pypdf tripping on a damaged file's objects
        log.warning("document %s: %s; the archive is the normalized PDF", document.id, error)
        archive_key = document.normalized_key
        without_layer = "; no text layer in the archive PDF (damaged file)"
    else:
        archive_key = document_key(document, ObjectRole.ARCHIVE, "archive.pdf")
        runtime.store.put_file(archive_key, archive, content_type="application/pdf")
        without_layer = ""
    layer = NormalizedDocument(
        detected_type=FileType(document.detected_type or FileType.PDF),
        pages=document.pages or len(result.pages),
        page_texts=tuple((document.text or "").split("\f")),
    )
    confidence = result.mean_confidence
    return StepOutcome(
        message=f"{len(result.pages)} page(s) OCRed"
        + (f", mean confidence {confidence:.0f}" if confidence is not None else "")
        + (f"; {len(rotations)} page(s) turned upright" if rotations else "")
        + without_layer,
        changes={
            "text": merge_text(layer, result),
            "ocr_confidence": confidence,
            "page_confidences": {str(page.index): page.confidence for page in result.pages},
            "archive_key": archive_key,
        },
    )


@_document_task(Step.CLASSIFY)
def classify(runtime: Runtime, document: Document, scratch: Path) -> StepOutcome:
    """Suggest a category, extract the fields (QR, XML, text), flag for review; the
    uploader's folder is kept (workers/extraction.py)."""
    result = classify_and_extract(runtime, document, scratch)
    return StepOutcome(message=result.message, changes=result.changes)


@_document_task(Step.INDEX)
def index(runtime: Runtime, document: Document, scratch: Path) -> StepOutcome:
    """Make the document findable by its words in the document history."""

    def save(session: Session, saved: Document) -> None:
        index_document(session, saved)
        saved.status = DocumentStatus.INDEXED
        saved.indexed_at = saved.indexed_at or utcnow()

    return StepOutcome(message="indexed", save=save)


@_document_task(Step.NOTIFY)
def notify(runtime: Runtime, document: Document, scratch: Path) -> StepOutcome:
    """Tell people the outcome (once per run); e-mails and webhooks go out as their own tasks."""
    planned = notify_document(document.id)
    return StepOutcome(message=f"notifications planned; {planned} e-mail/webhook deliveries")


_STEPS: Final = (normalize, ocr, classify, index, notify)


def document_chain(document_id: str) -> chain:
    """The chain of signatures processing one document (ids only in the arguments)."""
    return chain(*(step.si(document_id) for step in _STEPS))


def send_document_chain(document_id: str, first_task_id: str, headers: dict[str, str]) -> None:
    """Publish what `document_chain` publishes, for a third of the CPU: uploads' hot path.

    The chain travels as Celery sends it (protocol 2): the first step's message carries the
    others, last first, in its ``chain`` option. Skipping the canvas machinery (cloning and
    freezing every step) leaves the later steps' ids to the worker, which sets them when it
    sends each one, as it does for any chain.
    """
    if app.conf.task_always_eager:
        # Run here (`papeleo process`, tests): an eager task ignores its message's chain, the
        # canvas runs every step in turn.
        steps = document_chain(document_id)
        steps.tasks[0].set(task_id=first_task_id)
        steps.apply_async(headers=headers)
        return
    first, *rest = _STEPS
    later = [step.si(document_id) for step in reversed(rest)]
    first.apply_async((document_id,), task_id=first_task_id, chain=later, headers=headers)


def start_processing(document_id: str) -> None:
    """Publish the chain for a committed document."""
    document_chain(document_id).apply_async()
