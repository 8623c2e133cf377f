"""The Celery application, configured from the one settings object."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from workers import signals as _task_table  # noqa: F401 - connects the task-table signals
from workers.queues import kombu_queues, task_routes
from workers.settings import Settings, get_settings


def celery_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend,
        # State lives in our own tables; results are only needed by chords (payslips).
        "task_ignore_result": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit or None,  # 0: hard limit only
        "task_time_limit": settings.task_time_limit,
        "worker_max_tasks_per_child": settings.worker_max_tasks_per_child,
        "worker_max_memory_per_child": settings.worker_max_memory_per_child,
        "task_queues": kombu_queues(),
        "task_routes": task_routes(),
        "task_default_queue": "maintenance",
        "task_create_missing_queues": False,
        "task_track_started": False,
        # Task events for Flower (workers/settings: worker_send_task_events).
        "worker_send_task_events": settings.worker_send_task_events,
        "task_send_sent_event": settings.worker_send_task_events,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "timezone": "Europe/Madrid",
        "enable_utc": True,
    }
    if settings.broker_url.startswith("filesystem://"):
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        config["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            "control_folder": str(folder / "control"),
            "polling_interval": 0.1,  # the default 1 s per hop adds seconds to a five-step chain
        }
    return config


def create_app(settings: Settings | None = None) -> Celery:
    celery = Celery(
        "papeleo",
        include=[
            "workers.documents",
            "workers.extraction",
            "workers.ocr_pages",
            "workers.notifications",
            "workers.maintenance",
            "workers.payslips",
        ],
    )
    celery.conf.update(celery_config(settings or get_settings()))
    return celery


app = create_app()


@worker_process_init.connect
def _fresh_connections_after_fork(**_: Any) -> None:
    # A forked child must not share the parent's database connections.
    from workers.runtime import reset_runtime

    reset_runtime()
