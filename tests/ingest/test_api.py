"""The API in-process (SQLite, filesystem store, nobody consuming the broker)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from ingest.accounts import ensure_account
from ingest.api import create_api
from storage.models import Company, Document, Role
from workers.runtime import get_runtime
from workers.settings import Settings


@dataclass
class Tenants:
    client: TestClient
    own_company: int
    other_company: int
    tokens: dict[str, str]

    def as_user(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
def tenants(embedded: Settings) -> Iterator[Tenants]:
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
        ensure_account(
            session, advisory_code="6", username="asesora", password="pw-ase-123", role=Role.ADVISOR
        )
        ensure_account(
            session, advisory_code="9", username="otra", password="pw-otra-123", role=Role.ADVISOR
        )
        ensure_account(
            session,
            advisory_code="6",
            username="empleado",
            password="pw-emp-123",
            role=Role.EMPLOYEE,
            company_nifs=["B12345674"],
        )
        own = session.query(Company).filter_by(nif="B12345674").one().id
        other = session.query(Company).filter_by(nif="B86561412").one().id
    client = TestClient(create_api())
    passwords = {
        "ana": ("6", "pw-ana-123"),
        "luis": ("6", "pw-luis-123"),
        "asesora": ("6", "pw-ase-123"),
        "otra": ("9", "pw-otra-123"),
        "empleado": ("6", "pw-emp-123"),
    }
    tokens = {}
    for user, (code, password) in passwords.items():
        response = client.post(
            "/v1/auth/token", json={"advisory_code": code, "username": user, "password": password}
        )
        assert response.status_code == 200, response.text
        tokens[user] = response.json()["access_token"]
    with client:
        yield Tenants(client, own, other, tokens)


def upload(t: Tenants, user: str, company: int, files, **form) -> dict:
    return t.client.post(
        f"/v1/companies/{company}/documents", headers=t.as_user(user), files=files, data=form
    )


def test_login_rejects_wrong_password_and_unknown_advisory(tenants: Tenants):
    client = tenants.client
    for body in (
        {"advisory_code": "6", "username": "ana", "password": "nope"},
        {"advisory_code": "7", "username": "ana", "password": "pw-ana-123"},
        {"advisory_code": "6", "username": "nadie", "password": "pw-ana-123"},
    ):
        assert client.post("/v1/auth/token", json=body).status_code == 401


def test_tokens_are_stored_hashed(tenants: Tenants):
    from storage.models import ApiToken

    with get_runtime().sessions() as session:
        stored = {row.token_hash for row in session.query(ApiToken)}
    assert not set(tenants.tokens.values()) & stored
    assert len(stored) == len(tenants.tokens)


def test_companies_are_the_callers(tenants: Tenants):
    c = tenants.client

    def names(user: str) -> set[str]:
        return {x["name"] for x in c.get("/v1/companies", headers=tenants.as_user(user)).json()}

    assert names("ana") == {"Ana SL"}
    assert names("luis") == {"Luis SL"}
    assert names("asesora") == {"Ana SL", "Luis SL"}
    assert names("otra") == set()


def test_upload_stores_the_file_and_queues_the_document(tenants: Tenants):
    body = b"%PDF-1.4 not really processed here"
    response = upload(
        tenants,
        "ana",
        tenants.own_company,
        [
            ("files", ("Factura Año.pdf", body, "application/pdf")),
            ("files", ("ticket.jpg", b"\xff\xd8\xff data", "image/jpeg")),
        ],
        category="factura_recibida",
        name="Compras noviembre",
    )
    assert response.status_code == 202, response.text
    documents = response.json()["documents"]
    assert [d["display_name"] for d in documents] == [
        "Compras noviembre 1.pdf",
        "Compras noviembre 2.jpg",
    ]
    store = get_runtime().store
    with get_runtime().sessions() as session:
        saved = session.get(Document, documents[0]["id"])
        assert saved.status == "queued"
        assert saved.size == len(body)
        assert saved.category == "factura_recibida"
        assert saved.original_key.endswith("/original/Factura_Ano.pdf")
        assert [e.step for e in saved.events] == ["normalize"]
        with store.open(saved.original_key) as stream:
            assert stream.read() == body
    detail = tenants.client.get(
        f"/v1/documents/{documents[0]['id']}", headers=tenants.as_user("ana")
    ).json()
    assert detail["status"] == "queued"
    assert detail["history"][0]["status"] == "queued"


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        (b"Factura A\xc3\xb1o.pdf", "Factura Año.pdf"),
        (b"fa\xcc\x81ctura.pdf", "fáctura.pdf"),  # decomposed accent composed (NFC)
        (b"a\x00b.pdf", "ab.pdf"),  # NUL: PostgreSQL refuses it in text
        (b"factura\xe2\x80\xaefdp.exe", "facturafdp.exe"),  # a bidi override disguising .exe
        (b"../../etc/passwd", "passwd"),
        (b" \t ", "documento"),
    ],
)
def test_file_names_are_cleaned_as_they_arrive(tenants: Tenants, sent: bytes, shown: str):
    boundary = "papeleo-test"
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="files"; filename="'
        + sent
        + b'"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 '
        + sent
        + f"\r\n--{boundary}--\r\n".encode()
    )
    multipart = f"multipart/form-data; boundary={boundary}"
    response = tenants.client.post(
        f"/v1/companies/{tenants.own_company}/documents",
        content=body,
        headers=tenants.as_user("ana") | {"Content-Type": multipart},
    )
    assert response.status_code == 202, response.text
    document = response.json()["documents"][0]
    assert document["display_name"] == shown
    with get_runtime().sessions() as session:
        saved = session.get_one(Document, document["id"])
        assert saved.display_name == shown
        assert saved.original_name.endswith(shown)  # as sent, folders included, but clean


def test_unknown_category_and_foreign_activity_are_refused(tenants: Tenants):
    files = [("files", ("a.pdf", b"%PDF-1.4", "application/pdf"))]
    assert upload(tenants, "ana", tenants.own_company, files, category="recetas").status_code == 422
    assert upload(tenants, "ana", tenants.own_company, files, activity_id="999").status_code == 422


def test_oversized_upload_is_refused_before_storing(tenants: Tenants, embedded: Settings):
    big = io.BytesIO(b"0" * (embedded.max_upload_bytes + 200_000))
    response = upload(
        tenants, "ana", tenants.own_company, [("files", ("big.pdf", big, "application/pdf"))]
    )
    assert response.status_code == 413
    assert "MB" in response.json()["detail"]
    with get_runtime().sessions() as session:
        assert session.query(Document).count() == 0


def test_nobody_sees_another_tenants_documents(tenants: Tenants):
    files = [("files", ("a.pdf", b"%PDF-1.4", "application/pdf"))]
    document_id = upload(tenants, "ana", tenants.own_company, files).json()["documents"][0]["id"]
    c = tenants.client
    own = tenants.own_company
    for outsider in ("luis", "otra", "empleado"):
        headers = tenants.as_user(outsider)
        assert c.get(f"/v1/documents/{document_id}", headers=headers).status_code == 404
        assert c.get(f"/v1/documents/{document_id}/download", headers=headers).status_code == 404
        assert c.get(f"/v1/companies/{own}/documents", headers=headers).status_code == 404
        assert upload(tenants, outsider, own, files).status_code == 404
    assert (
        c.get(f"/v1/documents/{document_id}", headers=tenants.as_user("asesora")).status_code == 200
    )
    assert c.get(f"/v1/documents/{document_id}").status_code == 401
    assert (
        c.get(
            f"/v1/documents/{document_id}", headers={"Authorization": "Bearer forged"}
        ).status_code
        == 401
    )


def test_download_redirects_to_a_signed_link_that_expires(tenants: Tenants):
    body = b"%PDF-1.4 original bytes"
    files = [("files", ("orig.pdf", body, "application/pdf"))]
    document_id = upload(tenants, "ana", tenants.own_company, files).json()["documents"][0]["id"]
    response = tenants.client.get(
        f"/v1/documents/{document_id}/download",
        headers=tenants.as_user("ana"),
        follow_redirects=False,
    )
    assert response.status_code == 307
    link = response.headers["location"].removeprefix(get_runtime().settings.public_url)
    fetched = tenants.client.get(link)
    assert fetched.status_code == 200
    assert fetched.content == body
    assert "orig.pdf" in fetched.headers["content-disposition"]
    tampered = link.replace("signature=", "signature=0")
    assert tenants.client.get(tampered).status_code == 404


def test_cursor_pagination_walks_every_document_once(tenants: Tenants):
    ids = set()
    for i in range(5):
        files = [("files", (f"d{i}.pdf", b"%PDF-1.4", "application/pdf"))]
        ids.add(upload(tenants, "ana", tenants.own_company, files).json()["documents"][0]["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = tenants.client.get(
            f"/v1/companies/{tenants.own_company}/documents",
            params=params,
            headers=tenants.as_user("ana"),
        ).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 5


def test_health_and_openapi(tenants: Tenants):
    assert tenants.client.get("/healthz").json() == {"status": "ok"}
    ready = tenants.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    paths = tenants.client.get("/openapi.json").json()["paths"]
    assert "/v1/companies/{company_id}/documents" in paths
    assert "/v1/auth/token" in paths
