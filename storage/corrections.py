"""Advisors' corrections of a document's category or fields, and each advisory's learned model.

A correction is kept as it was made (who, when, before → after); the per-advisory model is
plain JSON (see ``pipeline.learning``), rebuilt from the corrections by a maintenance task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, Document, utcnow


class Correction(Base):
    """One advisor's change to one document: category and/or fields, with the values before."""

    __tablename__ = "corrections"
    __table_args__ = (Index("ix_corrections_advisory_created", "advisory_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_id: Mapped[int] = mapped_column(ForeignKey("advisories.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    category_before: Mapped[str | None] = mapped_column(String(30))
    category_after: Mapped[str | None] = mapped_column(String(30))
    fields_before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fields_after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CategoryModel(Base):
    """The learned category model of one advisory (JSON, never pickle) and its provenance."""

    __tablename__ = "category_models"

    advisory_id: Mapped[int] = mapped_column(
        ForeignKey("advisories.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    examples: Mapped[int] = mapped_column(Integer, default=0)
    last_correction_id: Mapped[int | None] = mapped_column(Integer)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


def record_correction(
    session: Session,
    *,
    advisory_id: int,
    document: Document,
    user_id: int | None,
    category: str | None,
    fields: dict[str, Any] | None,
) -> Correction:
    """Store the correction and apply it to ``document`` (the advisor's word is final).

    ``fields`` maps a field name to its corrected value; each becomes
    ``{value, confidence: 1.0, source: "advisor"}``. The review flag is cleared.
    """
    before_fields = {name: (document.fields or {}).get(name) for name in (fields or {})}
    correction = Correction(
        advisory_id=advisory_id,
        document_id=document.id,
        user_id=user_id,
        category_before=document.category or document.predicted_category,
        category_after=category,
        fields_before=before_fields,
        fields_after=dict(fields or {}),
    )
    session.add(correction)
    if category is not None:
        document.category = category
    if fields:
        updated = dict(document.fields or {})
        for name, value in fields.items():
            updated[name] = {"value": value, "confidence": 1.0, "source": "advisor"}
        document.fields = updated  # a new dict: JSON columns do not track in-place changes
    document.needs_review = False
    session.flush()
    return correction


def category_examples(session: Session, advisory_id: int) -> list[tuple[str, str, int]]:
    """(document text, corrected category, correction id) of the advisory's category
    corrections, latest correction per document, oldest first."""
    rows = session.execute(
        select(Correction.id, Correction.document_id, Correction.category_after, Document.text)
        .join(Document, Document.id == Correction.document_id)
        .where(Correction.advisory_id == advisory_id, Correction.category_after.is_not(None))
        .order_by(Correction.id)
    ).all()
    latest: dict[str, tuple[str, str, int]] = {}
    for correction_id, document_id, category, text in rows:
        latest.pop(document_id, None)  # re-insert: keeps the order of the latest correction
        latest[document_id] = (text or "", category, correction_id)
    return list(latest.values())


def load_category_model(session: Session, advisory_id: int) -> dict[str, Any] | None:
    """The advisory's stored model, or None before its first correction."""
    row = session.get(CategoryModel, advisory_id)
    return row.model if row is not None else None


def save_category_model(
    session: Session,
    advisory_id: int,
    model: dict[str, Any],
    examples: int,
    last_correction_id: int | None,
) -> None:
    """Insert or replace the advisory's model."""
    row = session.get(CategoryModel, advisory_id)
    if row is None:
        row = CategoryModel(advisory_id=advisory_id, model=model)
        session.add(row)
    row.model = model
    row.examples = examples
    row.last_correction_id = last_correction_id
    row.trained_at = utcnow()
