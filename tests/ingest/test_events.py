"""The event bridge for real: presigned POST to S3, MinIO-format notifications through a real
RabbitMQ exchange and the webhook, a real worker. Each document runs through the chain exactly
once, however many times its event arrives; a webhook call without the token is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.objects import MinioStore
from storage.uploads import ObjectEventRecord
from tests.documents import invoice_pdf_bytes, make_invoice
from tests.e2e.conftest import Stack
from tests.e2e.test_document_chain import STEPS, Portal
from tests.ingest.events_stack import (
    WEBHOOK_TOKEN,
    minio_event,
    post_form,
    publish_to_exchange,
    running,
    start_bridge_stack,
    wait_for,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def bridge(
    tmp_path: Path, postgres_database: str, rabbitmq_vhost: str, s3_endpoint: str
) -> Iterator[Stack]:
    yield from running(start_bridge_stack(tmp_path, postgres_database, rabbitmq_vhost, s3_endpoint))


def _deliveries(database: str, key: str) -> int:
    engine = create_engine(database)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(ObjectEventRecord).where(ObjectEventRecord.key == key))
            return sum(row.deliveries for row in rows)
    finally:
        engine.dispose()


def test_each_upload_is_processed_exactly_once_whatever_the_event_count(
    bridge: Stack, postgres_database: str, rabbitmq_vhost: str
):
    bridge.papeleo(
        "create-user", "--advisory-code", "6", "--advisory-name", "Asesoría Seis",
        "--username", "ana", "--password", "pw-ana-123", "--role", "client",
        "--company-nif", "B86561412", "--company-name", "Ana Comercial SL",
    )  # fmt: skip
    ana = Portal(bridge, "6", "ana", "pw-ana-123")
    company = ana.company()
    env = bridge.env
    store = MinioStore.from_endpoint(
        env["PAPELEO_S3_ENDPOINT"], "testing", "testing", env["PAPELEO_S3_BUCKET"]
    )
    bucket = env["PAPELEO_S3_BUCKET"]

    uploads = {}
    for via, seed in (("amqp", 5), ("webhook", 6)):
        body = invoice_pdf_bytes(make_invoice(seed, issuer_cif=None))
        response = ana.http.post(
            f"/v1/companies/{company}/uploads",
            json={
                "file_name": f"factura {via}.pdf",
                "content_type": "application/pdf",
                "category": "factura_recibida",
                "name": f"Factura por {via}",
            },
        )
        assert response.status_code == 201, response.text
        ticket = response.json()
        assert post_form(ticket, body, "application/pdf").status_code == 204
        info = store.stat(ticket["key"])
        uploads[via] = (ticket, minio_event(bucket, ticket["key"], info.etag, info.size))

    # A webhook call without the token, or with a wrong one, is refused and registers nothing.
    webhook = f"{bridge.base_url}/v1/minio/events"
    _, event = uploads["webhook"]
    assert httpx.post(webhook, json=event).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert httpx.post(webhook, json=event, headers=wrong).status_code == 401
    assert _deliveries(postgres_database, uploads["webhook"][0]["key"]) == 0

    # The same event three times: through the RabbitMQ exchange, and to the webhook.
    publish_to_exchange(rabbitmq_vhost, uploads["amqp"][1], times=3)
    outcomes = []
    for _ in range(3):
        answer = httpx.post(
            webhook, json=event, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        outcomes += [record["outcome"] for record in answer.json()["records"]]
    assert outcomes == ["registered", "duplicate", "duplicate"]

    for via, (ticket, _) in uploads.items():
        wait_for(
            lambda key=ticket["key"]: _deliveries(postgres_database, key) == 3,
            60,
            f"three deliveries of the {via} event",
        )
    time.sleep(3)  # room for a wrongly published second chain to show up
    for via, (ticket, _) in uploads.items():
        document = ana.wait(ticket["upload_id"])
        assert document["status"] == "indexed", (via, document)
        assert document["display_name"] == f"Factura por {via}.pdf"
        assert document["category"] == "factura_recibida"
        history = document["history"]
        assert [line["step"] for line in history] == STEPS
        assert all(line["run"] == 1 and line["attempts"] == 1 for line in history), history
    listed = ana.http.get(f"/v1/companies/{company}/documents").json()["items"]
    assert sorted(d["id"] for d in listed) == sorted(t["upload_id"] for t, _ in uploads.values())
    notes = [
        n for n in ana.http.get("/v1/notifications").json() if n["kind"] == "document_processed"
    ]
    assert sorted(n["document_id"] for n in notes) == sorted(
        t["upload_id"] for t, _ in uploads.values()
    )
