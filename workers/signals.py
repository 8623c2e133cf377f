"""Feeds the task table (``storage.tasks``) from Celery signals.

published (in the publishing process), started, succeeded with queue wait and duration,
retried, failed with error type and message, revoked. Arguments are never recorded: only the
document id a task works on. A failure to record never fails or delays the task itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

from celery import signals, states
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.storable import storable
from storage.db import transaction
from storage.models import Document, DocumentEvent, StepStatus, utcnow
from storage.tasks import (
    TaskStatus,
    record_finished,
    record_published,
    record_retried,
    record_started,
)
from workers.runtime import get_runtime

log = logging.getLogger(__name__)

PUBLISHED_AT_HEADER: Final = "papeleo_published_at"
# Set to the task's own id when its publication row was written in the publisher's transaction.
RECORDED_HEADER: Final = "papeleo_recorded"
_OURS: Final = "papeleo."  # Celery's own tasks (chord_unlock…) are not recorded
_DOCUMENT_ID = re.compile(r"^[0-9a-f]{32}$")


@contextmanager
def _recording(what: str) -> Iterator[Session]:
    try:
        with transaction(get_runtime().sessions) as session:
            yield session
    except Exception:  # the table is for people; the task must go on without it
        log.warning("could not record %s in the task table", what, exc_info=True)


def _document_id(session: Session, args: Any) -> str | None:
    """The first argument when it is the id of an existing document (ids only, no payloads)."""
    first = args[0] if isinstance(args, list | tuple) and args else None
    if not isinstance(first, str) or not _DOCUMENT_ID.match(first):
        return None
    return session.scalar(select(Document.id).where(Document.id == first))


@signals.before_task_publish.connect
def _published(
    sender: str | None = None,
    body: Any = None,
    headers: dict[str, Any] | None = None,
    routing_key: str | None = None,
    **_: Any,
) -> None:
    if headers is None or not str(sender or "").startswith(_OURS):
        return
    now = utcnow()
    headers[PUBLISHED_AT_HEADER] = now.isoformat()  # the worker measures queue wait from it
    if headers.get(RECORDED_HEADER) == headers["id"]:
        return
    args = body[0] if isinstance(body, list | tuple) and body else ()
    with _recording("a publication") as session:
        record_published(
            session,
            headers["id"],
            str(sender),
            queue=routing_key,
            document_id=_document_id(session, args),
            at=now,
        )


@signals.task_prerun.connect
def _started(task_id: str, task: Any, args: Any = (), **_: Any) -> None:
    if not task.name.startswith(_OURS):
        return
    raw = task.request.get(PUBLISHED_AT_HEADER)
    published_at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    with _recording("a start") as session:
        record_started(
            session,
            task_id,
            task.name,
            worker=task.request.hostname,
            document_id=_document_id(session, args),
            published_at=published_at,
        )


@signals.task_success.connect
def _succeeded(sender: Any = None, **_: Any) -> None:
    if sender is None or not sender.name.startswith(_OURS):
        return
    with _recording("a success") as session:
        record_finished(session, sender.request.id, sender.name, TaskStatus.SUCCEEDED)


@signals.task_retry.connect
def _retried(sender: Any = None, request: Any = None, reason: Any = None, **_: Any) -> None:
    if sender is None or request is None or not sender.name.startswith(_OURS):
        return
    with _recording("a retry") as session:
        record_retried(
            session,
            request.id,
            sender.name,
            error_type=_error_type(reason),
            error_message=storable(str(reason)),
        )


@signals.task_failure.connect
def _failed(
    sender: Any = None, task_id: str | None = None, exception: BaseException | None = None, **_: Any
) -> None:
    if sender is None or task_id is None or not sender.name.startswith(_OURS):
        return
    with _recording("a failure") as session:
        record_finished(
            session,
            task_id,
            sender.name,
            TaskStatus.FAILED,
            error_type=type(exception).__name__ if exception else None,
            error_message=storable(str(exception)) if exception else None,
        )


@signals.task_revoked.connect
def _revoked(sender: Any = None, request: Any = None, expired: bool = False, **_: Any) -> None:
    name = getattr(sender, "name", None) or getattr(request, "task_name", None) or ""
    if request is None or not name.startswith(_OURS):
        return
    with _recording("a revocation") as session:
        record_finished(
            session,
            request.id,
            name,
            TaskStatus.REVOKED,
            error_type="expired" if expired else "revoked",
        )


@signals.task_postrun.connect
def _postrun(task_id: str, task: Any, args: Any = (), state: str | None = None, **_: Any) -> None:
    # A document step that ends the document in `failed` raises Ignore (the chain is diverted);
    # for the people reading the table that task failed, with the document's error code.
    if state != states.IGNORED or not task.name.startswith(_OURS):
        return
    with _recording("an ignored task") as session:
        document_id = _document_id(session, args)
        failed = _failed_step(session, document_id, task) if document_id else None
        if failed is None:
            record_finished(session, task_id, task.name, TaskStatus.IGNORED)
        else:
            record_finished(
                session,
                task_id,
                task.name,
                TaskStatus.FAILED,
                error_type=failed.error_code,
                error_message=failed.message,
            )


def _failed_step(session: Session, document_id: str, task: Any) -> DocumentEvent | None:
    step = getattr(task, "step", None)
    if step is None:
        return None
    document = session.get_one(Document, document_id)
    return session.scalar(
        select(DocumentEvent).where(
            DocumentEvent.document_id == document_id,
            DocumentEvent.run == document.run,
            DocumentEvent.step == str(step),
            DocumentEvent.status == StepStatus.FAILED,
        )
    )


def _error_type(reason: Any) -> str:
    # Retry.exc is the original exception when Celery's autoretry raised the Retry.
    original: Callable[..., Any] | None = getattr(reason, "exc", None)
    return type(original or reason).__name__
