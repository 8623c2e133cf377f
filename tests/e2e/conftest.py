"""Real stacks for end-to-end tests: the API and a Celery worker as separate processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL, free_port

ROOT = Path(__file__).parents[2]


@dataclass
class Stack:
    name: str
    base_url: str
    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def papeleo(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ingest.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def start(self, label: str, *args: str) -> subprocess.Popen:
        log = (self.logs / f"{label}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "ingest.cli", *args],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def start_api(self) -> subprocess.Popen:
        port = self.base_url.rsplit(":", 1)[1]
        return self.start("api", "api", "--host", "127.0.0.1", "--port", port)

    def wait_until_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{self.name}: a process exited early\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name}: API not ready in {timeout}s\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        out = []
        for log in sorted(self.logs.glob("*.log")):
            out.append(f"--- {log.name}")
            out += log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(out)

    def children(self) -> list[int]:
        pids: list[int] = []
        for process in self.processes:
            path = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            if path.exists():
                pids += [int(pid) for pid in path.read_text().split()]
        return pids

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def base_env(**papeleo: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPELEO_")}
    env["OMP_THREAD_LIMIT"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update({f"PAPELEO_{k.upper()}": v for k, v in papeleo.items()})
    return env


def server_stack(
    name: str, tmp: Path, database: str, broker: str, s3: str, **settings: str
) -> Stack:
    """A production-shaped stack (PostgreSQL, a broker, S3 in a bucket of its own) that has
    started nothing yet; ``settings`` are extra PAPELEO_* values."""
    from storage.objects import MinioStore

    bucket = f"papeleo-{uuid.uuid4().hex[:8]}"
    MinioStore.from_endpoint(s3, "testing", "testing", bucket).ensure_ready()
    port = free_port()
    env = base_env(
        database_url=database,
        broker_url=broker,
        storage="minio",
        s3_endpoint=s3,
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_bucket=bucket,
        public_url=f"http://127.0.0.1:{port}",
        data_dir=str(tmp / "data"),
        demo="false",
        **settings,
    )
    return Stack(name, f"http://127.0.0.1:{port}", env, tmp)


def _server_stack(name: str, tmp: Path, database: str, broker: str, s3: str) -> Stack:
    stack = server_stack(name, tmp, database, broker, s3)
    stack.start_api()
    stack.start(
        "worker", "worker", "--concurrency", "2", "--hostname", f"{name}@%h", "--loglevel", "INFO"
    )
    return stack


@pytest.fixture(params=["postgres-rabbitmq-s3", "postgres-redis-s3", "embedded"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    """Papeleo running for real, in each deployment shape."""
    if request.param == "embedded":
        port = free_port()
        env = base_env(data_dir=str(tmp_path / "data"), public_url=f"http://127.0.0.1:{port}")
        running = Stack("embedded", f"http://127.0.0.1:{port}", env, tmp_path)
        running.start("up", "up", "--host", "127.0.0.1", "--port", str(port), "--concurrency", "2")
    else:
        database = request.getfixturevalue("postgres_database")
        s3 = request.getfixturevalue("s3_endpoint")
        if request.param == "postgres-rabbitmq-s3":
            broker = request.getfixturevalue("rabbitmq_vhost")
        else:
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()
            broker = REDIS_URL
        running = _server_stack(request.param, tmp_path, database, broker, s3)
    try:
        running.wait_until_healthy()
        yield running
    except BaseException:
        print(running.log_tail())
        raise
    finally:
        children = running.children()
        running.stop()
    if request.param == "embedded":
        # `papeleo up` must take its worker down with it.
        assert children, "papeleo up started no worker"
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() for pid in children):
            assert time.monotonic() < deadline, f"worker processes {children} outlived papeleo up"
            time.sleep(0.2)
