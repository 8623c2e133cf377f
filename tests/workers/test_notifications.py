"""Notifications end to end in-process, on SQLite and PostgreSQL, against a REAL local SMTP
server (aiosmtpd) and a local HTTP receiver that verifies every webhook signature."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ingest.accounts import ensure_account
from ingest.api import create_api
from ingest.auth import issue_token
from ingest.uploads import store_upload
from pipeline.errors import ErrorCode, user_message
from storage.history import mark_queued
from storage.models import Company, Document, Notification, Role, Step, User
from storage.notifications import Delivery, WebhookEndpoint, set_preference
from tests.documents import invoice_pdf_bytes, make_invoice
from workers import documents as tasks
from workers import notifications as notify
from workers.app import app as celery_app
from workers.app import celery_config
from workers.runtime import get_runtime, reset_runtime
from workers.settings import Settings, install_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# A real SMTP server and a signature-verifying webhook receiver


class Mailbox:
    """aiosmtpd handler keeping every accepted message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox = field(default_factory=Mailbox)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class Receiver:
    """Accepts a POST only when its timestamp is fresh and its HMAC signature verifies."""

    secrets: dict[str, str] = field(default_factory=dict)  # path -> secret
    fail_first: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    requests: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def verify(self, path: str, headers: Any, body: bytes) -> bool:
        secret = self.secrets.get(path)
        timestamp = headers.get("X-Papeleo-Timestamp", "")
        signature = headers.get("X-Papeleo-Signature", "")
        if secret is None or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return False
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        return hmac.compare_digest("v1=" + expected.hexdigest(), signature)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests += 1
            if not state.verify(self.path, self.headers, body):
                state.rejected.append(self.path)
                self.send_response(401)
            elif state.fail_first > 0:
                state.fail_first -= 1
                self.send_response(503)
            else:
                state.accepted.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    state.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=state.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.server.shutdown()
        state.server.server_close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def configure(tmp_path: Path, database_url: str, smtp_port: int, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": database_url,
        "broker_url": "memory://",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_starttls": False,
        "smtp_timeout_seconds": 5,
        "allow_private_webhook_targets": True,
        "notify_max_attempts": 4,
        "notify_retry_backoff_seconds": 1,
        "portal_url": "https://portal.example.es",
        **extra,
    }
    settings = Settings(**values)
    install_settings(settings)
    reset_runtime()
    celery_app.conf.update(celery_config(settings), task_always_eager=True)
    get_runtime().store.ensure_ready()
    return settings


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[SmtpServer]:
    configure(tmp_path, database_url, smtp.port)
    try:
        yield smtp
    finally:
        celery_app.conf.update(task_always_eager=False)
        install_settings(None)
        reset_runtime()


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class People:
    client: int
    advisor: int
    company: int
    advisory: int


def people() -> People:
    with get_runtime().sessions.begin() as session:
        client = ensure_account(
            session,
            advisory_code="6",
            username="ana",
            password="pw-ana-123",
            role=Role.CLIENT,
            email="ana@cliente.example.es",
            full_name="Ana Pérez",
            company_nifs=["B12345674"],
            company_name="Panadería Ana SL",
        )
        advisor = ensure_account(
            session,
            advisory_code="6",
            username="luis",
            password="pw-luis-123",
            role=Role.ADVISOR,
            email="luis@asesoria.example.es",
            full_name="Luis Gómez",
        )
        company = session.scalar(select(Company).where(Company.nif == "B12345674"))
        return People(client.id, advisor.id, company.id, company.advisory_id)


def document_row(
    who: People,
    *,
    status: str = "indexed",
    name: str = "factura-enero.pdf",
    error_code: str | None = None,
    created_at: datetime | None = None,
    company_id: int | None = None,
) -> str:
    """A document that went through the chain (no OCR needed to test notifications)."""
    with get_runtime().sessions.begin() as session:
        document = Document(
            company_id=company_id or who.company,
            fiscal_year=2026,
            uploaded_by=who.client,
            original_name=name,
            display_name=name,
            sha256="0" * 64,
            size=10,
            original_key="x",
            status=status,
            category="factura_recibida",
            error_code=error_code,
            error_message="No se ha podido leer" if error_code else None,
        )
        if created_at is not None:
            document.created_at = created_at
        session.add(document)
        session.flush()
        return document.id


