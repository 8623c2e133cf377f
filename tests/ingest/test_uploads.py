"""Direct uploads in-process: the ticket, the policy, the upload itself, the registration.

The broker is in-memory and nobody consumes it: these tests stop at the committed, queued
document (tests/ingest/test_events.py runs the real worker).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ingest.accounts import ensure_account
from ingest.api import create_api
from storage.models import Company, Document, DocumentEvent, Role
from storage.objects import MinioStore
from storage.uploads import ObjectEventRecord, PendingUpload, UploadState
from tests.documents import invoice_pdf_bytes, make_invoice
from workers.app import app as celery_app
from workers.app import celery_config
from workers.runtime import get_runtime, reset_runtime
from workers.settings import Settings, install_settings

PDF = invoice_pdf_bytes(make_invoice(3, issuer_cif=None))


class Portal:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.headers: dict[str, dict[str, str]] = {}
        for user, password in (("ana", "pw-ana-123"), ("luis", "pw-luis-123")):
            response = client.post(
                "/v1/auth/token",
                json={"advisory_code": "6", "username": user, "password": password},
            )
            assert response.status_code == 200, response.text
            self.headers[user] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        with get_runtime().sessions() as session:
            self.company = session.scalars(
                select(Company.id).where(Company.nif == "B12345674")
            ).one()

    def ticket(self, user: str = "ana", company: int | None = None, **body: object):
        body = {"file_name": "Factura Año.pdf", "content_type": "application/pdf"} | body
        return self.client.post(
            f"/v1/companies/{company or self.company}/uploads",
            json=body,
            headers=self.headers[user],
        )


def _accounts() -> None:
    with get_runtime().sessions.begin() as session:
        ensure_account(
            session,
            advisory_code="6",
            username="ana",
            password="pw-ana-123",
            role=Role.CLIENT,
            company_nifs=["B12345674"],
            company_name="Ana SL",
        )
        ensure_account(
            session,
            advisory_code="6",
            username="luis",
            password="pw-luis-123",
            role=Role.CLIENT,
            company_nifs=["B86561412"],
            company_name="Luis SL",
        )


@pytest.fixture
def portal(embedded: Settings) -> Iterator[Portal]:
    """The embedded shape: filesystem store, uploads signed and received by the API."""
    _accounts()
    with TestClient(create_api()) as client:
        yield Portal(client)


@pytest.fixture
def s3_portal(tmp_path: Path, sqlite_database: str, s3_endpoint: str) -> Iterator[Portal]:
    """The production shape's store: moto S3 through the minio SDK."""
    bucket = f"papeleo-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_database,
        broker_url="memory://",
        storage="minio",
        s3_endpoint=s3_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_bucket=bucket,
        max_upload_bytes=2 * 1024 * 1024,
        upload_url_ttl_seconds=600,
    )
    install_settings(settings)
    reset_runtime()
    celery_app.conf.update(celery_config(settings))
    get_runtime().store.ensure_ready()
    _accounts()
    try:
        with TestClient(create_api()) as client:
            yield Portal(client)
    finally:
        install_settings(None)
        reset_runtime()


def _post_form(ticket: dict, body: bytes, content_type: str, client: object = httpx) -> int:
    files = {ticket["file_field"]: ("upload.bin", body, content_type)}
    return client.post(ticket["url"], data=ticket["fields"], files=files).status_code


