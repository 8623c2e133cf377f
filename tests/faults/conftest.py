"""A real Papeleo cluster whose parts the fault tests break: API, workers, broker, S3, database."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from storage.db import make_engine
from storage.models import Document, Notification
from tests.documents import make_ticket, scanned_pdf_bytes, ticket_image
from tests.e2e.conftest import Stack, server_stack

TERMINAL = ("indexed", "failed")


@dataclass
class Cluster:
    """Papeleo on PostgreSQL + a broker + S3, with handles to break each part."""

    stack: Stack
    database_url: str
    engine: Engine
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)
    http: httpx.Client | None = None
    company: int = 0

    def start_worker(self, label: str, queues: str, concurrency: int = 1) -> subprocess.Popen:
        worker = self.stack.start(
            label,
            "worker",
            "--queues",
            queues,
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"{label}-{uuid.uuid4().hex[:6]}@%h",
            "--loglevel",
            "INFO",
        )
        self.workers[label] = worker
        return worker

    def pool_children(self, label: str) -> list[int]:
        pid = self.workers[label].pid
        path = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def login(self) -> None:
        self.stack.papeleo(
            "create-user",
            "--advisory-code",
            "6",
            "--username",
            "ana",
            "--password",
            "pw-ana-123",
            "--role",
            "client",
            "--company-nif",
            "B86561412",
            "--company-name",
            "Ana SL",
        )
        self.http = httpx.Client(base_url=self.stack.base_url, timeout=60)
        token = self.http.post(
            "/v1/auth/token",
            json={"advisory_code": "6", "username": "ana", "password": "pw-ana-123"},
        ).json()
        self.http.headers["Authorization"] = f"Bearer {token['access_token']}"
        self.company = self.http.get("/v1/companies").json()[0]["id"]

    def upload_scans(self, count: int, *, pages: int = 1, seed: int = 0) -> list[str]:
        """Image-only PDFs (they need OCR), uploaded over HTTP."""
        assert self.http is not None
        ids = []
        for i in range(count):
            tickets = [make_ticket(seed + i * 7 + p) for p in range(pages)]
            images = [ticket_image(ticket, photo=False) for ticket in tickets]
            body = scanned_pdf_bytes(images[0], dpi=150) if pages == 1 else _multipage(images)
            response = self.http.post(
                f"/v1/companies/{self.company}/documents",
                files=[("files", (f"scan-{i}.pdf", body, "application/pdf"))],
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["documents"][0]["id"])
        return ids

    def statuses(self, ids: list[str]) -> dict[str, str]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(Document.id, Document.status).where(Document.id.in_(ids))
            ).all()
        return dict(rows)

    def wait_terminal(self, ids: list[str], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            statuses = self.statuses(ids)
            notified = self.notifications(ids)
            done = [i for i in ids if statuses.get(i) in TERMINAL and notified.get(i)]
            if len(done) == len(ids) or time.monotonic() > deadline:
                return statuses
            time.sleep(0.5)

    def notifications(self, ids: list[str]) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(Notification.document_id, func.count())
                .where(Notification.document_id.in_(ids))
                .group_by(Notification.document_id)
            ).all()
        return dict(rows)

    def index_rows(self, ids: list[str]) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT document_id, count(*) FROM document_search"
                    " WHERE document_id = ANY(:ids) GROUP BY document_id"
                ),
                {"ids": ids},
            ).all()
        return dict(rows)

    def report(self, name: str, ids: list[str], statuses: dict[str, str]) -> tuple[int, ...]:
        """Print and return (sent, completed, lost, duplicated)."""
        notes = self.notifications(ids)
        index = self.index_rows(ids)
        completed = sum(1 for i in ids if statuses.get(i) in TERMINAL)
        duplicated = sum(1 for i in ids if notes.get(i, 0) > 1 or index.get(i, 0) > 1)
        figures = (len(ids), completed, len(ids) - completed, duplicated)
        print(
            f"\n[fault] {name}: sent={figures[0]} completed={figures[1]} "
            f"lost={figures[2]} duplicated={figures[3]}"
        )
        return figures


def _multipage(images) -> bytes:
    import io

    buffer = io.BytesIO()
    first, *rest = [im.convert("RGB") for im in images]
    first.save(buffer, "PDF", resolution=150, save_all=True, append_images=rest)
    return buffer.getvalue()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    report = yield
    setattr(item, f"report_{report.when}", report)  # the fixture prints logs when a test failed
    return report


@pytest.fixture
def cluster_factory(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres_database: str,
    s3_endpoint: str,
    rabbitmq_vhost: str,
) -> Iterator:
    """Build a cluster: ``factory(broker=None, s3=None, **settings)`` → Cluster (API started)."""
    clusters: list[Cluster] = []

    def factory(*, broker: str | None = None, s3: str | None = None, **settings: str) -> Cluster:
        stack = server_stack(
            "faults",
            tmp_path,
            postgres_database,
            broker or rabbitmq_vhost,
            s3 or s3_endpoint,
            **settings,
        )
        stack.start_api()
        cluster = Cluster(stack, postgres_database, make_engine(postgres_database))
        clusters.append(cluster)
        stack.wait_until_healthy()
        cluster.login()
        return cluster

    try:
        yield factory
    finally:
        report = getattr(request.node, "report_call", None)
        if report is None or report.failed:
            for cluster in clusters:
                print(cluster.stack.log_tail())
        for cluster in clusters:
            cluster.stack.stop()
            cluster.engine.dispose()
