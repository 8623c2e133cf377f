"""Uploading documents, the document history, downloads."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Response, UploadFile, status
from fastapi.responses import RedirectResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ingest.auth import can_read_documents, visible_companies
from ingest.deps import (
    NOT_FOUND,
    BearerDep,
    RuntimeDep,
    SessionDep,
    UserDep,
    readable_company,
    readable_document,
    reader_of_company,
)
from ingest.history import HistoryQuery, history_page
from ingest.schemas import (
    DocumentOut,
    DocumentPage,
    DocumentSummary,
    UploadedDocument,
    UploadResponse,
)
from ingest.uploads import clean_name, display_name_for, store_upload
from storage.audit import AuditAction, DocumentAudit, audit
from storage.intake import NewDocument
from storage.models import (
    Activity,
    Company,
    Document,
    DocumentStatus,
    Role,
    Source,
    User,
    utcnow,
)
from storage.objects import FilesystemStore, ObjectNotFound, content_disposition
from storage.search import index_document
from workers.documents import CATEGORIES
from workers.intake import Registered, publish, register_document
from workers.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter()


@router.post(
    "/v1/companies/{company_id}/documents", status_code=status.HTTP_202_ACCEPTED, tags=["documents"]
)
async def upload(
    company_id: int,
    rt: RuntimeDep,
    credentials: BearerDep,
    files: Annotated[list[UploadFile], File(description="one or several files")],
    activity_id: Annotated[int | None, Form()] = None,
    fiscal_year: Annotated[int | None, Form(ge=1990, le=2999)] = None,
    category: Annotated[str | None, Form(description="the folder chosen")] = None,
    name: Annotated[str | None, Form(max_length=200, description="rename on send")] = None,
    source: Annotated[Source, Form()] = Source.API,
    folder: Annotated[
        str | None,
        Form(max_length=100, description="advisors: a folder shared with the client"),
    ] = None,
) -> UploadResponse:
    """Upload documents; each is stored, then processed in the background.

    A file the company already sent (same sha256) is kept as ``duplicate`` of the original
    and not processed again. Advisors may upload into a ``folder`` shared with the client.
    """
    # The busiest route: one hop to the thread pool for all of it (caller, files, rows,
    # publication) instead of one per dependency.
    form = _UploadForm(activity_id, fiscal_year, category, name, source, folder)
    return await run_in_threadpool(_accept_upload, rt, credentials, company_id, files, form)


@dataclass(frozen=True, slots=True)
class _UploadForm:
    activity_id: int | None
    fiscal_year: int | None
    category: str | None
    name: str | None
    source: Source
    folder: str | None


def _accept_upload(
    rt: Runtime,
    credentials: HTTPAuthorizationCredentials | None,
    company_id: int,
    files: list[UploadFile],
    form: _UploadForm,
) -> UploadResponse:
    with rt.sessions() as session:
        user = reader_of_company(session, credentials, company_id)
        folder = form.folder.strip() if form.folder and form.folder.strip() else None
        if folder is not None and user.role != Role.ADVISOR:
            raise HTTPException(422, "Only the advisory shares documents into folders")
        if form.category is not None and form.category not in CATEGORIES:
            raise HTTPException(422, f"Unknown category; use one of: {', '.join(CATEGORIES)}")
        if (
            form.activity_id is not None
            and session.scalar(
                select(Activity.id).where(
                    Activity.id == form.activity_id, Activity.company_id == company_id
                )
            )
            is None
        ):
            raise HTTPException(422, "Unknown activity for this company")
        year = form.fiscal_year or datetime.now(UTC).year
        registered: list[Registered] = []
        uploaded: list[UploadedDocument] = []
        for index, upload_file in enumerate(files):
            original_name = clean_name(upload_file.filename or "") or "documento"
            stored = store_upload(
                rt.store,
                upload_file.file,
                company_id=company_id,
                fiscal_year=year,
                file_name=original_name,
                content_type=upload_file.content_type,
                length=upload_file.size if upload_file.size is not None else -1,
            )
            display_name = display_name_for(original_name, form.name, index, len(files))
            new = NewDocument(
                id=stored.document_id,
                company_id=company_id,
                activity_id=form.activity_id,
                fiscal_year=year,
                uploaded_by=user.id,
                source=form.source,
                category=form.category,
                original_name=original_name,
                display_name=display_name,
                sha256=stored.sha256,
                size=stored.size,
                content_type=upload_file.content_type,
                original_key=stored.key,
                folder=folder,
            )
            done = register_document(session, new)
            registered.append(done)
            uploaded.append(
                UploadedDocument(
                    id=done.document_id,
                    status=DocumentStatus.DUPLICATE if done.duplicate_of else DocumentStatus.QUEUED,
                    display_name=display_name,
                    duplicate_of=done.duplicate_of,
                )
            )
        session.commit()
    for done in registered:
        publish(done)
    return UploadResponse(documents=uploaded)


@router.get("/v1/companies/{company_id}/documents", tags=["documents"])
def list_documents(
    company_id: int,
    user: UserDep,
    session: SessionDep,
    filters: Annotated[HistoryQuery, Query()],
) -> DocumentPage:
    """The company's document history; ``q`` searches the full text (ranked, with snippets)."""
    company = readable_company(session, user, company_id)
    return history_page(
        session, [company.id], filters.to_filters(user), filters.sort, filters.limit, filters.cursor
    )


