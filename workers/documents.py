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

from pipeline.classify import Category, suggest_category
from pipeline.errors import DocumentError, ErrorCode, user_message
from pipeline.fields import extract_basic_fields, find_tax_ids
from pipeline.filetype import FileType
from pipeline.messages import document_notification
from pipeline.normalize import NormalizedDocument, normalize_upload
from pipeline.ocr import merge_text, ocr_pdf_pages
from storage.db import transaction
from storage.history import add_notification_once, mark_finished, mark_queued, mark_started
from storage.history import step_event as history_row
from storage.keys import ObjectRole, object_key
from storage.models import Company, Document, DocumentStatus, Step, StepStatus, utcnow
from storage.objects import StoreUnavailable
from storage.search import index_document
from workers.app import app
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
            message=detail[:2000],
            error_code=code.value,
        )
        if step != Step.NOTIFY:
            mark_queued(session, document, Step.NOTIFY)


def _divert_to_notify(document_id: str, step: Step, code: ErrorCode, detail: str) -> None:
    fail_document(document_id, step, code, detail)
    notify.apply_async((document_id,))
    raise Ignore  # the rest of the chain does not run


@_document_task(Step.NORMALIZE)
def normalize(runtime: Runtime, document: Document, scratch: Path) -> StepOutcome:
    """Detect the real type, repair or wrap the upload into one clean PDF."""
    settings = runtime.settings
    source = scratch / "original"
    runtime.store.get_file(document.original_key, source)
    normalized_pdf = scratch / "normalized.pdf"
    result = normalize_upload(
        source, normalized_pdf, max_pages=settings.max_pages, max_pixels=settings.max_image_pixels
    )
    key = object_key(
        document.company_id,
        document.fiscal_year,
        document.id,
        ObjectRole.NORMALIZED,
        "normalized.pdf",
    )
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
        },
    )


@_document_task(Step.OCR)
def ocr(runtime: Runtime, document: Document, scratch: Path) -> StepOutcome:
    """OCR the pages without a text layer; text-layer PDFs skip it."""
    if not document.ocr_pages:
        return StepOutcome(StepStatus.SKIPPED, "text layer on every page")
    pdf = scratch / "normalized.pdf"
    runtime.store.get_file(document.normalized_key or "", pdf)
    settings = runtime.settings
    result = ocr_pdf_pages(
        pdf, document.ocr_pages, languages=settings.ocr_languages, dpi=settings.ocr_dpi
    )
    layer = NormalizedDocument(
        detected_type=FileType(document.detected_type or FileType.PDF),
        pages=document.pages or len(result.pages),
        page_texts=tuple((document.text or "").split("\f")),
    )
    confidence = result.mean_confidence
    return StepOutcome(
        message=f"{len(result.pages)} page(s) OCRed"
        + (f", mean confidence {confidence:.0f}" if confidence is not None else ""),
        changes={"text": merge_text(layer, result), "ocr_confidence": confidence},
    )


@_document_task(Step.CLASSIFY)
def classify(runtime: Runtime, document: Document, scratch: Path) -> StepOutcome:
    """Suggest a category and pull the first fields; the uploader's folder is kept."""
    text = document.text or ""
    with runtime.sessions() as session:
        company_nif = session.get_one(Company, document.company_id).nif
    suggestion = suggest_category(text, company_nif=company_nif, nifs_found=find_tax_ids(text))
    return StepOutcome(
        message=f"suggested {suggestion.category} ({suggestion.confidence:.2f})",
        changes={
            "predicted_category": str(suggestion.category),
            "category_confidence": suggestion.confidence,
            "fields": extract_basic_fields(text),
        },
    )


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
    """Tell the uploader the document is processed or failed (once per run)."""

    def save(session: Session, saved: Document) -> None:
        if saved.uploaded_by is None:
            return
        failed = saved.status == DocumentStatus.FAILED
        text = document_notification(
            status="failed" if failed else "processed",
            display_name=saved.display_name,
            category=saved.category or saved.predicted_category,
            error_code=saved.error_code,
        )
        add_notification_once(
            session,
            user_id=saved.uploaded_by,
            company_id=saved.company_id,
            document_id=saved.id,
            run=saved.run,
            kind="document_failed" if failed else "document_processed",
            title=text.title,
            body=text.body,
        )

    return StepOutcome(message="uploader notified", save=save)


def document_chain(document_id: str) -> chain:
    """The chain of signatures processing one document (ids only in the arguments)."""
    return chain(
        normalize.si(document_id),
        ocr.si(document_id),
        classify.si(document_id),
        index.si(document_id),
        notify.si(document_id),
    )


def start_processing(document_id: str) -> None:
    """Publish the chain for a committed document."""
    document_chain(document_id).apply_async()
