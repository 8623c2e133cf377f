"""Flower for advisors, started for real against the test broker with a worker sending events."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.conftest import ROOT, Stack, base_env
from tests.ingest.events_stack import wait_for
from workers.app import create_app
from workers.settings import Settings

pytestmark = pytest.mark.e2e
AUTH = ("advisor", "flower-pw-123")


def test_papeleo_flower_refuses_to_start_without_authentication(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "flower", "--port", str(free_port())],
        env=base_env(data_dir=str(tmp_path)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refusing to start without authentication" in result.stderr


@pytest.fixture
def flower(tmp_path: Path, sqlite_database: str, rabbitmq_vhost: str) -> Iterator[Stack]:
    port = free_port()
    env = base_env(
        database_url=sqlite_database,
        broker_url=rabbitmq_vhost,
        data_dir=str(tmp_path / "data"),
        worker_send_task_events="true",
        flower_basic_auth=":".join(AUTH),
    )
    stack = Stack("flower", f"http://127.0.0.1:{port}", env, tmp_path)
    stack.start(
        "flower", "flower", "--address", "127.0.0.1", "--port", str(port),
        "--broker-api", "http://guest:guest@127.0.0.1:15672/api/",
        "--db", str(tmp_path / "flower.db"),
    )  # fmt: skip
    stack.start("worker", "worker", "--queues", "maintenance", "--hostname", "flowertest@%h")
    try:
        yield stack
    except BaseException:
        print(stack.log_tail())
        raise
    finally:
        stack.stop()


def _get(url: str, **kwargs: object) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=10, **kwargs)
    except httpx.HTTPError:
        return None


def test_flower_needs_credentials_and_lists_the_tests_tasks(flower: Stack, rabbitmq_vhost: str):
    base = flower.base_url
    wait_for(lambda: (r := _get(f"{base}/healthcheck")) and r.status_code == 200, 60, "Flower")
    assert httpx.get(f"{base}/", timeout=10).status_code == 401
    assert httpx.get(f"{base}/api/tasks", timeout=10).status_code == 401
    assert httpx.get(f"{base}/api/tasks", auth=("advisor", "wrong"), timeout=10).status_code == 401
    assert httpx.get(f"{base}/", auth=AUTH, timeout=10).status_code == 200
    wait_for(
        lambda: (
            (r := _get(f"{base}/api/workers?refresh=1", auth=AUTH))
            and any(name.startswith("flowertest@") for name in r.json())
        ),
        90,
        "the worker in Flower",
    )

    celery = create_app(Settings(broker_url=rabbitmq_vhost))
    sent = [
        celery.send_task("papeleo.maintenance.sweep_queued", queue="maintenance").id
        for _ in range(2)
    ]

    def finished() -> bool:
        response = _get(f"{base}/api/tasks", auth=AUTH)
        tasks = response.json() if response is not None and response.status_code == 200 else {}
        return all(tasks.get(task_id, {}).get("state") == "SUCCESS" for task_id in sent)

    wait_for(finished, 90, "the test's tasks in Flower's API")
    tasks = httpx.get(f"{base}/api/tasks", auth=AUTH, timeout=10).json()
    assert {tasks[task_id]["name"] for task_id in sent} == {"papeleo.maintenance.sweep_queued"}
    # Advisors watch; they cannot revoke tasks or shut workers down (read-only by default).
    revoke = httpx.post(f"{base}/api/task/revoke/{sent[0]}", auth=AUTH, timeout=10)
    assert revoke.status_code == 403