@router.get("/v1/documents", tags=["documents"])
def search_documents(
    user: UserDep,
    session: SessionDep,
    filters: Annotated[HistoryQuery, Query()],
    company: Annotated[list[int] | None, Query(description="narrow to these companies")] = None,
) -> DocumentPage:
    """Search every company the caller sees (an advisor: all the advisory's clients)."""
    if not can_read_documents(user):
        raise NOT_FOUND
    visible = set(session.scalars(visible_companies(user).with_only_columns(Company.id)))
    if company:
        if not set(company) <= visible:
            raise NOT_FOUND  # one foreign id is enough: existence stays hidden
        visible = set(company)
    if not visible:
        return DocumentPage(items=[], next_cursor=None)
    return history_page(
        session,
        sorted(visible),
        filters.to_filters(user),
        filters.sort,
        filters.limit,
        filters.cursor,
    )


@router.get("/v1/documents/{document_id}", tags=["documents"])
def get_document(document_id: str, user: UserDep, session: SessionDep) -> DocumentOut:
    """A document: status, error, categories, fields, text and history."""
    return DocumentOut.of(readable_document(session, user, document_id))


@router.get("/v1/documents/{document_id}/download", tags=["documents"])
def download(
    document_id: str,
    user: UserDep,
    session: SessionDep,
    rt: RuntimeDep,
    variant: Annotated[str, Query(pattern="^(original|normalized|archive)$")] = "original",
) -> RedirectResponse:
    """Redirect to a short-lived link to the original, the normalized or the searchable PDF."""
    document = readable_document(session, user, document_id)
    key = {
        "original": document.original_key,
        "normalized": document.normalized_key,
        "archive": document.archive_key,  # searchable PDF: page images + OCR text layer
    }[variant]
    if not key:
        raise NOT_FOUND
    name = document.display_name if variant == "original" else _pdf_name(document.display_name)
    url = rt.store.download_url(
        key, expires=timedelta(seconds=rt.settings.download_url_ttl_seconds), file_name=name
    )
    return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)


@router.get("/v1/blobs/{key:path}", tags=["documents"], include_in_schema=False)
def blob(
    key: str, expires: int, signature: str, rt: RuntimeDep, name: str | None = None
) -> StreamingResponse:
    """Serves the embedded store's signed download links."""
    store = rt.store
    if not isinstance(store, FilesystemStore) or not store.verify_download(
        key, expires, signature, name
    ):
        raise NOT_FOUND
    try:
        info = store.stat(key)
    except ObjectNotFound:
        raise NOT_FOUND from None
    return StreamingResponse(
        _stream(store, key),
        media_type=info.content_type,
        headers={"Content-Length": str(info.size)}
        | ({"Content-Disposition": content_disposition(name)} if name else {}),
    )


def _stream(store: FilesystemStore, key: str) -> Iterator[bytes]:
    with store.open(key) as stream:
        while chunk := stream.read(256 * 1024):
            yield chunk


def _pdf_name(name: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem}.pdf"


class RenameRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="the new name shown")


class RecategorizeRequest(BaseModel):
    category: str = Field(description="the folder the document belongs in")


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    user_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]
    at: datetime


class FolderOut(BaseModel):
    name: str
    documents: int
    last_at: datetime


class TaxFormOut(BaseModel):
    model: str | None = Field(description="AEAT model number, e.g. 303")
    period: str | None = Field(description="e.g. 3T, 0A or 07; with fiscal_year: 2026-3T")
    fiscal_year: int
    document: DocumentSummary


def _changeable(session: Session, user: User, document_id: str) -> Document:
    document = readable_document(session, user, document_id)
    if document.deleted_at is not None:
        raise NOT_FOUND  # restore it first
    return document


@router.post("/v1/documents/{document_id}/rename", tags=["documents"])
def rename(
    document_id: str, body: RenameRequest, user: UserDep, session: SessionDep
) -> DocumentOut:
    """Change the name shown in the history (the extension is kept); audited."""
    document = _changeable(session, user, document_id)
    before = document.display_name
    document.display_name = display_name_for(document.original_name, body.name, 0, 1)
    if document.display_name != before:
        audit(
            session,
            document.id,
            user.id,
            AuditAction.RENAME,
            {"display_name": before},
            {"display_name": document.display_name},
        )
        if document.status == DocumentStatus.INDEXED:
            index_document(session, document)  # the name is searchable
    session.commit()
    return DocumentOut.of(document)


