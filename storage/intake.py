"""The rows of a document just received: written with plain inserts, as uploads are the hot path.

An upload adds three rows (the document, its first history line, its first task) and nothing
reads them back in that transaction, so the ORM's unit of work would only add cost. The
document's own insert looks up the earlier copy of its bytes. On PostgreSQL the three rows go
in one statement (data-modifying CTEs); SQLite has none, so there they are three.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Final

from sqlalchemy import Select, bindparam, case, insert, literal, select
from sqlalchemy.orm import Session

from storage.duplicates import DUPLICATE_NOTE, duplicate_note, earliest_copy
from storage.models import Document, DocumentEvent, DocumentStatus, Source, Step, StepStatus
from storage.tasks import TaskRun, TaskStatus, add_published


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDocument:
    """What is known of a stored upload before the pipeline sees it."""

    id: str
    company_id: int
    fiscal_year: int
    original_name: str
    display_name: str
    sha256: str
    size: int
    original_key: str
    source: str = Source.API
    uploaded_by: int | None = None
    activity_id: int | None = None
    category: str | None = None
    content_type: str | None = None
    folder: str | None = None


@dataclass(frozen=True, slots=True)
class FirstTask:
    """The chain's first task: recorded as published with the document, unless a duplicate."""

    task_id: str
    name: str
    queue: str


_FIELDS: Final = tuple(field.name for field in fields(NewDocument))
_ORIGINAL: Final = earliest_copy(bindparam("of_company_id"), bindparam("of_sha256"))
# Every column, defaults included: a CTE's insert gets none of the model's Python defaults.
_DOCUMENT_VALUES: Final = {name: bindparam(name) for name in _FIELDS} | {
    "run": 1,
    "needs_review": False,
    "ocr_pages": [],
    "fields": {},
    "created_at": bindparam("at"),
    "updated_at": bindparam("at"),
    "duplicate_of": _ORIGINAL,
    "status": case((_ORIGINAL.is_(None), DocumentStatus.QUEUED), else_=DocumentStatus.DUPLICATE),
}
_DOCUMENT: Final = insert(Document.__table__).values(_DOCUMENT_VALUES)
_INSERT_DOCUMENT: Final = _DOCUMENT.returning(Document.duplicate_of)


def _insert_all() -> Select[tuple[str | None]]:
    """The PostgreSQL statement: the document, its history line and its first task."""
    document = _DOCUMENT.returning(Document.id, Document.duplicate_of).cte("document")
    duplicate = document.c.duplicate_of.is_not(None)
    line = insert(DocumentEvent.__table__).from_select(
        ["document_id", "run", "step", "queued_at", "status", "finished_at", "message", "attempts"],
        select(
            document.c.id,
            literal(1),
            literal(Step.NORMALIZE.value),
            bindparam("at"),
            case((duplicate, StepStatus.SKIPPED.value), else_=StepStatus.QUEUED.value),
            case((duplicate, bindparam("at"))),
            case((duplicate, literal(DUPLICATE_NOTE) + document.c.duplicate_of)),
            literal(0),
        ),
    )
    task = insert(TaskRun.__table__).from_select(
        ["task_id", "name", "queue", "document_id", "status", "published_at", "retries"],
        select(
            bindparam("task_id"),
            bindparam("task_name"),
            bindparam("task_queue"),
            document.c.id,
            literal(TaskStatus.PUBLISHED.value),
            bindparam("at"),
            literal(0),
        ).where(document.c.duplicate_of.is_(None)),
    )
    return select(document.c.duplicate_of).add_cte(line.cte("line"), task.cte("task"))


_INSERT_ALL: Final = _insert_all()


def insert_document(
    session: Session, new: NewDocument, *, at: datetime, first_task: FirstTask
) -> str | None:
    """Insert ``new``: ``queued`` with its first task published, or a skipped ``duplicate``
    of the company's earliest live copy of the same bytes, whose id it returns."""
    params = {name: getattr(new, name) for name in _FIELDS} | {
        "at": at,
        "of_company_id": new.company_id,
        "of_sha256": new.sha256,
    }
    if session.get_bind().dialect.name == "postgresql":
        task = {
            "task_id": first_task.task_id,
            "task_name": first_task.name,
            "task_queue": first_task.queue,
        }
        return session.execute(_INSERT_ALL, params | task).scalar_one()
    duplicate_of: str | None = session.execute(_INSERT_DOCUMENT, params).scalar_one()
    line = {"document_id": new.id, "run": 1, "step": Step.NORMALIZE, "queued_at": at}
    if duplicate_of:
        line |= {
            "status": StepStatus.SKIPPED,
            "finished_at": at,
            "message": duplicate_note(duplicate_of),
        }
    else:
        line |= {"status": StepStatus.QUEUED}
    session.execute(insert(DocumentEvent.__table__), line)
    if not duplicate_of:
        add_published(
            session,
            first_task.task_id,
            first_task.name,
            queue=first_task.queue,
            document_id=new.id,
            at=at,
        )
    return duplicate_of
