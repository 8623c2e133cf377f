"""Catching what bucket events and brokers lose (beat tasks on the `maintenance` queue).

- `reconcile_uploads`: MinIO delivers notifications at least once, with gaps (lost across a
  restart): list the objects under every recent pending upload's prefix and register any
  that has no document yet, through the same code path as the events.
- `sweep_queued`: a document whose row was committed but whose chain never reached the
  broker stays `queued` before its first step: publish its chain again.
Both are idempotent. Their beat entries carry `expires`: a run nobody picked up in time is
dropped, so runs do not pile up in the queue while the maintenance workers are down.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select

from storage.db import transaction
from storage.models import Document, DocumentEvent, DocumentStatus, Step, utcnow
from storage.uploads import PendingUpload, UploadState
from workers.app import app
from workers.documents import start_processing
from workers.runtime import Runtime, get_runtime
from workers.settings import Settings, get_settings
from workers.uploads import ObjectCreated, Outcome, register_object

log = logging.getLogger(__name__)

# An upload started just before its policy expired may still be streaming for a while.
EXPIRY_GRACE: Final = timedelta(hours=1)
SWEEP_BATCH: Final = 500
RECONCILED_EVENT: Final = "papeleo:Reconciled"


@dataclass(slots=True)
class ReconcileReport:
    checked: int = 0
    registered: list[str] = field(default_factory=list)
    expired: int = 0


@dataclass(slots=True)
class SweepReport:
    republished: list[str] = field(default_factory=list)


def reconcile_uploads(runtime: Runtime, now: datetime | None = None) -> ReconcileReport:
    """Register the objects of recent pending uploads that no event brought in."""
    now = now or utcnow()
    since = now - timedelta(hours=runtime.settings.reconcile_window_hours)
    with runtime.sessions() as session:
        pending = session.execute(
            select(PendingUpload.id, PendingUpload.key, PendingUpload.expires_at)
            .where(PendingUpload.state == UploadState.PENDING, PendingUpload.created_at >= since)
            .order_by(PendingUpload.created_at)
        ).all()
    report = ReconcileReport()
    for upload_id, key, expires_at in pending:
        report.checked += 1
        prefix = key.rsplit("/", 1)[0] + "/"
        found = [info for info in runtime.store.list(prefix) if info.key == key]
        if found:
            registration = register_object(
                runtime,
                ObjectCreated(
                    bucket=runtime.settings.s3_bucket,
                    key=key,
                    revision=found[0].etag.strip('"'),
                    event_name=RECONCILED_EVENT,
                ),
            )
            if registration.outcome == Outcome.REGISTERED:
                log.warning("upload %s had no event; registered by the reconciler", upload_id)
                report.registered.append(upload_id)
        elif expires_at + EXPIRY_GRACE < now:
            with transaction(runtime.sessions) as session:
                upload = session.get(PendingUpload, upload_id)
                if upload is not None and upload.state == UploadState.PENDING:
                    upload.state = UploadState.EXPIRED
                    report.expired += 1
    return report


def sweep_queued(runtime: Runtime, now: datetime | None = None) -> SweepReport:
    """Publish again the chains of documents queued longer than `sweep_after_seconds`
    whose first step never started (the publish after the commit was lost)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=runtime.settings.sweep_after_seconds)
    with runtime.sessions() as session:
        stuck = session.scalars(
            select(Document.id)
            .join(
                DocumentEvent,
                (DocumentEvent.document_id == Document.id)
                & (DocumentEvent.run == Document.run)
                & (DocumentEvent.step == Step.NORMALIZE),
            )
            .where(
                Document.status == DocumentStatus.QUEUED,
                DocumentEvent.started_at.is_(None),
                DocumentEvent.queued_at < cutoff,
            )
            .order_by(DocumentEvent.queued_at)
            .limit(SWEEP_BATCH)
        ).all()
    report = SweepReport()
    for document_id in stuck:
        # Publish first: if the broker is still away, nothing changes and the next run retries.
        start_processing(document_id)
        with transaction(runtime.sessions) as session:
            event = session.scalar(
                select(DocumentEvent)
                .join(Document, Document.id == DocumentEvent.document_id)
                .where(
                    DocumentEvent.document_id == document_id,
                    DocumentEvent.run == Document.run,
                    DocumentEvent.step == Step.NORMALIZE,
                )
            )
            if event is not None and event.started_at is None:
                event.queued_at = now  # the clock restarts: not re-published every run
                event.message = "published again by the sweeper"
        log.warning("document %s was stuck in queued; chain published again", document_id)
        report.republished.append(document_id)
    return report


@app.task(name="papeleo.maintenance.reconcile_uploads", ignore_result=True)
def reconcile_uploads_task() -> dict[str, object]:
    """Beat: register uploaded objects whose bucket event was lost."""
    return asdict(reconcile_uploads(get_runtime()))


@app.task(name="papeleo.maintenance.sweep_queued", ignore_result=True)
def sweep_queued_task() -> dict[str, object]:
    """Beat: publish again the chains of documents stuck before their first step."""
    return asdict(sweep_queued(get_runtime()))


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Beat entries: the upload reconciler and the queued-document sweeper."""
    entries = {
        "papeleo.maintenance.reconcile_uploads": settings.reconcile_interval_seconds,
        "papeleo.maintenance.sweep_queued": settings.sweep_interval_seconds,
    }
    return {
        task: {
            "task": task,
            "schedule": float(interval),
            # A run older than 90 % of the interval is stale: the next one is about to come.
            "options": {"queue": "maintenance", "expires": max(1.0, interval * 0.9)},
        }
        for task, interval in entries.items()
    }


def _schedule(settings: Settings) -> None:
    for name, entry in beat_schedule(settings).items():
        app.add_periodic_task(
            entry["schedule"], app.signature(entry["task"]), name=name, **entry["options"]
        )


_schedule(get_settings())