def count(model: Any, *where: Any) -> int:
    with get_runtime().sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def deliveries(**filters: Any) -> list[Delivery]:
    with get_runtime().sessions() as session:
        query = select(Delivery).filter_by(**filters).order_by(Delivery.id)
        return list(session.scalars(query))


def add_endpoint(receiver: Receiver, who: People, path: str = "/hook", **extra: Any) -> int:
    with get_runtime().sessions.begin() as session:
        endpoint = WebhookEndpoint(
            advisory_id=who.advisory,
            url=receiver.base + path,
            secret=f"secret-{path}",
            **extra,
        )
        session.add(endpoint)
        session.flush()
        receiver.secrets[path] = endpoint.secret
        return endpoint.id


def enable(user_id: int, event: str, channel: str, on: bool = True) -> None:
    with get_runtime().sessions.begin() as session:
        set_preference(session, user_id, event, channel, on)


# ---------------------------------------------------------------------------------------------
# Tests


def test_processed_document_sends_one_spanish_email_and_one_in_app_even_when_run_twice(env):
    who = people()
    enable(who.client, "document_processed", "email")
    document_id = document_row(who, name="Factura <Repsol> enero.pdf")
    tasks.notify.apply((document_id,))
    tasks.notify.apply((document_id,))  # a redelivered notify message

    mails = [m for m in env.mailbox.messages if m["To"] == "ana@cliente.example.es"]
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == ("Documento procesado: Factura <Repsol> enero.pdf (Panadería Ana SL)")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "se ha procesado y archivado en Facturas recibidas" in text
    assert f"https://portal.example.es/documents/{document_id}" in text
    assert "Factura &lt;Repsol&gt; enero.pdf" in html
    assert "<Repsol>" not in html
    assert mail["Message-ID"].endswith("@papeleo>")

    assert count(Notification, Notification.user_id == who.client) == 1
    # The advisor hears about a new client document in the app (once; no e-mail by default).
    kinds = {
        n
        for (n,) in get_runtime()
        .sessions()
        .execute(select(Notification.kind).where(Notification.user_id == who.advisor))
    }
    assert kinds == {"client_document"}
    assert not [m for m in env.mailbox.messages if m["To"] == "luis@asesoria.example.es"]
    assert [d.status for d in deliveries(channel="email")] == ["sent"]


def test_failed_document_email_carries_the_reason(env):
    who = people()
    document_id = document_row(who, status="failed", error_code="needs_password", name="n.pdf")
    tasks.notify.apply((document_id,))
    (mail,) = env.mailbox.messages
    assert mail["Subject"].startswith("No se ha podido procesar un documento: n.pdf")
    text = mail.get_body(("plain",)).get_content()
    assert user_message(ErrorCode.needs_password, "es") in text
    with get_runtime().sessions() as session:
        note = session.scalar(select(Notification).where(Notification.user_id == who.client))
        assert note.kind == "document_failed"
        assert "contraseña" in note.body


def test_webhook_signed_retried_after_two_failures_and_accepted_exactly_once(env, receiver):
    who = people()
    endpoint_id = add_endpoint(receiver, who, events=["document_processed"])
    receiver.fail_first = 2
    document_id = document_row(who)
    tasks.notify.apply((document_id,))
    tasks.notify.apply((document_id,))

    assert receiver.requests == 3
    assert not receiver.rejected
    (accepted,) = receiver.accepted
    assert accepted["json"]["event"] == "document_processed"
    assert accepted["json"]["data"]["document_id"] == document_id
    assert accepted["headers"]["X-Papeleo-Event"] == "document_processed"
    assert accepted["headers"]["X-Papeleo-Delivery"] == accepted["json"]["id"]
    (delivery,) = deliveries(endpoint_id=endpoint_id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 3, 204)
    # A sweep finds nothing to resend; a stray duplicate task message sends nothing.
    assert notify.sweep_deliveries.apply().get() == 0
    assert notify.deliver_webhook.apply((delivery.id,)).get() == "skipped"
    assert len(receiver.accepted) == 1


