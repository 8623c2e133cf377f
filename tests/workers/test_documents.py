"""The document tasks, run in-process on SQLite and PostgreSQL: results, failures, idempotency."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.accounts import ensure_account
from ingest.uploads import store_upload
from storage.history import mark_queued
from storage.intake import NewDocument
from storage.models import Company, Document, DocumentEvent, Notification, Role, Step
from storage.tasks import TaskRun
from tests.documents import invoice_pdf_bytes, make_invoice
from tests.workers.in_process import worker_runtime
from workers import documents as tasks
from workers.runtime import get_runtime
from workers.settings import Settings


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[None]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, broker_url="memory://")
    with worker_runtime(settings):
        yield


def stored_document(session: Session, body: bytes, name: str) -> NewDocument:
    """A client's stored upload of ``body``, not yet registered."""
    runtime = get_runtime()
    user = ensure_account(
        session,
        advisory_code="6",
        username="ana",
        password="pw-123456",
        role=Role.CLIENT,
        company_nifs=["B12345674"],
    )
    company = session.scalars(select(Company)).one()
    stored = store_upload(
        runtime.store,
        io.BytesIO(body),
        company_id=company.id,
        fiscal_year=2026,
        file_name=name,
        content_type=None,
    )
    return NewDocument(
        id=stored.document_id,
        company_id=company.id,
        fiscal_year=2026,
        uploaded_by=user.id,
        original_name=name,
        display_name=name,
        sha256=stored.sha256,
        size=stored.size,
        original_key=stored.key,
    )


def new_document(body: bytes, name: str) -> str:
    with get_runtime().sessions.begin() as session:
        document = Document(**asdict(stored_document(session, body, name)))
        session.add(document)
        session.flush()
        mark_queued(session, document, Step.NORMALIZE)
        return document.id


def counts(document_id: str) -> tuple[int, int, int]:
    with get_runtime().sessions() as session:
        events = session.scalar(
            select(func.count())
            .select_from(DocumentEvent)
            .where(DocumentEvent.document_id == document_id)
        )
        notes = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.document_id == document_id)
        )
    objects = len(list(get_runtime().store.list("companies/")))
    return events, notes, objects


def run_chain(document_id: str) -> None:
    for task in (tasks.normalize, tasks.ocr, tasks.classify, tasks.index, tasks.notify):
        task.apply((document_id,))


def test_every_step_run_twice_gives_the_same_rows_objects_and_one_notification(runtime):
    invoice = make_invoice(5)
    document_id = new_document(invoice_pdf_bytes(invoice), "factura.pdf")
    run_chain(document_id)
    first = counts(document_id)
    run_chain(document_id)
    assert counts(document_id) == first == (5, 1, 2)
    with get_runtime().sessions() as session:
        document = session.get_one(Document, document_id)
        assert document.status == "indexed"
        assert invoice.number in document.text
        assert [e.status for e in document.events] == [
            "succeeded",
            "skipped",
            "succeeded",
            "succeeded",
            "succeeded",
        ]
        assert all(e.attempts == 2 for e in document.events)


def test_a_permanent_error_fails_the_document_and_stops_the_chain(runtime):
    document_id = new_document(b"GIF89a" + b"\x00" * 40, "roto.gif")
    tasks.document_chain(document_id).apply_async()
    with get_runtime().sessions() as session:
        document = session.get_one(Document, document_id)
        assert document.status == "failed"
        assert document.error_code == "corrupt_file"
        assert document.error_message
        steps = {e.step: e.status for e in document.events}
        assert steps == {"normalize": "failed", "notify": "succeeded"}
        kinds = session.scalars(
            select(Notification.kind).where(Notification.document_id == document_id)
        ).all()
        assert kinds == ["document_failed"]
        assert get_runtime().store.exists(document.original_key)


def test_an_unexpected_error_whose_message_a_database_refuses_still_fails_the_document(
    runtime, monkeypatch
):
    # Text from the wild in an exception message (a lone UTF-16 half from a PDF's text layer)
    # must not stop the failure from being recorded: the document would stay "processing".
    def broken(*_args, **_kwargs):
        raise ValueError("cannot read '+33\ud83d 4 50 44 68 99'")

    monkeypatch.setattr(tasks, "normalize_upload", broken)
    document_id = new_document(invoice_pdf_bytes(make_invoice(8)), "factura.pdf")
    with pytest.raises(ValueError, match="cannot read"):  # eager mode re-raises it
        tasks.document_chain(document_id).apply_async()
    with get_runtime().sessions() as session:
        document = session.get_one(Document, document_id)
        assert (document.status, document.error_code) == ("failed", "internal_error")
        task = session.scalars(select(TaskRun).where(TaskRun.status == "failed")).one()
        assert task.error_message == "cannot read '+33 4 50 44 68 99'"
        failed = next(e for e in document.events if e.step == "normalize")
        assert failed.message == "ValueError: cannot read '+33 4 50 44 68 99'"


def test_a_missing_document_is_ignored(runtime):
    result = tasks.normalize.apply(("f" * 32,))
    assert result.state == "IGNORED"
