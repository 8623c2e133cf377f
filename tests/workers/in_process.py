"""The worker runtime inside the test process: settings installed, the store ready, Celery eager."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from workers.app import app as celery_app
from workers.app import celery_config
from workers.runtime import get_runtime, reset_runtime
from workers.settings import Settings, install_settings


@contextmanager
def worker_runtime(settings: Settings, *, eager: bool = True) -> Iterator[None]:
    """Run tasks on ``settings`` in this process: eagerly, or with ``eager=False`` only
    published to ``settings``' broker (where publishing itself is under test)."""
    install_settings(settings)
    reset_runtime()
    celery_app.conf.update(celery_config(settings), task_always_eager=eager)
    get_runtime().store.ensure_ready()
    try:
        yield
    finally:
        celery_app.conf.update(task_always_eager=False)
        install_settings(None)
        reset_runtime()
