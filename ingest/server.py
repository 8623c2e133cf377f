"""Serving the API: uvicorn worker processes, each listening on a socket of its own.

uvicorn's own workers share one listening socket, and a burst of new connections (a proxy or
a portal opening its keep-alive pool) goes to whichever worker wakes first: 15 of 16 to one
process was seen here, leaving it saturated and the other idle for as long as the
connections live. With SO_REUSEPORT each worker opens its own socket and the kernel spreads
new connections over them by address; a worker that dies takes its socket with it, so no
connection waits on a socket nobody serves. The supervisor below only starts the workers,
replaces one that dies, and stops them all on SIGTERM or SIGINT.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import threading
from multiprocessing.process import BaseProcess

import uvicorn
from uvicorn.config import STARTUP_FAILURE

APP = "ingest.api:create_api"
log = logging.getLogger("uvicorn.error")


def serve(host: str, port: int, workers: int) -> None:
    """Run the API on ``host``:``port`` with ``workers`` processes, until a signal."""
    if workers == 1 or port == 0 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, proxy_headers=True)
        return
    _listening_socket(host, port).close()  # a port already taken fails here, once
    sys.exit(_supervise(host, port, workers))


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        print(f"papeleo api: cannot listen on {host}:{port}: {error}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    return sock


def _worker(host: str, port: int) -> None:
    """One API process: its own socket, uvicorn's server (which handles SIGTERM gracefully)."""
    config = uvicorn.Config(APP, factory=True, proxy_headers=True)
    server = uvicorn.Server(config)
    server.run(sockets=[_listening_socket(host, port)])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _supervise(host: str, port: int, workers: int) -> int:
    """Keep ``workers`` processes running until a signal; the exit code for the command."""
    uvicorn.Config(APP)  # sets up uvicorn's log handlers in this process too
    spawn = multiprocessing.get_context("spawn")  # no fork of this process's state
    stopping = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopping.set())

    def start() -> BaseProcess:
        process = spawn.Process(target=_worker, args=(host, port), name="papeleo-api")
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    log.info("Papeleo API on http://%s:%d: %d workers, a socket each", host, port, workers)
    code = 0
    while not stopping.wait(0.5):
        for index, process in enumerate(processes):
            if process.is_alive():
                continue
            if process.exitcode == STARTUP_FAILURE:  # it would fail again: stop
                log.error("API worker %s could not start; stopping", process.pid)
                code = STARTUP_FAILURE
                stopping.set()
                break
            log.warning("API worker %s exited (%s); starting one", process.pid, process.exitcode)
            processes[index] = start()
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
    return code
