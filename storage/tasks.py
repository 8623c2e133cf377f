"""The task table: one row per Celery task, fed by Celery signals (``workers/signals.py``).

Advisors read it (``GET /v1/tasks``); operators use Flower. Arguments are never stored,
only the document id a document task works on.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, utcnow


class TaskStatus(StrEnum):
    PUBLISHED = "published"
    STARTED = "started"
    SUCCEEDED = "succeeded"
    RETRIED = "retried"
    FAILED = "failed"
    REVOKED = "revoked"
    IGNORED = "ignored"  # the task chose not to run (the document was already failed or gone)


class TaskRun(Base):
    __tablename__ = "task_runs"
    __table_args__ = (
        Index("ix_task_runs_status_published", "status", "published_at"),
        Index("ix_task_runs_document", "document_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), unique=True)  # Celery's id
    name: Mapped[str] = mapped_column(String(200))
    queue: Mapped[str | None] = mapped_column(String(50))
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    published_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    queue_wait_ms: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(200))
    retries: Mapped[int] = mapped_column(Integer, default=0)
    error_type: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)


def task_run(session: Session, task_id: str, name: str) -> TaskRun:
    """The row of ``task_id``, created when missing (signals may arrive in any order)."""
    row = session.scalar(select(TaskRun).where(TaskRun.task_id == task_id))
    if row is None:
        row = TaskRun(task_id=task_id, name=name, status=TaskStatus.PUBLISHED, retries=0)
        session.add(row)
    return row


def record_published(
    session: Session,
    task_id: str,
    name: str,
    *,
    queue: str | None,
    document_id: str | None,
    at: datetime | None = None,
) -> None:
    row = task_run(session, task_id, name)
    row.queue = queue or row.queue
    row.document_id = document_id or row.document_id
    row.published_at = row.published_at or at or utcnow()


def add_published(
    session: Session,
    task_id: str,
    name: str,
    *,
    queue: str,
    document_id: str | None,
    at: datetime,
) -> None:
    """The row of a task about to be published for the first time (a new id: no lookup)."""
    session.execute(
        insert(TaskRun.__table__),
        {
            "task_id": task_id,
            "name": name,
            "queue": queue,
            "document_id": document_id,
            "status": TaskStatus.PUBLISHED,
            "published_at": at,
            "retries": 0,
        },
    )


def record_started(
    session: Session,
    task_id: str,
    name: str,
    *,
    worker: str | None,
    document_id: str | None,
    published_at: datetime | None,
) -> None:
    """Started now; the queue wait runs from publication (header or publish row)."""
    now = utcnow()
    row = task_run(session, task_id, name)
    row.status = TaskStatus.STARTED
    row.started_at = now
    row.finished_at = None
    row.worker = worker
    row.document_id = document_id or row.document_id
    row.published_at = row.published_at or published_at
    if row.published_at is not None:
        row.queue_wait_ms = _ms(now - row.published_at)


def record_finished(
    session: Session,
    task_id: str,
    name: str,
    status: TaskStatus,
    *,
    error_type: str | None = None,
    error_message: str | None = None,
) -> None:
    """Succeeded, failed, ignored or revoked now, with the duration since it started."""
    now = utcnow()
    row = task_run(session, task_id, name)
    row.status = status
    row.finished_at = now
    row.error_type = error_type
    row.error_message = error_message[:4000] if error_message else None
    if row.started_at is not None:
        row.duration_ms = _ms(now - row.started_at)


def record_retried(
    session: Session, task_id: str, name: str, *, error_type: str, error_message: str
) -> None:
    row = task_run(session, task_id, name)
    row.status = TaskStatus.RETRIED
    row.retries = (row.retries or 0) + 1
    row.error_type = error_type
    row.error_message = error_message[:4000]
    if row.started_at is not None:
        row.duration_ms = _ms(utcnow() - row.started_at)


def _ms(delta: object) -> int:
    return max(0, int(delta.total_seconds() * 1000))  # type: ignore[attr-defined]