def test_a_wrong_secret_is_rejected_by_the_receiver(env, receiver):
    who = people()
    add_endpoint(receiver, who)
    receiver.secrets["/hook"] = "not-the-secret"
    tasks.notify.apply((document_row(who),))
    assert receiver.rejected
    assert not receiver.accepted
    assert {d.status for d in deliveries(channel="webhook")} == {"failed"}
    assert all(d.attempts == 4 for d in deliveries(channel="webhook"))


def test_smtp_down_keeps_the_document_indexed_retries_and_never_duplicates(tmp_path, database_url):
    port = free_port()
    configure(tmp_path, database_url, port, notify_max_attempts=5)
    celery_app.conf.update(task_always_eager=False)  # channel tasks wait in the broker
    smtp = SmtpServer(port)
    try:
        who = people()
        with get_runtime().sessions.begin() as session:
            stored = store_upload(
                get_runtime().store,
                io.BytesIO(invoice_pdf_bytes(make_invoice(3))),
                company_id=who.company,
                fiscal_year=2026,
                file_name="factura.pdf",
                content_type=None,
            )
            document = Document(
                id=stored.document_id,
                company_id=who.company,
                fiscal_year=2026,
                uploaded_by=who.client,
                original_name="factura.pdf",
                display_name="factura.pdf",
                sha256=stored.sha256,
                size=stored.size,
                original_key=stored.key,
            )
            session.add(document)
            session.flush()
            mark_queued(session, document, Step.NORMALIZE)
        enable(who.client, "document_processed", "email")
        for task in (tasks.normalize, tasks.ocr, tasks.classify, tasks.index, tasks.notify):
            assert task.apply((stored.document_id,)).successful()

        (delivery,) = deliveries(channel="email")
        outcome = notify.attempt_delivery(delivery.id)  # the SMTP server is down
        assert outcome.status == "retrying"
        assert outcome.retry_in is not None
        with get_runtime().sessions() as session:
            document = session.get_one(Document, stored.document_id)
            assert document.status == "indexed"
            assert {e.step: e.status for e in document.events}["notify"] == "succeeded"
            row = session.get_one(Delivery, delivery.id)
            assert (row.status, row.attempts) == ("retrying", 1)
            assert "Connection" in (row.last_error or "") or "refused" in (row.last_error or "")
            assert row.next_attempt_at is not None

        smtp.start()
        assert notify.deliver_email.apply((delivery.id,)).get() == "sent"
        assert notify.deliver_email.apply((delivery.id,)).get() == "skipped"
        tasks.notify.apply((stored.document_id,))  # notify re-run: nothing new
        assert len(smtp.mailbox.messages) == 1
        (row,) = deliveries(channel="email")
        assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    finally:
        smtp.stop()
        install_settings(None)
        reset_runtime()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.215.14/hook",
        "http://user:pw@93.184.215.14/hook",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(url):
    with pytest.raises(notify.WebhookTargetRefused):
        notify.check_webhook_target(url, allow_private=False)


def test_public_targets_pass_and_private_ones_pass_only_when_configured():
    notify.check_webhook_target("https://93.184.215.14/hook", allow_private=False)
    notify.check_webhook_target("http://127.0.0.1:9/hook", allow_private=True)


def test_a_private_target_is_never_called_unless_allowed(env, receiver):
    who = people()
    install_settings(
        get_runtime().settings.model_copy(update={"allow_private_webhook_targets": False})
    )
    reset_runtime()
    add_endpoint(receiver, who, events=["document_processed"])
    tasks.notify.apply((document_row(who),))
    assert receiver.requests == 0
    (delivery,) = deliveries(channel="webhook")
    assert delivery.status == "failed"
    assert delivery.attempts == 1
    assert "private" in (delivery.last_error or "")


