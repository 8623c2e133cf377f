"""The audit trail of what people did to documents: rename, recategorize, delete, restore."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, utcnow


class AuditAction(StrEnum):
    RENAME = "rename"
    RECATEGORIZE = "recategorize"
    DELETE = "delete"
    RESTORE = "restore"
    RETRY = "retry"
    DUPLICATE = "duplicate"


class DocumentAudit(Base):
    __tablename__ = "document_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


def audit(
    session: Session,
    document_id: str,
    user_id: int | None,
    action: AuditAction,
    before: dict[str, Any],
    after: dict[str, Any],
) -> DocumentAudit:
    """Append one audit entry (never updated, never deleted by the API)."""
    entry = DocumentAudit(
        document_id=document_id,
        user_id=user_id,
        action=action,
        before=before,
        after=after,
        at=utcnow(),
    )
    session.add(entry)
    return entry
