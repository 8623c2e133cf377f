"""Upload over HTTP → normalize → ocr → classify → index → notify, on every deployment shape."""

from __future__ import annotations

import time
import unicodedata

import httpx
import pytest

from tests.documents import invoice_pdf_bytes, make_invoice, make_ticket, ticket_photo_bytes
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
STEPS = ["normalize", "ocr", "classify", "index", "notify"]


def fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )


class Portal:
    """What a portal frontend does, over HTTP."""

    def __init__(self, stack: Stack, advisory: str, user: str, password: str) -> None:
        self.http = httpx.Client(base_url=stack.base_url, timeout=30)
        token = self.http.post(
            "/v1/auth/token",
            json={"advisory_code": advisory, "username": user, "password": password},
        )
        assert token.status_code == 200, token.text
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def company(self) -> int:
        companies = self.http.get("/v1/companies").json()
        assert len(companies) == 1, companies
        return companies[0]["id"]

    def upload(self, company: int, name: str, body: bytes, mime: str, **form: str) -> str:
        response = self.http.post(
            f"/v1/companies/{company}/documents", files=[("files", (name, body, mime))], data=form
        )
        assert response.status_code == 202, response.text
        return response.json()["documents"][0]["id"]

    def wait(self, document_id: str, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            document = self.http.get(f"/v1/documents/{document_id}").json()
            notified = [h for h in document["history"] if h["step"] == "notify"]
            if (
                document["status"] in ("indexed", "failed")
                and notified
                and notified[0]["status"] in ("succeeded", "failed")
            ):
                return document
            time.sleep(0.25)
        raise AssertionError(f"document {document_id} stuck: {document}")

    def search(self, company: int, words: str) -> set[str]:
        response = self.http.get(f"/v1/companies/{company}/documents", params={"q": words})
        assert response.status_code == 200, response.text
        return {d["id"] for d in response.json()["items"]}


def test_documents_flow_through_the_chain_and_are_found(stack: Stack):
    stack.papeleo(
        "create-user",
        "--advisory-code",
        "6",
        "--advisory-name",
        "Asesoría Seis",
        "--username",
        "ana",
        "--password",
        "pw-ana-123",
        "--role",
        "client",
        "--company-nif",
        "B86561412",
        "--company-name",
        "Ana Comercial SL",
    )
    stack.papeleo(
        "create-user",
        "--advisory-code",
        "6",
        "--username",
        "luis",
        "--password",
        "pw-luis-123",
        "--role",
        "client",
        "--company-nif",
        "B12345674",
        "--company-name",
        "Luis SL",
    )
    ana = Portal(stack, "6", "ana", "pw-ana-123")
    company = ana.company()

    invoice = make_invoice(11, issuer_cif=None)
    ticket = make_ticket(23)
    pdf_id = ana.upload(
        company,
        "factura.pdf",
        invoice_pdf_bytes(invoice),
        "application/pdf",
        category="factura_recibida",
    )
    photo_id = ana.upload(
        company,
        "IMG_2041.jpg",
        ticket_photo_bytes(ticket, rotate=90),
        "image/jpeg",
        category="ticket",
        source="app",
    )
    broken_id = ana.upload(
        company, "escaneo.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 8, "application/pdf"
    )

    pdf, photo, broken = ana.wait(pdf_id), ana.wait(photo_id), ana.wait(broken_id)

    # (a) a text PDF: indexed without OCR, every step in its history
    assert pdf["status"] == "indexed", pdf
    assert [h["step"] for h in pdf["history"]] == STEPS
    assert {h["step"]: h["status"] for h in pdf["history"]}["ocr"] == "skipped"
    assert all(h["worker"] and h["duration_ms"] is not None for h in pdf["history"])
    assert pdf["detected_type"] == "application/pdf"
    assert pdf["pages"] == 1
    assert pdf["category"] == "factura_recibida"
    assert invoice.number in pdf["text"]
    invoice_word = invoice.words[0]
    assert pdf_id in ana.search(company, invoice_word)

    # (b) a photographed ticket, turned 90°: OCR finds its words
    assert photo["status"] == "indexed", photo
    assert [h["step"] for h in photo["history"]] == STEPS
    assert {h["step"]: h["status"] for h in photo["history"]}["ocr"] == "succeeded"
    assert photo["detected_type"] == "image/jpeg"
    assert photo["ocr_confidence"] > 0
    recovered = [w for w in ticket.words if fold(w) in fold(photo["text"])]
    assert recovered, f"none of {ticket.words} in OCR text {photo['text']!r}"
    assert photo_id in ana.search(company, recovered[0])
    assert photo["predicted_category"] == "ticket"

    # (c) a corrupt file fails with its code, keeps its original and history, is notified
    assert broken["status"] == "failed"
    assert broken["error"]["code"] == "corrupt_file", broken
    assert broken["error"]["message"]
    assert [h["step"] for h in broken["history"]] == ["normalize", "notify"]
    assert broken["history"][0]["error_code"] == "corrupt_file"
    original = ana.http.get(f"/v1/documents/{broken_id}/download", follow_redirects=True)
    assert original.status_code == 200
    assert original.content.startswith(b"%PDF-1.7")

    # one notification per document, each saying what happened
    notes = ana.http.get("/v1/notifications").json()
    by_document = {}
    for note in notes:
        by_document.setdefault(note["document_id"], []).append(note["kind"])
    assert by_document == {
        pdf_id: ["document_processed"],
        photo_id: ["document_processed"],
        broken_id: ["document_failed"],
    }

    # nobody else sees any of it
    luis = Portal(stack, "6", "luis", "pw-luis-123")
    for document_id in (pdf_id, photo_id, broken_id):
        assert luis.http.get(f"/v1/documents/{document_id}").status_code == 404
    assert luis.http.get(f"/v1/companies/{company}/documents").status_code == 404
    assert luis.search(luis.company(), invoice_word) == set()