def test_the_checked_address_is_the_one_called_so_a_rebinding_name_stays_out(
    env, receiver, monkeypatch
):
    """The name resolves to an allowed address for the check, then to a blocked one (DNS
    rebinding): the request still goes to the checked address, with the name as its Host."""
    who = people()
    install_settings(
        get_runtime().settings.model_copy(update={"allow_private_webhook_targets": False})
    )
    reset_runtime()
    port = receiver.server.server_address[1]
    answers = iter(["127.0.0.1", "127.0.0.2"])
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.rebind.test":
            return real_getaddrinfo(host, *args, **kwargs)
        address = next(answers, "127.0.0.2")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    # Only 127.0.0.2 counts as private here: 127.0.0.1 stands in for a public address.
    monkeypatch.setattr(notify, "_blocked", lambda address: address == "127.0.0.2")
    endpoint_id = add_endpoint(receiver, who, events=["document_processed"])
    with get_runtime().sessions.begin() as session:
        endpoint = session.get_one(WebhookEndpoint, endpoint_id)
        endpoint.url = f"http://hooks.rebind.test:{port}/hook"

    tasks.notify.apply((document_row(who),))

    (accepted,) = receiver.accepted
    assert accepted["headers"]["Host"] == f"hooks.rebind.test:{port}"
    assert next(answers, None) == "127.0.0.2"  # resolved once: the second answer is unused


HOOKS = "hooks.example.com"


@pytest.mark.parametrize(
    ("url", "address", "expected"),
    [
        (
            "https://hooks.example.com/in?x=1",
            "93.184.215.14",
            ("https://93.184.215.14/in?x=1", "hooks.example.com", {"sni_hostname": HOOKS}),
        ),
        (
            "http://hooks.example.com:8080/in",
            "2606:2800::1",
            ("http://[2606:2800::1]:8080/in", "hooks.example.com:8080", {}),
        ),
    ],
)
def test_a_pinned_request_keeps_the_host_name_for_host_and_tls(url, address, expected):
    pinned_url, host, extensions = notify.pinned_request(url, address)
    assert (pinned_url, host["Host"], extensions) == expected


def test_preferences_are_respected(env):
    who = people()
    enable(who.client, "document_failed", "email", on=False)
    enable(who.client, "document_failed", "in_app", on=False)
    enable(who.advisor, "client_document", "in_app", on=False)
    enable(who.advisor, "client_document", "email", on=True)
    tasks.notify.apply((document_row(who, status="failed", error_code="corrupt_file"),))
    assert count(Notification) == 0
    (mail,) = env.mailbox.messages
    assert mail["To"] == "luis@asesoria.example.es"
    assert mail["Subject"] == "Nuevo documento de Panadería Ana SL"
    assert "Ana Pérez ha enviado «factura-enero.pdf» en Facturas recibidas." in (
        mail.get_body(("plain",)).get_content()
    )


def test_needs_review_tells_the_advisors_when_the_classifier_flags_it(env, monkeypatch):
    who = people()
    document_id = document_row(who)
    # The classify step sets needs_review (another issue): set the column, or simulate it.
    if "needs_review" in Document.__table__.c:
        with get_runtime().sessions.begin() as session:
            session.get_one(Document, document_id).needs_review = True
    else:
        monkeypatch.setattr(Document, "needs_review", True, raising=False)
    tasks.notify.apply((document_id,))
    review = [m for m in env.mailbox.messages if m["Subject"].startswith("Documento pendiente")]
    assert len(review) == 1
    assert review[0]["To"] == "luis@asesoria.example.es"
    assert "necesita revisión" in review[0].get_body(("plain",)).get_content()


