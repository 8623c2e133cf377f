"""The rows of a document just received: written with plain inserts, as uploads are the hot path.

An upload adds three rows (the document, its first history line, its first task) and nothing
reads them back in that transaction, so the ORM's unit of work would only add cost. The
document's own insert looks up the earlier copy of its bytes: no round trip of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, case, insert
from sqlalchemy.orm import Session

from storage.duplicates import duplicate_note, earliest_copy
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


_FIELDS: Final = tuple(field.name for field in fields(NewDocument))
_ORIGINAL: Final = earliest_copy(bindparam("of_company_id"), bindparam("of_sha256"))
_INSERT_DOCUMENT: Final = (
    insert(Document.__table__)
    .values(
        duplicate_of=_ORIGINAL,
        status=case((_ORIGINAL.is_(None), DocumentStatus.QUEUED), else_=DocumentStatus.DUPLICATE),
    )
    .returning(Document.duplicate_of)
)


def insert_document(session: Session, new: NewDocument, *, at: datetime) -> str | None:
    """Insert ``new``: ``queued`` (its first step waiting), or a skipped ``duplicate`` of the
    company's earliest live copy of the same bytes, whose id it returns."""
    row = {name: getattr(new, name) for name in _FIELDS} | {
        "run": 1,
        "created_at": at,
        "updated_at": at,
        "of_company_id": new.company_id,
        "of_sha256": new.sha256,
    }
    duplicate_of: str | None = session.execute(_INSERT_DOCUMENT, row).scalar_one()
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
    return duplicate_of
