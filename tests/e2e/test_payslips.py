"""Payslips through a real API and a real worker (PostgreSQL + Redis, files on disk)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from pypdf import PdfReader

from tests.e2e.conftest import Stack, base_env, free_port
from tests.payroll_data import payroll_csv

pytestmark = pytest.mark.e2e
REDIS_DB = "redis://127.0.0.1:6379/12"  # our own database: the document stacks flush db 15


@pytest.fixture
def payslip_stack(tmp_path: Path, postgres_database: str) -> Iterator[Stack]:
    redis.Redis.from_url(REDIS_DB).flushdb()
    port = free_port()
    env = base_env(
        database_url=postgres_database,
        broker_url=REDIS_DB,
        storage="filesystem",
        data_dir=str(tmp_path / "data"),
        public_url=f"http://127.0.0.1:{port}",
        demo="false",
        payslip_chunk_size="3",
    )
    stack = Stack("payslips", f"http://127.0.0.1:{port}", env, tmp_path)
    stack.start("api", "api", "--host", "127.0.0.1", "--port", str(port))
    stack.start(
        "worker",
        "worker",
        "--queues",
        "payslips,notify",
        "--concurrency",
        "2",
        "--hostname",
        "payslips@%h",
    )
    try:
        stack.wait_until_healthy()
        yield stack
    except BaseException:
        print(stack.log_tail())
        raise
    finally:
        stack.stop()


def login(stack: Stack, user: str, password: str) -> httpx.Client:
    http = httpx.Client(base_url=stack.base_url, timeout=30)
    token = http.post(
        "/v1/auth/token", json={"advisory_code": "6", "username": user, "password": password}
    )
    assert token.status_code == 200, token.text
    http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return http


def wait_bundle(http: httpx.Client, company: int, bundle_id: str) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        body = http.get(f"/v1/companies/{company}/payslips/bundles/{bundle_id}").json()
        if body["status"] in ("ready", "failed"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"bundle stuck: {body}")


def test_bundles_and_month_end_through_a_real_worker(payslip_stack: Stack, tmp_path: Path):
    stack = payslip_stack
    stack.papeleo(
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
        "B12345674",
        "--company-name",
        "Panadería Ana SL",
    )
    stack.papeleo(
        "create-user",
        "--advisory-code",
        "6",
        "--username",
        "asesora",
        "--password",
        "pw-ase-123",
        "--role",
        "advisor",
    )
    data = tmp_path / "nominas.csv"
    data.write_bytes(payroll_csv(range(1, 8)))
    imported = stack.papeleo("payroll", "import", str(data), "--company-nif", "B12345674")
    assert "7 payslip(s)" in imported.stdout

    ana = login(stack, "ana", "pw-ana-123")
    company = ana.get("/v1/companies").json()[0]["id"]
    month = ana.get(f"/v1/companies/{company}/payslips", params={"period": "2026-11"}).json()
    people = sorted(month["employees"], key=lambda e: e["name"])
    assert len(people) == 7

    full = ana.post(f"/v1/companies/{company}/payslips/bundles", json={"period": "2026-11"})
    assert full.status_code == 202, full.text
    ready = wait_bundle(ana, company, full.json()["id"])
    assert ready["status"] == "ready", ready
    assert (ready["total"], ready["rendered"], ready["pages"]) == (7, 7, 7)
    reader = PdfReader(io.BytesIO(httpx.get(ready["download_url"]).content))
    assert len(reader.pages) == 7
    assert len(reader.outline) == 7
    assert "LÍQUIDO TOTAL A PERCIBIR" in reader.pages[0].extract_text()

    chosen = [people[1], people[4]]
    selected = ana.post(
        f"/v1/companies/{company}/payslips/bundles",
        json={"period": "2026-11", "employee_ids": [p["employee_id"] for p in chosen]},
    )
    ready = wait_bundle(ana, company, selected.json()["id"])
    assert (ready["status"], ready["total"], ready["rendered"], ready["cached"]) == (
        "ready",
        2,
        0,
        2,
    )
    reader = PdfReader(io.BytesIO(httpx.get(ready["download_url"]).content))
    assert len(reader.pages) == 2
    titles = [item.title for item in reader.outline]
    assert titles == [f"{p['name']} ({p['nif']})" for p in chosen]

    first = stack.papeleo("payslips", "month-end", "2026-11", "--advisory-code", "6")
    assert "1 companies, 7 payslips: 0 drawn, 7 already drawn, 0 failed" in first.stdout
    advisor = login(stack, "asesora", "pw-ase-123")
    triggered = advisor.post("/v1/payroll/month-end", json={"period": "2026-11"})
    assert triggered.status_code == 202
    deadline = time.monotonic() + 120
    while (run := advisor.get(f"/v1/payroll/month-end/{triggered.json()['id']}").json())[
        "status"
    ] != "done":
        assert time.monotonic() < deadline, run
        time.sleep(0.3)
    assert (run["rendered"], run["cached"], run["failed"]) == (0, 7, 0)
    assert run["companies"][0]["status"] == "ready"
