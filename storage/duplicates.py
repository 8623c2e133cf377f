"""Duplicates: the same bytes (sha256) sent twice to one company are kept, linked, not lost."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import ScalarSelect, Select, select, tuple_
from sqlalchemy.orm import Session

from storage.models import Document, DocumentStatus


def _originals(company_id: Any, sha256: Any) -> Select[tuple[str]]:
    # Soft-deleted documents are no originals: sending the file again after deleting it is a
    # new document.
    return (
        select(Document.id)
        .where(
            Document.company_id == company_id,
            Document.sha256 == sha256,
            Document.status != DocumentStatus.DUPLICATE,
            Document.deleted_at.is_(None),
        )
        .order_by(Document.created_at, Document.id)
        .limit(1)
    )


def earliest_copy(company_id: Any, sha256: Any) -> ScalarSelect[str]:
    """SQL for the id of the company's earliest live document with these bytes, or NULL."""
    return _originals(company_id, sha256).scalar_subquery()


DUPLICATE_NOTE: Final = "duplicate of "


def duplicate_note(original_id: str) -> str:
    """The history line of a duplicate: why it was not processed."""
    return DUPLICATE_NOTE + original_id


def find_original(session: Session, document: Document) -> str | None:
    """The id of the company's earliest live document with the same sha256, created before this.

    "Earlier" is decided by (created_at, id), so two uploads racing each other agree on which
    one is the original.
    """
    return session.scalar(
        _originals(document.company_id, document.sha256).where(
            Document.id != document.id,
            tuple_(Document.created_at, Document.id) < (document.created_at, document.id),
        )
    )


def mark_duplicate(session: Session, document: Document) -> str | None:
    """Set ``document`` to ``duplicate`` of its original when it has one; the original's id."""
    original = find_original(session, document)
    if original is not None:
        document.status = DocumentStatus.DUPLICATE
        document.duplicate_of = original
    return original
