"""Writes to a document's history: one row per (document, run, step)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import Document, DocumentEvent, Notification, utcnow


def step_event(session: Session, document: Document, step: str) -> DocumentEvent:
    """The history row of ``step`` in the document's current run, created when missing."""
    event = session.scalar(
        select(DocumentEvent).where(
            DocumentEvent.document_id == document.id,
            DocumentEvent.run == document.run,
            DocumentEvent.step == step,
        )
    )
    if event is None:
        event = DocumentEvent(document_id=document.id, run=document.run, step=step, status="queued")
        session.add(event)
        session.flush()
    return event


def mark_queued(
    session: Session, document: Document, step: str, at: datetime | None = None
) -> None:
    event = step_event(session, document, step)
    if event.started_at is None:
        event.status = "queued"
        event.queued_at = event.queued_at or at or utcnow()


def mark_started(session: Session, event: DocumentEvent, worker: str | None) -> None:
    now = utcnow()
    event.status = "started"
    event.started_at = now
    event.finished_at = None
    event.worker = worker
    event.attempts += 1
    if event.queued_at is not None:
        event.queue_wait_ms = _ms(now - event.queued_at)


def mark_finished(
    session: Session,
    event: DocumentEvent,
    status: str,
    *,
    message: str | None = None,
    error_code: str | None = None,
) -> None:
    now = utcnow()
    event.status = status
    event.finished_at = now
    event.message = message
    event.error_code = error_code
    if event.started_at is not None:
        event.duration_ms = _ms(now - event.started_at)


def add_notification_once(session: Session, **values: Any) -> bool:
    """Insert a notification unless the same (user, document, run, kind) exists; True if new."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values.setdefault("created_at", utcnow())
    statement = (
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "document_id", "run", "kind"])
    )
    return bool(session.execute(statement).rowcount)


def _ms(delta: Any) -> int:
    return max(0, int(delta.total_seconds() * 1000))
