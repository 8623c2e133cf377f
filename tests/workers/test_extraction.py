"""The classify step in the chain (QR from page images, Facturae uploads, review flag) and the
correction loop through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ingest.accounts import ensure_account
from ingest.api import create_api
from ingest.uploads import store_upload
from storage.corrections import CategoryModel, Correction
from storage.history import mark_queued
from storage.models import Company, Document, Role, Step
from tests.extraction_documents import GENERATORS, document_pdf_bytes
from tests.workers.in_process import worker_runtime
from workers import documents as tasks
from workers.runtime import get_runtime
from workers.settings import Settings

COMPANY = "B12345674"
GYM = "GIMNASIO OLIMPO\nCuota mensual socio {n}\nPeriodo {month}\nImporte cuota 45,00\nDomiciliado"


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[None]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, broker_url="memory://")
    with worker_runtime(settings):
        with get_runtime().sessions.begin() as session:
            ensure_account(
                session,
                advisory_code="6",
                username="ana",
                password="pw-ana-123",
                role=Role.CLIENT,
                company_nifs=[COMPANY],
                company_name="Ana SL",
            )
            ensure_account(
                session,
                advisory_code="6",
                username="asesora",
                password="pw-ase-123",
                role=Role.ADVISOR,
            )
            ensure_account(
                session,
                advisory_code="9",
                username="otra",
                password="pw-otra-123",
                role=Role.ADVISOR,
            )
        yield


def new_document(
    body: bytes, name: str, *, category: str | None = None, text: str | None = None
) -> str:
    runtime = get_runtime()
    with runtime.sessions.begin() as session:
        company = session.scalar(select(Company).where(Company.nif == COMPANY))
        stored = store_upload(
            runtime.store,
            io.BytesIO(body),
            company_id=company.id,
            fiscal_year=2026,
            file_name=name,
            content_type=None,
        )
        document = Document(
            id=stored.document_id,
            company_id=company.id,
            fiscal_year=2026,
            original_name=name,
            display_name=name,
            sha256=stored.sha256,
            size=stored.size,
            original_key=stored.key,
            category=category,
            text=text,
        )
        session.add(document)
        session.flush()
        mark_queued(session, document, Step.NORMALIZE)
    return stored.document_id


def load(document_id: str) -> Document:
    with get_runtime().sessions() as session:
        return session.get_one(Document, document_id)


def test_a_ticket_pdf_with_a_verifactu_qr_gets_exact_fields(runtime) -> None:
    ticket = next(d for d in (GENERATORS["ticket_parking"](s) for s in range(60)) if d.qr_url)
    document_id = new_document(document_pdf_bytes(ticket), "parking.pdf", category="ticket")
    for task in (tasks.normalize, tasks.ocr, tasks.classify):
        task.apply((document_id,))
    document = load(document_id)
    assert document.predicted_category == "ticket"
    assert document.needs_review is False
    assert document.fields["total"]["source"] == "qr"
    assert document.fields["total"]["value"] == ticket.truth["total"]
    assert document.fields["issuer_tax_id"]["value"] == ticket.truth["issuer_tax_id"]


def test_a_facturae_upload_takes_its_fields_from_the_xml(runtime, samples_dir: Path) -> None:
    xml = (samples_dir / "facturae" / "viewer_Facturae-3.2.2-totales-incorrectos.xml").read_bytes()
    document_id = new_document(xml, "factura.xsig", category="factura_recibida")
    for task in (tasks.normalize, tasks.ocr, tasks.classify):
        task.apply((document_id,))
    document = load(document_id)
    assert document.status != "failed", document.error_message
    assert document.detected_type == "application/xml"
    assert document.predicted_category == "factura_recibida"  # the company is the buyer
    assert document.fields["issuer_tax_id"] == {
        **document.fields["issuer_tax_id"],
        "value": "B28015865",
        "source": "xml",
    }
    assert document.fields["facturae"]["value"]["errors"][0]["code"] == "totals_inconsistent"
    assert document.needs_review is True
    assert "Facturae 3.2.2" in document.text


def test_a_facturae_cut_short_fails_as_a_damaged_file(runtime, samples_dir: Path) -> None:
    xml = (samples_dir / "facturae" / "viewer_Facturae-3.2.2-valid.xml").read_bytes()
    document_id = new_document(xml[: len(xml) // 2], "factura.xml")
    tasks.normalize.apply((document_id,))
    document = load(document_id)
    assert (document.status, document.error_code) == ("failed", "corrupt_file")


def test_a_disagreeing_folder_is_kept_and_flagged(runtime) -> None:
    payslip = GENERATORS["payslip"](5)
    document_id = new_document(document_pdf_bytes(payslip), "doc.pdf", category="ticket")
    for task in (tasks.normalize, tasks.ocr, tasks.classify):
        task.apply((document_id,))
    document = load(document_id)
    assert (document.category, document.predicted_category) == ("ticket", "nomina")
    assert document.needs_review is True
    assert document.fields["net"]["value"] == payslip.truth["net"]


def _token(client: TestClient, code: str, user: str, password: str) -> dict[str, str]:
    response = client.post(
        "/v1/auth/token", json={"advisory_code": code, "username": user, "password": password}
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_an_advisor_correction_changes_the_next_similar_prediction(runtime) -> None:
    client = TestClient(create_api())
    advisor = _token(client, "6", "asesora", "pw-ase-123")
    first = new_document(b"%PDF-1.4", "gym1.pdf", text=GYM.format(n=101, month="marzo"))
    tasks.classify.apply((first,))
    assert load(first).predicted_category == "otros"
    assert load(first).needs_review is True  # unsure

    # Only an advisor of the document's advisory may correct it.
    body = {"category": "factura_recibida", "fields": {"total": "45.00"}}
    client_user = _token(client, "6", "ana", "pw-ana-123")
    assert client.patch(f"/v1/documents/{first}", json=body, headers=client_user).status_code == 403
    stranger = _token(client, "9", "otra", "pw-otra-123")
    assert client.patch(f"/v1/documents/{first}", json=body, headers=stranger).status_code == 404
    assert (
        client.patch(
            f"/v1/documents/{first}", json={"category": "nope"}, headers=advisor
        ).status_code
        == 422
    )
    assert (
        client.patch(
            f"/v1/documents/{first}", json={"fields": {"secret": 1}}, headers=advisor
        ).status_code
        == 422
    )

    response = client.patch(f"/v1/documents/{first}", json=body, headers=advisor)
    assert response.status_code == 200, response.text
    corrected = response.json()
    assert corrected["category"] == "factura_recibida"
    assert corrected["needs_review"] is False
    assert corrected["fields"]["total"] == {
        "value": "45.00",
        "confidence": 1.0,
        "source": "advisor",
    }
    with get_runtime().sessions() as session:
        (correction,) = session.scalars(select(Correction)).all()
        assert (correction.category_before, correction.category_after) == (
            "otros",
            "factura_recibida",
        )  # the folder, else the suggestion
        model = session.scalars(select(CategoryModel)).one()  # retrained (eager task)
        assert model.examples == 1
        assert model.last_correction_id == correction.id

    second = new_document(b"%PDF-1.4", "gym2.pdf", text=GYM.format(n=207, month="abril"))
    tasks.classify.apply((second,))
    document = load(second)
    assert document.predicted_category == "factura_recibida"
    assert document.category_confidence > 0.5
    assert document.needs_review is False