def test_payslips_ready_notifies_the_requester_and_webhooks_once(env, receiver):
    who = people()
    add_endpoint(receiver, who, events=["payslips_ready"])
    for _ in range(2):
        notify.notify_payslips_ready(
            "bundle-1",
            company_id=who.company,
            requested_by=who.client,
            period="2026-03",
            employees=12,
        )
    (mail,) = env.mailbox.messages
    assert mail["Subject"] == "Nóminas de marzo de 2026 disponibles · Panadería Ana SL"
    assert "(12 nóminas) ya se puede descargar" in mail.get_body(("plain",)).get_content()
    assert count(Notification, Notification.kind == "payslips_ready") == 1
    (accepted,) = receiver.accepted
    assert accepted["json"]["data"] == {
        "bundle_id": "bundle-1",
        "period": "2026-03",
        "employees": 12,
    }


def test_daily_digest_for_advisors(env):
    who = people()
    with get_runtime().sessions.begin() as session:
        advisory = session.get_one(User, who.advisor).advisory_id
        other = Company(advisory_id=advisory, nif="B86561412", name="Taller Luis SL")
        session.add(other)
        session.flush()
        other_id = other.id
    day = date(2026, 3, 5)
    noon = datetime(2026, 3, 5, 11, 0, tzinfo=UTC)
    document_row(who, created_at=noon)
    document_row(
        who,
        created_at=noon,
        status="failed",
        error_code="needs_password",
        name="nomina-cifrada.pdf",
    )
    document_row(who, created_at=noon, company_id=other_id)
    document_row(who, created_at=noon + timedelta(days=1))  # the next day: not counted
    env.mailbox.messages.clear()

    assert notify.daily_digest.apply((day.isoformat(),)).get() == 1
    assert notify.daily_digest.apply((day.isoformat(),)).get() == 0  # once per day
    assert notify.daily_digest.apply(("2026-01-01",)).get() == 0  # empty day: nothing
    (mail,) = env.mailbox.messages
    assert mail["To"] == "luis@asesoria.example.es"
    assert mail["Subject"] == "Resumen diario de documentos · 5 de marzo de 2026"
    text = mail.get_body(("plain",)).get_content()
    assert "Hola, Luis Gómez:" in text
    assert "tus clientes enviaron 3 documento(s); 1 no se pudieron procesar" in text
    assert "- Panadería Ana SL: 2 recibidos, 1 procesados, 1 con error, 0 por revisar" in text
    assert "- Taller Luis SL: 1 recibidos, 1 procesados, 0 con error, 0 por revisar" in text
    assert "«nomina-cifrada.pdf»" in text
    assert "contraseña" in text
    assert "<table" in mail.get_body(("html",)).get_content()


# ---------------------------------------------------------------------------------------------
# The API


