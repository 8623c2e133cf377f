"""Duplicates: the same bytes (sha256) sent twice to one company are kept, linked, not lost."""

from __future__ import annotations

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from storage.models import Document, DocumentStatus


def find_original(session: Session, document: Document) -> str | None:
    """The id of the company's earliest live document with the same sha256, created before this.

    "Earlier" is decided by (created_at, id), so two uploads racing each other agree on which
    one is the original. Soft-deleted documents are no originals: sending the file again after
    deleting it is a new document.
    """
    return session.scalar(
        select(Document.id)
        .where(
            Document.company_id == document.company_id,
            Document.sha256 == document.sha256,
            Document.id != document.id,
            Document.status != DocumentStatus.DUPLICATE,
            Document.deleted_at.is_(None),
            tuple_(Document.created_at, Document.id) < (document.created_at, document.id),
        )
        .order_by(Document.created_at, Document.id)
        .limit(1)
    )


def mark_duplicate(session: Session, document: Document) -> str | None:
    """Set ``document`` to ``duplicate`` of its original when it has one; the original's id."""
    original = find_original(session, document)
    if original is not None:
        document.status = DocumentStatus.DUPLICATE
        document.duplicate_of = original
    return original
