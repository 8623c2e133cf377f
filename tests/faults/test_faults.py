"""Break things for real while documents flow; every document must end where someone can act.

Each test prints its figures: documents sent / completed / lost / duplicated.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from storage.models import DocumentEvent
from tests.faults.conftest import Cluster

pytestmark = pytest.mark.faults
LIGHT = "normalize,classify,index,notify,maintenance"


def ocr_started(cluster: Cluster, ids: list[str]) -> bool:
    with cluster.engine.connect() as connection:
        return (
            connection.execute(
                select(DocumentEvent.id).where(
                    DocumentEvent.document_id.in_(ids),
                    DocumentEvent.step == "ocr",
                    DocumentEvent.status == "started",
                )
            ).first()
            is not None
        )


def test_sigkill_of_the_ocr_worker_mid_task_loses_nothing(cluster_factory):
    cluster = cluster_factory()
    cluster.start_worker("light", LIGHT)
    cluster.start_worker("ocr", "ocr")
    ids = cluster.upload_scans(6, pages=3, seed=100)  # ~2 s of OCR each: room to strike
    kills = 0
    deadline = time.monotonic() + 120
    while kills < 3 and time.monotonic() < deadline:
        if ocr_started(cluster, ids):
            for pid in cluster.pool_children("ocr"):
                os.kill(pid, signal.SIGKILL)  # the pool process in the middle of tesseract
                kills += 1
            time.sleep(1.5)  # let the replacement process pick the redelivered task up
        time.sleep(0.05)
    assert kills >= 3, "never caught an OCR task in flight"
    statuses = cluster.wait_terminal(ids, timeout=240)
    _, _, lost, duplicated = cluster.report("sigkill ocr worker", ids, statuses)
    assert (lost, duplicated) == (0, 0)
    assert set(statuses.values()) == {"indexed"}
    with cluster.engine.connect() as connection:
        attempts = (
            connection.execute(
                select(DocumentEvent.attempts).where(
                    DocumentEvent.document_id.in_(ids), DocumentEvent.step == "ocr"
                )
            )
            .scalars()
            .all()
        )
    assert max(attempts) >= 2, "no OCR task was redelivered after its worker died"


def test_terminated_database_connections_are_survived(cluster_factory):
    cluster = cluster_factory()
    cluster.start_worker("all", LIGHT + ",ocr", concurrency=2)
    ids = cluster.upload_scans(6, seed=200)
    name = make_url(cluster.database_url).database
    admin = make_url(cluster.database_url).set(drivername="postgresql", database="postgres")
    terminated = 0
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as pg:
        for _ in range(12):
            terminated += len(
                pg.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                ).fetchall()
            )
            time.sleep(0.7)
    assert terminated > 0
    statuses = cluster.wait_terminal(ids, timeout=240)
    _, _, lost, duplicated = cluster.report(
        f"database connections terminated ({terminated})", ids, statuses
    )
    assert (lost, duplicated) == (0, 0)
    assert set(statuses.values()) == {"indexed"}


def test_an_s3_outage_is_retried_until_it_ends(cluster_factory):
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        cluster = cluster_factory(s3=f"127.0.0.1:{port}")
        ids = cluster.upload_scans(4, seed=300)
        server.stop()  # the store goes away before any worker has read a file
        cluster.start_worker("all", LIGHT + ",ocr", concurrency=2)
        time.sleep(8)
        assert all(s not in ("indexed",) for s in cluster.statuses(ids).values())
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()  # moto keeps its buckets in this process: the same store comes back
        statuses = cluster.wait_terminal(ids, timeout=240)
        _, _, lost, duplicated = cluster.report("s3 outage 8 s", ids, statuses)
        assert (lost, duplicated) == (0, 0)
        assert set(statuses.values()) == {"indexed"}
    finally:
        server.stop()


def test_a_rabbitmq_outage_mid_batch_loses_nothing(cluster_factory, rabbitmq_vhost):
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl is needed to break the broker")
    cluster = cluster_factory(broker=rabbitmq_vhost)
    cluster.start_worker("all", LIGHT + ",ocr", concurrency=2)
    ids = cluster.upload_scans(6, seed=400)
    vhost = rabbitmq_vhost.rsplit("/", 1)[1]
    time.sleep(1.0)
    for _ in range(2):  # drop every connection of our vhost, and restart its queues
        subprocess.run(
            ["rabbitmqctl", "close_all_connections", "-p", vhost, "fault test"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        subprocess.run(
            ["rabbitmqctl", "restart_vhost", "-p", vhost],
            check=True,
            capture_output=True,
            timeout=60,
        )
        time.sleep(2.0)
    statuses = cluster.wait_terminal(ids, timeout=240)
    _, _, lost, duplicated = cluster.report("rabbitmq connections dropped", ids, statuses)
    assert (lost, duplicated) == (0, 0)
    assert set(statuses.values()) == {"indexed"}


def test_a_redis_broker_restart_mid_batch_loses_nothing(cluster_factory, tmp_path: Path):
    port = _free_port()
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(redis_dir),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
    ]
    redis_server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        _wait_port(port)
        cluster = cluster_factory(broker=f"redis://127.0.0.1:{port}/0")
        cluster.start_worker("all", LIGHT + ",ocr", concurrency=2)
        ids = cluster.upload_scans(6, seed=500)
        time.sleep(1.5)
        redis_server.terminate()  # a clean restart: Redis writes its append-only file
        redis_server.wait(timeout=30)
        time.sleep(2.0)
        redis_server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        _wait_port(port)
        statuses = cluster.wait_terminal(ids, timeout=240)
        _, _, lost, duplicated = cluster.report("redis restarted", ids, statuses)
        assert (lost, duplicated) == (0, 0)
        assert set(statuses.values()) == {"indexed"}
    finally:
        redis_server.terminate()
        redis_server.wait(timeout=30)


def test_a_task_over_its_hard_time_limit_fails_its_document_and_the_worker_carries_on(
    cluster_factory,
):
    # no soft limit: only the hard one applies, and the worker kills the task
    cluster = cluster_factory(task_time_limit="3", task_soft_time_limit="0", ocr_fanout_pages="100")
    cluster.start_worker("all", LIGHT + ",ocr", concurrency=1)
    [slow] = cluster.upload_scans(1, pages=14, seed=600)
    statuses = cluster.wait_terminal([slow], timeout=180)
    assert statuses[slow] == "failed"
    response = cluster.http.get(f"/v1/documents/{slow}").json()
    assert response["error"]["code"] == "timeout"
    [quick] = cluster.upload_scans(1, seed=601)
    statuses |= cluster.wait_terminal([quick], timeout=120)
    _, _, lost, duplicated = cluster.report("hard time limit", [slow, quick], statuses)
    assert (lost, duplicated) == (0, 0)
    assert statuses[quick] == "indexed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def test_an_smtp_outage_delays_e_mail_but_loses_and_repeats_nothing(cluster_factory):
    from aiosmtpd.controller import Controller
    from sqlalchemy import text

    smtp_port = _free_port()  # nothing listens there yet: the mail server is down
    cluster = cluster_factory(
        smtp_host="127.0.0.1",
        smtp_port=str(smtp_port),
        smtp_starttls="false",
        smtp_timeout_seconds="2",
        notify_retry_backoff_seconds="1",
        notify_retry_backoff_max_seconds="2",
        notify_max_attempts="30",
    )
    cluster.stack.papeleo(
        "create-user",
        "--advisory-code",
        "6",
        "--username",
        "ana",
        "--password",
        "pw-ana-123",
        "--role",
        "client",
        "--email",
        "ana@example.es",
        "--company-nif",
        "B86561412",
    )
    cluster.start_worker("all", LIGHT + ",ocr", concurrency=2)
    ids = []
    for i in range(3):  # failed documents are e-mailed to their uploader by default
        response = cluster.http.post(
            f"/v1/companies/{cluster.company}/documents",
            files=[
                ("files", (f"roto-{i}.pdf", b"%PDF-1.7\n" + os.urandom(600), "application/pdf"))
            ],
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["documents"][0]["id"])
    statuses = cluster.wait_terminal(ids, timeout=120)
    assert set(statuses.values()) == {"failed"}, statuses  # the documents complete regardless

    def email_rows() -> list[tuple[str, int]]:
        with cluster.engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT status, attempts FROM notification_deliveries"
                    " WHERE channel = 'email' AND document_id = ANY(:ids)"
                ),
                {"ids": ids},
            ).all()

    deadline = time.monotonic() + 60
    while not any(attempts >= 2 for _, attempts in email_rows()):
        assert time.monotonic() < deadline, f"e-mail never retried: {email_rows()}"
        time.sleep(0.5)
    assert len(email_rows()) == 3
    assert not any(status == "sent" for status, _ in email_rows())

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()  # the mail server comes back
    try:
        deadline = time.monotonic() + 90
        while {status for status, _ in email_rows()} != {"sent"}:
            assert time.monotonic() < deadline, f"e-mail not delivered: {email_rows()}"
            time.sleep(0.5)
        time.sleep(3)  # anything sent twice would arrive now
        _, _, lost, duplicated = cluster.report("smtp down, then up", ids, statuses)
        print(f"[fault] smtp: {len(mailbox.messages)} e-mails received for {len(ids)} documents")
        assert (lost, duplicated) == (0, 0)
        assert len(mailbox.messages) == 3
    finally:
        controller.stop()
