"""The rows of a document just received: written with plain inserts, as uploads are the hot path.

An upload adds three rows (the document, its first history line, its first task) and nothing
reads them back in that transaction, so the ORM's unit of work would only add cost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from storage.duplicates import duplicate_note
from storage.models import Document, DocumentEvent, DocumentStatus, Source, Step, StepStatus


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


def insert_document(
    session: Session, new: NewDocument, *, duplicate_of: str | None, at: datetime
) -> None:
    """Insert ``new`` as ``queued`` (its first step waiting) or as a skipped ``duplicate``."""
    status = DocumentStatus.DUPLICATE if duplicate_of else DocumentStatus.QUEUED
    session.execute(
        insert(Document.__table__),
        asdict(new)
        | {
            "status": status,
            "duplicate_of": duplicate_of,
            "run": 1,
            "created_at": at,
            "updated_at": at,
        },
    )
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