@router.post("/v1/documents/{document_id}/recategorize", tags=["documents"])
def recategorize(
    document_id: str, body: RecategorizeRequest, user: UserDep, session: SessionDep
) -> DocumentOut:
    """Move the document to another folder (category); audited."""
    if body.category not in CATEGORIES:
        raise HTTPException(422, f"Unknown category; use one of: {', '.join(CATEGORIES)}")
    document = _changeable(session, user, document_id)
    before = document.category
    if before != body.category:
        document.category = body.category
        audit(
            session,
            document.id,
            user.id,
            AuditAction.RECATEGORIZE,
            {"category": before},
            {"category": body.category},
        )
    session.commit()
    return DocumentOut.of(document)


@router.delete(
    "/v1/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["documents"]
)
def delete_document(document_id: str, user: UserDep, session: SessionDep) -> Response:
    """Soft delete: hidden from the client's history, kept (with its files) and audited.

    Accounting documents are never destroyed through the API; an advisor can restore them.
    """
    document = _changeable(session, user, document_id)
    document.deleted_at = utcnow()
    document.deleted_by = user.id
    after = {"deleted_at": document.deleted_at.isoformat()}
    audit(session, document.id, user.id, AuditAction.DELETE, {"deleted_at": None}, after)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/documents/{document_id}/restore", tags=["documents"])
def restore(document_id: str, user: UserDep, session: SessionDep) -> DocumentOut:
    """Advisors: bring a soft-deleted document back into the history; audited."""
    if user.role != Role.ADVISOR:
        raise NOT_FOUND
    document = readable_document(session, user, document_id)
    if document.deleted_at is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "The document is not deleted")
    audit(
        session,
        document.id,
        user.id,
        AuditAction.RESTORE,
        {"deleted_at": document.deleted_at.isoformat(), "deleted_by": document.deleted_by},
        {"deleted_at": None},
    )
    document.deleted_at = None
    document.deleted_by = None
    session.commit()
    return DocumentOut.of(document)


@router.get("/v1/documents/{document_id}/audit", tags=["documents"])
def audit_trail(document_id: str, user: UserDep, session: SessionDep) -> list[AuditEntryOut]:
    """Who renamed, recategorized, deleted or restored the document, oldest first."""
    document = readable_document(session, user, document_id)
    rows = session.scalars(
        select(DocumentAudit)
        .where(DocumentAudit.document_id == document.id)
        .order_by(DocumentAudit.id)
    )
    return [AuditEntryOut.model_validate(row) for row in rows]


@router.get("/v1/companies/{company_id}/folders", tags=["documents"])
def shared_folders(company_id: int, user: UserDep, session: SessionDep) -> list[FolderOut]:
    """The folders the advisory shares with the company; list one with ``documents?folder=``."""
    company = readable_company(session, user, company_id)
    rows = session.execute(
        select(Document.folder, func.count(), func.max(Document.created_at))
        .where(
            Document.company_id == company.id,
            Document.folder.is_not(None),
            Document.deleted_at.is_(None),
        )
        .group_by(Document.folder)
        .order_by(Document.folder)
    )
    return [FolderOut(name=name, documents=count, last_at=last) for name, count, last in rows]


@router.get("/v1/companies/{company_id}/tax-forms", tags=["documents"])
def tax_forms(
    company_id: int,
    user: UserDep,
    session: SessionDep,
    fiscal_year: int | None = None,
    model: Annotated[str | None, Query(max_length=3)] = None,
) -> list[TaxFormOut]:
    """Tax forms filed for the company (category ``modelo_aeat``), newest period first."""
    company = readable_company(session, user, company_id)
    query = select(Document).where(
        Document.company_id == company.id,
        Document.deleted_at.is_(None),
        Document.status != DocumentStatus.DUPLICATE,
        or_(
            Document.category == TAX_FORM,
            Document.category.is_(None) & (Document.predicted_category == TAX_FORM),
        ),
    )
    forms = []
    for document in session.scalars(query.order_by(Document.created_at.desc())):
        form = tax_form_of(document)
        if fiscal_year is not None and form.fiscal_year != fiscal_year:
            continue
        if model is not None and form.model != model:
            continue
        forms.append(form)
    forms.sort(key=lambda f: (f.fiscal_year, _period_order(f.period)), reverse=True)
    return forms


TAX_FORM = "modelo_aeat"


def tax_form_of(document: Document) -> TaxFormOut:
    """Model and period from the extracted fields; the fiscal year from them or the upload."""
    fields = document.fields or {}

    def value(name: str) -> Any:
        field = fields.get(name)
        return field.get("value") if isinstance(field, dict) else field

    year = str(value("fiscal_year") or "")
    return TaxFormOut(
        model=str(value("model")) if value("model") else None,
        period=str(value("period")).upper() if value("period") else None,
        fiscal_year=int(year) if year.isdigit() else document.fiscal_year,
        document=DocumentSummary.of(document),
    )


def _period_order(period: str | None) -> int:
    # 0A (annual) after 4T; months 01..12 and quarters 1T..4T in calendar order.
    if not period:
        return -1
    if period.endswith("T") and period[:-1].isdigit():
        return int(period[:-1]) * 3
    if period == "0A":
        return 13
    return int(period) if period.isdigit() else -1
