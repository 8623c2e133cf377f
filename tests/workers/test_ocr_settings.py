"""Worker recycling and time limits come from the one settings object."""

from __future__ import annotations

from workers.app import app, celery_config
from workers.queues import TASK_QUEUES
from workers.settings import Settings


def test_recycling_and_time_limits_are_wired_from_settings() -> None:
    settings = Settings(
        worker_max_tasks_per_child=7, worker_max_memory_per_child=512_000,
        task_soft_time_limit=100, task_time_limit=130, broker_url="memory://",
    )
    config = celery_config(settings)
    assert config["worker_max_tasks_per_child"] == 7
    assert config["worker_max_memory_per_child"] == 512_000
    assert (config["task_soft_time_limit"], config["task_time_limit"]) == (100, 130)


def test_the_page_task_is_registered_on_the_ocr_queue() -> None:
    app.loader.import_default_modules()
    assert "papeleo.ocr.page" in app.tasks
    assert TASK_QUEUES["papeleo.ocr.page"] == "ocr"
