"""Uploading documents, the document history, downloads."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy import or_, select, tuple_

from ingest.deps import (
    NOT_FOUND,
    RuntimeDep,
    SessionDep,
    UserDep,
    readable_company,
    readable_document,
)
from ingest.schemas import (
    DocumentOut,
    DocumentPage,
    DocumentSummary,
    UploadedDocument,
    UploadResponse,
)
from ingest.uploads import display_name_for, store_upload
from storage.history import mark_queued
from storage.models import Activity, Document, DocumentStatus, Source, Step
from storage.objects import FilesystemStore, ObjectNotFound, content_disposition
from storage.search import matches
from workers.documents import CATEGORIES, start_processing

log = logging.getLogger(__name__)
router = APIRouter()


@router.post(
    "/v1/companies/{company_id}/documents", status_code=status.HTTP_202_ACCEPTED, tags=["documents"]
)
def upload(
    company_id: int,
    user: UserDep,
    session: SessionDep,
    rt: RuntimeDep,
    files: Annotated[list[UploadFile], File(description="one or several files")],
    activity_id: Annotated[int | None, Form()] = None,
    fiscal_year: Annotated[int | None, Form(ge=1990, le=2999)] = None,
    category: Annotated[str | None, Form(description="the folder chosen")] = None,
    name: Annotated[str | None, Form(max_length=200, description="rename on send")] = None,
    source: Annotated[Source, Form()] = Source.API,
) -> UploadResponse:
    """Upload documents; each is stored, then processed in the background."""
    company = readable_company(session, user, company_id)
    if category is not None and category not in CATEGORIES:
        raise HTTPException(422, f"Unknown category; use one of: {', '.join(CATEGORIES)}")
    if (
        activity_id is not None
        and session.scalar(
            select(Activity.id).where(Activity.id == activity_id, Activity.company_id == company.id)
        )
        is None
    ):
        raise HTTPException(422, "Unknown activity for this company")
    year = fiscal_year or datetime.now(UTC).year
    documents: list[Document] = []
    for index, upload_file in enumerate(files):
        original_name = upload_file.filename or "documento"
        stored = store_upload(
            rt.store,
            upload_file.file,
            company_id=company.id,
            fiscal_year=year,
            file_name=original_name,
            content_type=upload_file.content_type,
            length=upload_file.size if upload_file.size is not None else -1,
        )
        document = Document(
            id=stored.document_id,
            company_id=company.id,
            activity_id=activity_id,
            fiscal_year=year,
            uploaded_by=user.id,
            source=source,
            category=category,
            original_name=original_name[:255],
            display_name=display_name_for(original_name, name, index, len(files)),
            sha256=stored.sha256,
            size=stored.size,
            content_type=upload_file.content_type,
            original_key=stored.key,
            status=DocumentStatus.QUEUED,
        )
        session.add(document)
        session.flush()
        mark_queued(session, document, Step.NORMALIZE)
        documents.append(document)
    session.commit()
    for document in documents:
        try:
            start_processing(document.id)
        except Exception:  # the broker is down: the row is committed, the sweeper re-publishes
            log.exception("could not publish document %s", document.id)
    return UploadResponse(
        documents=[
            UploadedDocument(id=d.id, status=d.status, display_name=d.display_name)
            for d in documents
        ]
    )


@router.get("/v1/companies/{company_id}/documents", tags=["documents"])
def list_documents(
    company_id: int,
    user: UserDep,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200, description="words to find")] = None,
    fiscal_year: int | None = None,
    activity_id: int | None = None,
    category: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> DocumentPage:
    """The company's document history, newest first; ``q`` searches the full text."""
    company = readable_company(session, user, company_id)
    query = select(Document).where(Document.company_id == company.id)
    if q and q.strip():
        query = query.where(matches(session, q.strip()))
    if fiscal_year is not None:
        query = query.where(Document.fiscal_year == fiscal_year)
    if activity_id is not None:
        query = query.where(Document.activity_id == activity_id)
    if category is not None:
        query = query.where(
            or_(
                Document.category == category,
                Document.category.is_(None) & (Document.predicted_category == category),
            )
        )
    if status_ is not None:
        query = query.where(Document.status == status_)
    if cursor:
        created_at, document_id = _decode_cursor(cursor)
        query = query.where(tuple_(Document.created_at, Document.id) < (created_at, document_id))
    rows = session.scalars(
        query.order_by(Document.created_at.desc(), Document.id.desc()).limit(limit + 1)
    ).all()
    page = rows[:limit]
    next_cursor = _encode_cursor(page[-1]) if len(rows) > limit else None
    return DocumentPage(items=[DocumentSummary.of(d) for d in page], next_cursor=next_cursor)


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
    variant: Annotated[str, Query(pattern="^(original|normalized)$")] = "original",
) -> RedirectResponse:
    """Redirect to a short-lived link to the original or the normalized PDF."""
    document = readable_document(session, user, document_id)
    key = document.original_key if variant == "original" else document.normalized_key
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


def _encode_cursor(document: Document) -> str:
    raw = f"{document.created_at.isoformat()}|{document.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, document_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), document_id
    except ValueError:
        raise HTTPException(422, "Invalid cursor") from None
