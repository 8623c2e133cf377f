"""`papeleo api --workers N`: every worker gets connections, a dead one is replaced, SIGTERM
stops them all. Real processes and sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.conftest import ROOT, base_env

WORKERS = 2


def api_command(port: int) -> list[str]:
    listen = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)]
    return [sys.executable, "-m", "ingest.cli", "api", *listen]


def workers_of(pid: int) -> set[int]:
    """The API worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = set()
    for child in children.read_text().split() if children.exists() else []:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in command:
            found.add(int(child))
    return found


ESTABLISHED, LISTEN = "01", "0A"  # TCP states as /proc/net/tcp writes them


def sockets_on(pid: int, port: int, state: str = ESTABLISHED) -> int:
    """How many TCP sockets on local ``port`` in ``state`` process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == state and fields[9] in inodes:
            count += 1
    return count


def listening_workers(pid: int, port: int) -> set[int] | None:
    """The API's workers once all of them listen on ``port``."""
    workers = workers_of(pid)
    if len(workers) == WORKERS and all(sockets_on(w, port, LISTEN) for w in workers):
        return workers
    return None


def wait_for(condition, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    raise AssertionError(f"not true within {timeout} s")


def healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    port = free_port()
    env = base_env(data_dir=str(tmp_path / "data"), demo="false")
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen(
        api_command(port),
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Each worker listens once its app has started; until then the others take everything.
        wait_for(lambda: listening_workers(process.pid, port), timeout=60)
        assert healthy(f"http://127.0.0.1:{port}")
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_every_worker_takes_connections_and_a_dead_one_is_replaced(api) -> None:  # type: ignore[no-untyped-def]
    process, port = api
    base_url = f"http://127.0.0.1:{port}"
    workers = workers_of(process.pid)
    # A burst of keep-alive connections, as a proxy or the bench opens its pool: on one shared
    # socket most went to one worker; on a socket each the kernel spreads them.
    connections = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(32)]
    try:
        for connection in connections:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: papeleo\r\n\r\n")
        for connection in connections:
            assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        held = {pid: sockets_on(pid, port) for pid in workers}
        assert sum(held.values()) == 32
        assert min(held.values()) >= 4, held  # below 4 of 32 by chance: about 1 in 10^6
    finally:
        for connection in connections:
            connection.close()

    killed = min(workers)
    os.kill(killed, signal.SIGKILL)
    # New connections never reach the dead worker's socket: it closed with the process.
    for _ in range(40):
        assert httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200
    replaced = wait_for(lambda: (now := workers_of(process.pid)) - workers and now, timeout=20)
    assert killed not in replaced
    assert len(replaced) == WORKERS

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0
    for pid in replaced:
        assert not Path(f"/proc/{pid}").exists()  # stopped and reaped


def test_a_port_already_taken_fails_at_once(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            api_command(port),
            env=base_env(data_dir=str(tmp_path / "data"), demo="false"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
