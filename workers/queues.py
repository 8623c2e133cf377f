"""Every queue, declared once, and the routing of every task to one of them.

Queues are grouped by latency class: interactive steps never wait behind OCR.
"""

from __future__ import annotations

from typing import Final

from kombu import Queue

# name -> what runs there (the latency class decides which worker consumes it)
QUEUES: Final[dict[str, str]] = {
    "normalize": "type detection and PDF normalization (light, CPU-bound, seconds)",
    "ocr": "tesseract OCR of pages without text (heavy, one process per core)",
    "classify": "categorization and field extraction (light)",
    "index": "full-text indexing into the document history (light, database)",
    "notify": "in-app, e-mail and webhook notifications (light, network)",
    "payslips": "payslip rendering and merging (CPU, batchy)",
    "maintenance": "sweepers, reconcilers and scheduled jobs",
}
QUEUE_NAMES: Final[tuple[str, ...]] = tuple(QUEUES)

# task name -> queue; a test fails if a task is missing here or names an undeclared queue.
TASK_QUEUES: Final[dict[str, str]] = {
    "papeleo.documents.normalize": "normalize",
    "papeleo.documents.ocr": "ocr",
    "papeleo.documents.classify": "classify",
    "papeleo.documents.index": "index",
    "papeleo.documents.notify": "notify",
    "papeleo.corrections.retrain": "maintenance",
    "papeleo.ocr.page": "ocr",
    "papeleo.notifications.deliver_email": "notify",
    "papeleo.notifications.deliver_webhook": "notify",
    "papeleo.notifications.payslips_ready": "notify",
    "papeleo.notifications.daily_digest": "notify",
    "papeleo.notifications.sweep": "maintenance",
    "papeleo.maintenance.reconcile_uploads": "maintenance",
    "papeleo.maintenance.sweep_queued": "maintenance",
    "papeleo.payslips.render_chunk": "payslips",
    "papeleo.payslips.merge_bundle": "payslips",
    "papeleo.payslips.month_end": "payslips",
}


def kombu_queues() -> list[Queue]:
    return [Queue(name, routing_key=name) for name in QUEUE_NAMES]


def task_routes() -> dict[str, dict[str, str]]:
    return {task: {"queue": queue, "routing_key": queue} for task, queue in TASK_QUEUES.items()}
