"""The task table for advisors: what ran, waited, failed and why; retrying failed documents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from ingest.auth import sees_company
from ingest.deps import NOT_FOUND, RuntimeDep, SessionDep, UserDep
from ingest.schemas import DocumentOut
from storage.audit import AuditAction, audit
from storage.models import Company, Document, DocumentStatus, Role, User
from storage.tasks import TaskRun, TaskStatus
from workers.retry import NotRetryable, retry_document

router = APIRouter()


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: str
    name: str
    queue: str | None
    status: str
    document_id: str | None
    company_id: int
    document_name: str
    published_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    queue_wait_ms: int | None
    duration_ms: int | None
    worker: str | None
    retries: int
    error_type: str | None
    error_message: str | None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: int | None


def _advisors_tasks(user: User):  # noqa: ANN202 - a Select of (TaskRun, Document)
    if user.role != Role.ADVISOR:
        raise NOT_FOUND  # the task table is the advisory's working view
    return (
        select(TaskRun, Document)
        .join(Document, Document.id == TaskRun.document_id)
        .join(Company, Company.id == Document.company_id)
        .where(Company.advisory_id == user.advisory_id)
    )


@router.get("/v1/tasks", tags=["tasks"])
def tasks(
    user: UserDep,
    session: SessionDep,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    company: int | None = None,
    document: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[int | None, Query(description="next_cursor of the previous page")] = None,
) -> TaskPage:
    """Advisors: the advisory's tasks, newest first (``status=failed&company=…``)."""
    query = _advisors_tasks(user)
    if company is not None:
        if not sees_company(session, user, company):
            raise NOT_FOUND
        query = query.where(Document.company_id == company)
    if status_ is not None:
        query = query.where(TaskRun.status == status_)
    if document is not None:
        query = query.where(TaskRun.document_id == document)
    if cursor is not None:
        query = query.where(TaskRun.id < cursor)
    rows = session.execute(query.order_by(TaskRun.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return TaskPage(
        items=[_task_out(run, doc) for run, doc in page],
        next_cursor=page[-1][0].id if len(rows) > limit else None,
    )


@router.post("/v1/tasks/{task_id}/retry", status_code=status.HTTP_202_ACCEPTED, tags=["tasks"])
def retry(task_id: str, user: UserDep, session: SessionDep, rt: RuntimeDep) -> DocumentOut:
    """Advisors: run a failed task's document through the whole chain again (a new run).

    The same retry as ``POST /v1/documents/{id}/retry`` (``workers.retry``), from the task list.
    """
    row = session.execute(_advisors_tasks(user).where(TaskRun.task_id == task_id)).first()
    if row is None:
        raise NOT_FOUND
    document = row[1]
    if document.status != DocumentStatus.FAILED:
        raise HTTPException(status.HTTP_409_CONFLICT, "Only a failed document can be retried")
    before = {"run": document.run, "error_code": document.error_code}
    audit(session, document.id, user.id, AuditAction.RETRY, before, {"run": document.run + 1})
    try:
        retry_document(rt, session, document)  # commits, then publishes the chain
    except NotRetryable:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "Only a failed document can be retried"
        ) from None
    session.refresh(document)
    return DocumentOut.of(document)


def _task_out(run: TaskRun, document: Document) -> TaskOut:
    return TaskOut(
        id=run.id,
        task_id=run.task_id,
        name=run.name,
        queue=run.queue,
        status=run.status,
        document_id=run.document_id,
        company_id=document.company_id,
        document_name=document.display_name,
        published_at=run.published_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        queue_wait_ms=run.queue_wait_ms,
        duration_ms=run.duration_ms,
        worker=run.worker,
        retries=run.retries,
        error_type=run.error_type,
        error_message=run.error_message,
    )
