"""Registering a stored upload: one transaction holds the document, its history and its task row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Document, DocumentEvent, DocumentStatus
from storage.tasks import TaskRun, TaskStatus
from tests.documents import invoice_pdf_bytes, make_invoice
from tests.workers.in_process import worker_runtime
from tests.workers.test_documents import stored_document
from workers import signals
from workers.intake import Registered, publish, register_document
from workers.runtime import get_runtime
from workers.settings import Settings


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[None]:
    # A real (in-memory) broker, not eager mode: publishing fires the publish signal.
    settings = Settings(data_dir=tmp_path, database_url=database_url, broker_url="memory://")
    with worker_runtime(settings, eager=False):
        yield


def upload(body: bytes, name: str) -> Registered:
    with get_runtime().sessions.begin() as session:
        return register_document(session, stored_document(session, body, name))


def test_a_new_document_is_queued_with_its_first_task_recorded_before_publication(runtime):
    registered = upload(invoice_pdf_bytes(make_invoice(3)), "factura.pdf")

    assert registered.duplicate_of is None
    assert registered.first_task_id is not None
    first_task = registered.first_task_id
    with get_runtime().sessions() as session:
        document = session.get_one(Document, registered.document_id)
        assert document.status == DocumentStatus.QUEUED
        events = session.scalars(select(DocumentEvent)).all()
        assert [(e.step, e.status) for e in events] == [("normalize", "queued")]
        row = session.scalars(select(TaskRun)).one()
        assert (row.task_id, row.name, row.queue, row.status, row.document_id) == (
            first_task,
            "papeleo.documents.normalize",
            "normalize",
            TaskStatus.PUBLISHED,
            registered.document_id,
        )


def test_publishing_a_registered_chain_writes_no_second_task_row(runtime, monkeypatch):
    registered = upload(invoice_pdf_bytes(make_invoice(4)), "factura.pdf")
    recorded: list[str] = []
    monkeypatch.setattr(
        signals, "record_published", lambda session, task_id, *a, **k: recorded.append(task_id)
    )

    publish(registered)

    assert recorded == []  # the signal saw the header and left the row alone
    with get_runtime().sessions() as session:
        assert len(session.scalars(select(TaskRun)).all()) == 1


def test_the_same_bytes_again_are_a_duplicate_with_no_chain_and_no_task(runtime):
    body = invoice_pdf_bytes(make_invoice(5))
    original = upload(body, "factura.pdf")
    copy = upload(body, "otra vez.pdf")

    assert copy.duplicate_of == original.document_id
    assert copy.first_task_id is None
    publish(copy)  # nothing to publish: no error, no row
    with get_runtime().sessions() as session:
        document = session.get_one(Document, copy.document_id)
        assert (document.status, document.duplicate_of) == (
            DocumentStatus.DUPLICATE,
            original.document_id,
        )
        tasks = session.scalars(select(TaskRun.document_id)).all()
        assert tasks == [original.document_id]
        history = session.scalars(
            select(DocumentEvent.status).where(DocumentEvent.document_id == copy.document_id)
        ).all()
        assert history == ["skipped"]


def test_the_same_file_twice_in_one_transaction_is_registered_once(runtime):
    body = invoice_pdf_bytes(make_invoice(6))
    with get_runtime().sessions.begin() as session:
        first = register_document(session, stored_document(session, body, "a.pdf"))
        second = register_document(session, stored_document(session, body, "b.pdf"))

    assert first.duplicate_of is None
    assert second.duplicate_of == first.document_id
    with get_runtime().sessions() as session:
        history = session.scalars(
            select(DocumentEvent.message).where(DocumentEvent.document_id == second.document_id)
        ).all()
        assert history == [f"duplicate of {first.document_id}"]


def test_the_rows_carry_the_models_defaults_on_either_database(runtime):
    # PostgreSQL writes the three rows in one statement, which gets none of the model's
    # Python-side defaults: they are spelled out there, and must match the other path.
    body = invoice_pdf_bytes(make_invoice(7))
    original = upload(body, "factura.pdf")
    copy = upload(body, "copia.pdf")

    with get_runtime().sessions() as session:
        for registered in (original, copy):
            document = session.get_one(Document, registered.document_id)
            assert (document.needs_review, document.ocr_pages, document.fields, document.run) == (
                False,
                [],
                {},
                1,
            )
            assert document.created_at == document.updated_at
            line = session.scalars(
                select(DocumentEvent).where(DocumentEvent.document_id == registered.document_id)
            ).one()
            assert (line.run, line.attempts, line.queued_at) == (1, 0, document.created_at)
            assert line.finished_at == (document.created_at if registered.duplicate_of else None)
        task = session.scalars(select(TaskRun)).one()
        published = session.get_one(Document, original.document_id).created_at
        assert (task.document_id, task.retries, task.published_at) == (
            original.document_id,
            0,
            published,
        )