def test_api_unread_count_mark_read_preferences_and_webhooks(env, receiver):
    who = people()
    with get_runtime().sessions.begin() as session:
        tokens = {
            name: issue_token(session, session.get_one(User, uid), timedelta(hours=1))[0]
            for name, uid in (("client", who.client), ("advisor", who.advisor))
        }
    as_client = {"Authorization": f"Bearer {tokens['client']}"}
    as_advisor = {"Authorization": f"Bearer {tokens['advisor']}"}
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        tasks.notify.apply((document_row(who, name=name),))
    api = TestClient(create_api())

    assert api.get("/v1/notifications/unread-count", headers=as_client).json() == {"unread": 3}
    listed = api.get("/v1/notifications", headers=as_client).json()
    assert [n["kind"] for n in listed] == ["document_processed"] * 3
    assert (
        api.post(f"/v1/notifications/{listed[0]['id']}/read", headers=as_client).status_code == 200
    )
    assert api.get("/v1/notifications/unread-count", headers=as_client).json() == {"unread": 2}
    # Someone else's notification is not found, not forbidden.
    advisor_notes = api.get("/v1/notifications", headers=as_advisor).json()
    assert (
        api.post(f"/v1/notifications/{advisor_notes[0]['id']}/read", headers=as_client).status_code
        == 404
    )
    assert api.post("/v1/notifications/read-all", headers=as_client).json() == {"marked": 2}
    assert api.get("/v1/notifications/unread-count", headers=as_client).json() == {"unread": 0}
    assert api.get("/v1/notifications/unread-count").status_code == 401

    prefs = api.get("/v1/notifications/preferences", headers=as_client).json()["preferences"]
    assert prefs["document_processed"] == {"in_app": True, "email": False}
    changed = api.put(
        "/v1/notifications/preferences",
        headers=as_client,
        json={"preferences": {"document_processed": {"email": True, "in_app": False}}},
    ).json()["preferences"]
    assert changed["document_processed"] == {"in_app": False, "email": True}
    assert changed["document_failed"] == {"in_app": True, "email": True}
    bad = {"preferences": {"nope": {"email": True}}}
    assert api.put("/v1/notifications/preferences", headers=as_client, json=bad).status_code == 422

    # Webhook endpoints: advisors only; clients do not see they exist.
    assert api.get("/v1/webhooks", headers=as_client).status_code == 404
    assert (
        api.post(
            "/v1/webhooks", headers=as_client, json={"url": "https://93.184.215.14/h"}
        ).status_code
        == 404
    )
    created = api.post(
        "/v1/webhooks",
        headers=as_advisor,
        json={
            "url": receiver.base + "/api",
            "company_id": who.company,
            "events": ["document_processed"],
        },
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert len(hook["secret"]) >= 32
    assert "secret" not in api.get(f"/v1/webhooks/{hook['id']}", headers=as_advisor).json()
    receiver.secrets["/api"] = hook["secret"]
    tasks.notify.apply((document_row(who, name="d.pdf"),))
    assert [a["path"] for a in receiver.accepted] == ["/api"]
    log = api.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=as_advisor).json()
    assert [(d["status"], d["response_status"]) for d in log] == [("sent", 204)]
    rotated = api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=as_advisor).json()
    assert rotated["secret"] != hook["secret"]
    # The receiver still checks the old secret: this delivery fails for good...
    tasks.notify.apply((document_row(who, name="e.pdf"),))
    failed, sent = api.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=as_advisor).json()
    assert (failed["status"], sent["status"]) == ("failed", "sent")
    redeliver = f"/v1/webhooks/{hook['id']}/deliveries/{{}}/redeliver"
    assert api.post(redeliver.format(sent["id"]), headers=as_advisor).status_code == 409
    assert api.post(redeliver.format(failed["id"]), headers=as_client).status_code == 404
    # ...until the receiver is updated and an advisor asks for it again.
    receiver.secrets["/api"] = rotated["secret"]
    again = api.post(redeliver.format(failed["id"]), headers=as_advisor)
    assert again.status_code == 202, again.text
    assert [a["json"]["data"]["display_name"] for a in receiver.accepted] == ["d.pdf", "e.pdf"]
    log = api.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=as_advisor).json()
    assert [d["status"] for d in log] == ["sent", "sent"]
    paused = api.patch(
        f"/v1/webhooks/{hook['id']}", headers=as_advisor, json={"is_active": False}
    ).json()
    assert paused["is_active"] is False
    bad_event = api.patch(f"/v1/webhooks/{hook['id']}", headers=as_advisor, json={"events": ["x"]})
    assert bad_event.status_code == 422
    assert api.delete(f"/v1/webhooks/{hook['id']}", headers=as_advisor).status_code == 204
    assert api.get(f"/v1/webhooks/{hook['id']}", headers=as_advisor).status_code == 404
    assert api.get("/v1/webhooks", headers=as_advisor).json() == []


def test_api_refuses_private_webhook_targets_by_default(tmp_path, sqlite_database, smtp):
    configure(tmp_path, sqlite_database, smtp.port, allow_private_webhook_targets=False)
    try:
        who = people()
        with get_runtime().sessions.begin() as session:
            token = issue_token(session, session.get_one(User, who.advisor), timedelta(hours=1))[0]
        api = TestClient(create_api())
        for url in ("http://127.0.0.1:8080/h", "http://169.254.169.254/", "file:///etc/passwd"):
            response = api.post(
                "/v1/webhooks", headers={"Authorization": f"Bearer {token}"}, json={"url": url}
            )
            assert response.status_code == 422, url
        assert count(WebhookEndpoint) == 0
    finally:
        celery_app.conf.update(task_always_eager=False)
        install_settings(None)
        reset_runtime()
