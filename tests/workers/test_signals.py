"""The task table is fed by Celery's own signals; advisors list failed tasks and retry them."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Document
from storage.tasks import TaskRun
from tests.documents import invoice_pdf_bytes, make_invoice
from tests.ingest.portal import Portal, portal_fixture  # noqa: F401 - the fixture
from workers.documents import normalize
from workers.runtime import get_runtime


def upload(p: Portal, name: str, body: bytes) -> str:
    response = p.post(
        "ana",
        f"/v1/companies/{p.companies['ana']}/documents",
        files=[("files", (name, body, "application/pdf"))],
    )
    assert response.status_code == 202, response.text
    return response.json()["documents"][0]["id"]


def task_row(document_id: str, name: str = "papeleo.documents.normalize") -> TaskRun:
    with get_runtime().sessions() as session:
        rows = session.scalars(
            select(TaskRun).where(TaskRun.document_id == document_id, TaskRun.name == name)
        ).all()
    assert len(rows) == 1, rows
    return rows[0]


def test_published_started_succeeded_and_failed_tasks_are_recorded(portal: Portal):
    p = portal
    good = upload(p, "factura.pdf", invoice_pdf_bytes(make_invoice(3)))
    published = task_row(good)
    assert published.status == "published"
    assert published.name == "papeleo.documents.normalize"
    assert published.queue == "normalize"
    assert published.published_at is not None

    # The worker's side: the same task id runs (eagerly here) and reports through the signals.
    normalize.apply(args=(good,), task_id=published.task_id, headers={})
    done = task_row(good)
    assert done.status == "succeeded"
    assert done.queue_wait_ms is not None
    assert done.duration_ms is not None
    assert done.started_at >= done.published_at

    bad = upload(p, "roto.pdf", b"%PDF-1.4 this is not a pdf at all")
    normalize.apply(args=(bad,), task_id=task_row(bad).task_id)
    failed = task_row(bad)
    assert failed.status == "failed"
    assert failed.error_type  # the document's error code, e.g. corrupt_file
    assert task_row(bad, "papeleo.documents.notify").status == "published"  # diverted
    with get_runtime().sessions() as session:
        assert failed.error_type == session.get_one(Document, bad).error_code

    params = {"status": "failed", "company": p.companies["ana"]}
    listed = p.get("asesora", "/v1/tasks", params=params)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [i["document_id"] for i in items] == [bad]
    assert items[0]["document_name"] == "roto.pdf"
    assert p.get("ana", "/v1/tasks").status_code == 404  # advisors only
    assert p.get("otra", "/v1/tasks", params={"company": p.companies["ana"]}).status_code == 404
    assert p.get("otra", "/v1/tasks").json()["items"] == []

    retried = p.post("asesora", f"/v1/tasks/{items[0]['task_id']}/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "queued"
    with get_runtime().sessions() as session:
        assert session.get_one(Document, bad).run == 2
    again = p.post("asesora", f"/v1/tasks/{items[0]['task_id']}/retry")
    assert again.status_code == 409  # no longer failed
    trail = p.get("asesora", f"/v1/documents/{bad}/audit").json()
    assert [e["action"] for e in trail] == ["retry"]
