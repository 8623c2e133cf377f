"""SQLAlchemy 2 models: tenants, accounts, documents and their history."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def new_id() -> str:
    """Document ids are random uuid4 hex: unguessable and safe inside object keys."""
    return uuid.uuid4().hex


class Role(StrEnum):
    CLIENT = "client"
    ADVISOR = "advisor"
    EMPLOYEE = "employee"


class DocumentStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    INDEXED = "indexed"
    FAILED = "failed"
    DUPLICATE = "duplicate"  # same sha256 as an earlier document of the company (duplicate_of)


class Step(StrEnum):
    NORMALIZE = "normalize"
    OCR = "ocr"
    CLASSIFY = "classify"
    INDEX = "index"
    NOTIFY = "notify"


class StepStatus(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    RETRYING = "retrying"
    FAILED = "failed"


class Source(StrEnum):
    WEB = "web"
    APP = "app"
    API = "api"
    CLI = "cli"


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
    }


class Advisory(Base):
    __tablename__ = "advisories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # typed in the mobile app, e.g. "6"
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Company(Base):
    __tablename__ = "companies"
    __table_args__ = (UniqueConstraint("advisory_id", "nif"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_id: Mapped[int] = mapped_column(ForeignKey("advisories.id", ondelete="CASCADE"))
    nif: Mapped[str] = mapped_column(String(15))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    activities: Mapped[list[Activity]] = relationship(back_populates="company")


class Activity(Base):
    """An economic activity of a company (a client may have several)."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(20))  # IAE epigraph / CNAE

    company: Mapped[Company] = relationship(back_populates="activities")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("advisory_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_id: Mapped[int] = mapped_column(ForeignKey("advisories.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(150))
    email: Mapped[str | None] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    """A client or employee user's access to one company."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex; never the token
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


# The history's amount and date sort keys (ingest.history): a missing value sorts lowest. Their
# indexes (PostgreSQL only) repeat them verbatim: the planner uses an index only for an equal
# expression.
NO_AMOUNT: Final = Decimal("-999999999999.99")
NO_DATE: Final = date(1, 1, 1)
AMOUNT_KEY_SQL: Final = f"coalesce(total_amount, {NO_AMOUNT})"
DATE_KEY_SQL: Final = f"coalesce(document_date, '{NO_DATE.isoformat()}')"


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_company_year", "company_id", "fiscal_year", "created_at"),
        Index("ix_documents_company_sha256", "company_id", "sha256"),
        # History and search (migration 0005_history): sort and filter within one company.
        Index("ix_documents_company_created", "company_id", "created_at", "id"),
        Index("ix_documents_company_issuer", "company_id", "issuer_nif"),
        Index("ix_documents_duplicate_of", "duplicate_of"),
        # Every history sort walks an index (migration 0008_search_indexes).
        Index("ix_documents_company_amount", "company_id", sql_text(AMOUNT_KEY_SQL), "id"),
        Index("ix_documents_company_date", "company_id", sql_text(DATE_KEY_SQL), "id"),
        Index("ix_documents_company_name", "company_id", "display_name", "id"),
        # An advisor's search across companies walks these (migration 0009_search_advisory).
        Index("ix_documents_created", "created_at", "id"),
        Index("ix_documents_amount", sql_text(AMOUNT_KEY_SQL), "id"),
        Index("ix_documents_date", sql_text(DATE_KEY_SQL), "id"),
        Index("ix_documents_name", "display_name", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"))
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="SET NULL")
    )
    fiscal_year: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(10), default=Source.API)

    category: Mapped[str | None] = mapped_column(String(30))  # the uploader's folder
    predicted_category: Mapped[str | None] = mapped_column(String(30))
    category_confidence: Mapped[float | None] = mapped_column(Float)
    # Classify (migration 0004_extraction): prediction disagrees with the folder, or is unsure.
    needs_review: Mapped[bool] = mapped_column(default=False, server_default=false())

    original_name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(100))  # as declared by the client
    detected_type: Mapped[str | None] = mapped_column(String(100))  # from the bytes
    pages: Mapped[int | None] = mapped_column(Integer)
    original_key: Mapped[str] = mapped_column(String(512))
    normalized_key: Mapped[str | None] = mapped_column(String(512))

    status: Mapped[str] = mapped_column(String(20), default=DocumentStatus.QUEUED, index=True)
    run: Mapped[int] = mapped_column(Integer, default=1)  # bumped on each retry
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)

    text: Mapped[str | None] = mapped_column(Text)
    ocr_pages: Mapped[list[int]] = mapped_column(JSON, default=list)  # pages without a text layer
    ocr_confidence: Mapped[float | None] = mapped_column(Float)
    # Normalize and OCR (migration 0003_normalize): mean word confidence of each OCRed page
    # as {"page index": confidence}, and the searchable PDF (page images + text layer).
    page_confidences: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    archive_key: Mapped[str | None] = mapped_column(String(512))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    indexed_at: Mapped[datetime | None]

    # History and search (migration 0005_history).
    duplicate_of: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    folder: Mapped[str | None] = mapped_column(String(100))  # a folder the advisory shares
    deleted_at: Mapped[datetime | None]  # soft delete: accounting documents are kept
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Copied from ``fields`` when indexed, so filters use plain indexed columns.
    total_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    issuer_nif: Mapped[str | None] = mapped_column(String(15))
    document_date: Mapped[date | None] = mapped_column(Date)

    events: Mapped[list[DocumentEvent]] = relationship(
        back_populates="document", order_by="DocumentEvent.id", cascade="all, delete-orphan"
    )
    uploader: Mapped[User | None] = relationship(
        foreign_keys=[uploaded_by], lazy="selectin", viewonly=True
    )


class DocumentEvent(Base):
    """One step of one run of a document through the chain: its history line."""

    __tablename__ = "document_events"
    __table_args__ = (UniqueConstraint("document_id", "run", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    run: Mapped[int] = mapped_column(Integer, default=1)
    step: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    queue_wait_ms: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)

    document: Mapped[Document] = relationship(back_populates="events")


class Notification(Base):
    __tablename__ = "notifications"
    # One notification per user, document, run and kind: a re-run of notify sends nothing twice.
    __table_args__ = (UniqueConstraint("user_id", "document_id", "run", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    run: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
