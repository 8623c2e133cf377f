"""The JSON shapes of the API (and of ``papeleo process --json``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from storage.models import Document, DocumentEvent


class TokenRequest(BaseModel):
    advisory_code: str = Field(examples=["6"], max_length=20)
    username: str = Field(max_length=150)
    password: str = Field(max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime


class CompanyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    nif: str
    name: str


class ErrorOut(BaseModel):
    code: str
    message: str


class HistoryLine(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run: int
    step: str
    status: str
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    queue_wait_ms: int | None
    duration_ms: int | None
    worker: str | None
    attempts: int
    error_code: str | None
    message: str | None


class UploaderOut(BaseModel):
    """Who sent a document: a client's own upload, or the advisory sharing it."""

    id: int
    name: str
    role: str


class DocumentSummary(BaseModel):
    id: str
    company_id: int
    activity_id: int | None
    fiscal_year: int
    status: str
    error: ErrorOut | None
    category: str | None = Field(description="the folder the uploader chose")
    predicted_category: str | None
    category_confidence: float | None
    needs_review: bool = Field(
        default=False, description="the prediction disagrees with the folder or is unsure"
    )
    original_name: str
    display_name: str
    source: str
    size: int
    sha256: str
    detected_type: str | None
    pages: int | None
    created_at: datetime
    indexed_at: datetime | None
    # Document history and search (0005_history).
    duplicate_of: str | None = Field(None, description="the original, when status is duplicate")
    folder: str | None = Field(None, description="the advisory's shared folder, if any")
    uploaded_by: UploaderOut | None = None
    deleted_at: datetime | None = None
    total_amount: Decimal | None = None
    issuer_nif: str | None = None
    document_date: date | None = None
    snippet: str | None = Field(None, description="search hits, HTML-escaped, in <mark>")
    rank: float | None = Field(None, description="search relevance, higher is better")

    @classmethod
    def of(cls, document: Document) -> DocumentSummary:
        return cls(**_summary_values(document))


class DocumentOut(DocumentSummary):
    """A document with its text, extracted fields and processing history."""

    content_type: str | None
    ocr_confidence: float | None
    page_confidences: dict[str, float | None] | None  # OCRed page index -> mean
    fields: dict[str, Any]
    text: str | None
    updated_at: datetime
    history: list[HistoryLine]

    @classmethod
    def of(cls, document: Document, events: list[DocumentEvent] | None = None) -> DocumentOut:
        return cls(
            **_summary_values(document),
            content_type=document.content_type,
            ocr_confidence=document.ocr_confidence,
            page_confidences=document.page_confidences,
            fields=document.fields or {},
            text=document.text,
            updated_at=document.updated_at,
            history=[HistoryLine.model_validate(e) for e in (events or document.events)],
        )


class DocumentPage(BaseModel):
    items: list[DocumentSummary]
    next_cursor: str | None


class UploadedDocument(BaseModel):
    id: str
    status: str
    display_name: str
    duplicate_of: str | None = None


class UploadResponse(BaseModel):
    documents: list[UploadedDocument]


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str
    company_id: int | None
    document_id: str | None
    created_at: datetime
    read_at: datetime | None


def _summary_values(document: Document) -> dict[str, Any]:
    error = (
        ErrorOut(code=document.error_code, message=document.error_message or "")
        if document.error_code
        else None
    )
    return {
        "id": document.id,
        "company_id": document.company_id,
        "activity_id": document.activity_id,
        "fiscal_year": document.fiscal_year,
        "status": document.status,
        "error": error,
        "category": document.category,
        "predicted_category": document.predicted_category,
        "category_confidence": document.category_confidence,
        "needs_review": bool(document.needs_review),
        "original_name": document.original_name,
        "display_name": document.display_name,
        "source": document.source,
        "size": document.size,
        "sha256": document.sha256,
        "detected_type": document.detected_type,
        "pages": document.pages,
        "created_at": document.created_at,
        "indexed_at": document.indexed_at,
        "duplicate_of": document.duplicate_of,
        "folder": document.folder,
        "uploaded_by": (
            UploaderOut(
                id=document.uploader.id,
                name=document.uploader.full_name or document.uploader.username,
                role=document.uploader.role,
            )
            if document.uploader is not None
            else None
        ),
        "deleted_at": document.deleted_at,
        "total_amount": document.total_amount,
        "issuer_nif": document.issuer_nif,
        "document_date": document.document_date,
    }
