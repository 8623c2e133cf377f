"""Direct uploads: what a portal asked to upload, and which bucket events were already handled.

A `PendingUpload` keeps server-side every field the uploader chose (category, activity, fiscal
year, name, uploader) under the upload id, which is also the future document id; object
metadata is never trusted for them. `ObjectEventRecord` is the ledger that makes the event
bridge idempotent: one row per (bucket, key, revision), where the revision is the version id
or else the eTag.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, Source, utcnow


class UploadState(StrEnum):
    PENDING = "pending"  # policy handed out; no object registered yet
    REGISTERED = "registered"  # the object became a document
    EXPIRED = "expired"  # the policy expired and no object ever arrived


class PendingUpload(Base):
    """One presigned upload handed to a portal; its id becomes the document id."""

    __tablename__ = "pending_uploads"
    __table_args__ = (Index("ix_pending_uploads_state_created", "state", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(512), unique=True)
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="SET NULL")
    )
    fiscal_year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(30))
    original_name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    max_bytes: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10), default=Source.API)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(20), default=UploadState.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    registered_at: Mapped[datetime | None]


class ObjectEventRecord(Base):
    """A bucket event already handled; repeats only bump `deliveries`."""

    __tablename__ = "object_events"
    __table_args__ = (UniqueConstraint("bucket", "key", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(1024))
    revision: Mapped[str] = mapped_column(String(200))  # version id, else eTag
    event_name: Mapped[str] = mapped_column(String(60))
    upload_id: Mapped[str | None] = mapped_column(String(32))
    document_id: Mapped[str | None] = mapped_column(String(32))
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(default=utcnow)