def test_presigned_post_really_uploads_to_s3_with_a_strict_policy(s3_portal: Portal):
    response = s3_portal.ticket(category="factura_recibida", name="Compras", fiscal_year=2025)
    assert response.status_code == 201, response.text
    ticket = response.json()
    key = ticket["key"]
    assert (
        key == f"companies/{s3_portal.company}/2025/{ticket['upload_id']}/original/Factura_Ano.pdf"
    )
    policy = json.loads(base64.b64decode(ticket["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["eq", "$key", key] in conditions
    assert ["eq", "$Content-Type", "application/pdf"] in conditions
    assert ["content-length-range", 1, 2 * 1024 * 1024] in conditions
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert timedelta(0) < expiration - datetime.now(UTC) <= timedelta(seconds=600)

    assert _post_form(ticket, PDF, "application/pdf") == 204  # S3's answer to a form upload
    store = get_runtime().store
    assert store.stat(key).size == len(PDF)
    # Nothing is a document until the object's event (or the reconciler) registers it.
    with get_runtime().sessions() as session:
        assert session.get(Document, ticket["upload_id"]) is None
        upload = session.get_one(PendingUpload, ticket["upload_id"])
        assert (upload.category, upload.display_name, upload.state) == (
            "factura_recibida",
            "Compras.pdf",
            UploadState.PENDING,
        )


def test_embedded_store_receives_the_signed_form_and_registers_it_once(portal: Portal):
    ticket = portal.ticket(category="ticket", source="app").json()
    assert ticket["url"].endswith(f"/v1/uploads/{ticket['upload_id']}/blob")
    assert _post_form(ticket, PDF, "application/pdf", portal.client) == 204
    assert _post_form(ticket, PDF, "application/pdf", portal.client) == 204  # a retried POST
    with get_runtime().sessions() as session:
        document = session.get_one(Document, ticket["upload_id"])
        assert (document.category, document.source, document.size) == ("ticket", "app", len(PDF))
        assert document.original_key == ticket["key"]
        assert document.status == "queued"
        lines = session.scalars(
            select(DocumentEvent).where(DocumentEvent.document_id == document.id)
        )
        assert [(line.step, line.status) for line in lines] == [("normalize", "queued")]
        ledger = session.scalars(select(ObjectEventRecord)).all()
        assert [(row.key, row.deliveries) for row in ledger] == [(ticket["key"], 2)]
        assert session.scalar(select(func.count()).select_from(Document)) == 1


def test_embedded_form_refuses_forged_or_mismatched_uploads(portal: Portal):
    ticket = portal.ticket().json()
    forged = ticket | {"fields": ticket["fields"] | {"signature": "0" * 64}}
    assert _post_form(forged, PDF, "application/pdf", portal.client) == 403
    later = ticket | {
        "fields": ticket["fields"] | {"expires": str(int(ticket["fields"]["expires"]) + 60)}
    }
    assert _post_form(later, PDF, "application/pdf", portal.client) == 403
    assert _post_form(ticket, b"<html>", "text/html", portal.client) == 403
    with get_runtime().sessions() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0


def test_upload_requests_are_checked(portal: Portal):
    assert portal.ticket(content_type="text/html").status_code == 415
    assert portal.ticket(size=3 * 1024 * 1024).status_code == 413
    assert portal.ticket(category="nope").status_code == 422
    assert portal.ticket(activity_id=999).status_code == 422
    # Another tenant's company does not exist for ana; no token is 401.
    with get_runtime().sessions() as session:
        other = session.scalars(select(Company.id).where(Company.nif == "B86561412")).one()
    assert portal.ticket(company=other).status_code == 404
    assert portal.client.post(f"/v1/companies/{other}/uploads", json={}).status_code == 401
    with get_runtime().sessions() as session:
        assert session.scalar(select(func.count()).select_from(PendingUpload)) == 0


def test_presigned_links_are_signed_for_the_public_endpoint():
    store = MinioStore.from_endpoint(
        "minio:9000", "key", "secret-key", "papeleo", public_endpoint="https://files.example.es"
    )
    key = f"companies/1/2026/{'a' * 32}/original/x.pdf"
    link = httpx.URL(store.download_url(key, expires=timedelta(minutes=5), file_name="x.pdf"))
    assert (link.scheme, link.host) == ("https", "files.example.es")
    assert "X-Amz-Signature" in str(link)
    url, fields = store.upload_form(
        key, expires=timedelta(minutes=5), content_type="application/pdf", max_bytes=100
    )
    assert url == "https://files.example.es/papeleo"
    assert fields["key"] == key


def test_metrics_count_requests_by_route_template(portal: Portal):
    portal.ticket()
    text = portal.client.get("/metrics").text
    assert 'route="/v1/companies/{company_id}/uploads"' in text
    assert "papeleo_http_request_duration_seconds_bucket" in text
