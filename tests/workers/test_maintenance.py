"""The reconciler and the sweeper, on SQLite and PostgreSQL, with moto S3 and an eager chain."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from ingest.accounts import ensure_account
from storage.history import mark_queued
from storage.keys import ObjectRole, object_key
from storage.models import Company, Document, DocumentEvent, Role, Step, new_id, utcnow
from storage.uploads import PendingUpload, UploadState
from tests.documents import invoice_pdf_bytes, make_invoice
from workers.app import app as celery_app
from workers.app import celery_config
from workers.maintenance import beat_schedule, reconcile_uploads, sweep_queued
from workers.runtime import get_runtime, reset_runtime
from workers.settings import Settings, install_settings

PDF = invoice_pdf_bytes(make_invoice(9, issuer_cif=None))


@pytest.fixture
def eager(tmp_path: Path, database_url: str, s3_endpoint: str) -> Iterator[Settings]:
    """Settings on a real database and moto S3; published chains run in this process."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        broker_url="memory://",
        storage="minio",
        s3_endpoint=s3_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_bucket=f"papeleo-{uuid.uuid4().hex[:8]}",
        sweep_after_seconds=120,
    )
    install_settings(settings)
    reset_runtime()
    celery_app.conf.update(celery_config(settings), task_always_eager=True)
    get_runtime().store.ensure_ready()
    try:
        yield settings
    finally:
        celery_app.conf.update(task_always_eager=False)
        install_settings(None)
        reset_runtime()


def _company() -> int:
    with get_runtime().sessions.begin() as session:
        ensure_account(
            session,
            role=Role.CLIENT,
            advisory_code="6",
            username="ana",
            password="pw-ana-123",
            company_nifs=["B12345674"],
            company_name="Ana SL",
        )
        return session.scalars(select(Company.id)).one()


def _pending(company: int, *, age: timedelta = timedelta(0)) -> PendingUpload:
    upload_id = new_id()
    now = utcnow()
    upload = PendingUpload(
        id=upload_id,
        company_id=company,
        key=object_key(company, 2026, upload_id, ObjectRole.ORIGINAL, "factura.pdf"),
        fiscal_year=2026,
        category="factura_recibida",
        original_name="factura.pdf",
        display_name="Factura de luz.pdf",
        content_type="application/pdf",
        max_bytes=1024 * 1024,
        state=UploadState.PENDING,
        created_at=now - age,
        expires_at=now - age + timedelta(minutes=15),
    )
    with get_runtime().sessions.begin() as session:
        session.add(upload)
    return upload


def test_an_object_uploaded_without_an_event_is_registered_by_the_reconciler(eager: Settings):
    company = _company()
    lost = _pending(company)
    never_sent = _pending(company, age=timedelta(hours=3))
    runtime = get_runtime()
    url, fields = runtime.store.upload_form(
        lost.key, expires=timedelta(minutes=5), content_type="application/pdf", max_bytes=10**6
    )
    upload = httpx.post(url, data=fields, files={"file": ("f.pdf", PDF, "application/pdf")})
    assert upload.status_code == 204

    report = reconcile_uploads(runtime)
    assert (report.checked, report.registered, report.expired) == (2, [lost.id], 1)
    with runtime.sessions() as session:
        document = session.get_one(Document, lost.id)
        assert document.status == "indexed"  # the chain ran (eagerly) once registered
        assert (document.display_name, document.category) == (
            "Factura de luz.pdf",
            "factura_recibida",
        )
        assert document.size == len(PDF)
        assert session.get_one(PendingUpload, lost.id).state == UploadState.REGISTERED
        assert session.get_one(PendingUpload, never_sent.id).state == UploadState.EXPIRED
    again = reconcile_uploads(runtime)
    assert (again.checked, again.registered) == (0, [])


def test_the_sweeper_republishes_documents_stuck_before_their_first_step(eager: Settings):
    company = _company()
    runtime = get_runtime()
    ids = {}
    for name, age in (("stuck", 600), ("recent", 10)):
        document_id = new_id()
        key = object_key(company, 2026, document_id, ObjectRole.ORIGINAL, "f.pdf")
        info = runtime.store.put_file(key, _write(eager.data_dir / f"{name}.pdf"))
        with runtime.sessions.begin() as session:
            document = Document(
                id=document_id,
                company_id=company,
                fiscal_year=2026,
                original_name="f.pdf",
                display_name="f.pdf",
                sha256="0" * 64,
                size=info.size,
                original_key=key,
            )
            session.add(document)
            session.flush()
            mark_queued(session, document, Step.NORMALIZE, at=utcnow() - timedelta(seconds=age))
        ids[name] = document_id

    report = sweep_queued(runtime)
    assert report.republished == [ids["stuck"]]
    with runtime.sessions() as session:
        assert session.get_one(Document, ids["stuck"]).status == "indexed"
        assert session.get_one(Document, ids["recent"]).status == "queued"
        lines = session.scalars(
            select(DocumentEvent).where(DocumentEvent.document_id == ids["stuck"])
        ).all()
        assert all(line.attempts == 1 for line in lines)
    assert sweep_queued(runtime).republished == []


def _write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PDF)
    return path


def test_beat_entries_expire_and_run_on_the_maintenance_queue():
    settings = Settings(reconcile_interval_seconds=300, sweep_interval_seconds=60)
    schedule = beat_schedule(settings)
    assert set(schedule) == {
        "papeleo.maintenance.reconcile_uploads",
        "papeleo.maintenance.sweep_queued",
    }
    for entry in schedule.values():
        assert entry["options"]["queue"] == "maintenance"
        assert 0 < entry["options"]["expires"] < entry["schedule"]
    assert set(schedule) <= set(celery_app.conf.beat_schedule)
    assert celery_app.conf.beat_schedule["papeleo.maintenance.sweep_queued"]["options"][
        "expires"
    ] == pytest.approx(0.9 * get_settings_interval())


def get_settings_interval() -> float:
    from workers.settings import get_settings

    return float(get_settings().sweep_interval_seconds)
