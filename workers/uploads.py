"""Registering an object that landed in storage for a pending direct upload as a document.

The one code path behind the MinIO webhook, the AMQP consumer (both in `ingest/events.py`),
the embedded store's upload endpoint and the reconciler (`workers/maintenance.py`). It is
idempotent on (bucket, key, revision): a repeated event only bumps the ledger's delivery
count, and a pending upload becomes at most one document (its id is the document id).
Order: database commit first, then the chain is published; a lost publish is the sweeper's.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.db import transaction
from storage.intake import NewDocument
from storage.keys import company_prefix
from storage.models import utcnow
from storage.objects import ObjectNotFound
from storage.uploads import ObjectEventRecord, PendingUpload, UploadState
from workers.intake import publish, register_document
from workers.runtime import Runtime

log = logging.getLogger(__name__)

HASH_CHUNK: Final = 1024 * 1024


class Outcome(StrEnum):
    REGISTERED = "registered"  # a new document, its chain published
    DUPLICATE = "duplicate"  # this upload already is a document; nothing published
    UNKNOWN = "unknown"  # not the key of a pending upload (or another bucket): ignored
    MISSING = "missing"  # the object is gone again: nothing to register


@dataclass(frozen=True, slots=True)
class ObjectCreated:
    """An object that was created: from a bucket event, an upload endpoint or a listing."""

    bucket: str
    key: str
    revision: str  # version id, else eTag (without quotes)
    event_name: str


@dataclass(frozen=True, slots=True)
class Registration:
    outcome: Outcome
    key: str
    document_id: str | None = None


def register_object(runtime: Runtime, created: ObjectCreated) -> Registration:
    """Turn ``created`` into a document if it is a pending upload's object; commit, publish.

    Raises the store's and the database's transient errors (callers retry or answer 5xx).
    """
    if created.bucket != runtime.settings.s3_bucket:
        return Registration(Outcome.UNKNOWN, created.key)
    with transaction(runtime.sessions) as session:
        upload = session.scalar(select(PendingUpload).where(PendingUpload.key == created.key))
        if upload is None or not created.key.startswith(company_prefix(upload.company_id)):
            return Registration(Outcome.UNKNOWN, created.key)
        upload_id = upload.id
        if upload.state == UploadState.REGISTERED:
            _record_delivery(session, created, upload_id, document_id=upload_id)
            return Registration(Outcome.DUPLICATE, created.key, upload_id)
    # Read the object outside any transaction: no lock is held while bytes stream in.
    try:
        size, sha256 = _measure(runtime, created.key)
    except ObjectNotFound:
        return Registration(Outcome.MISSING, created.key)
    try:
        with transaction(runtime.sessions) as session:
            _record_delivery(session, created, upload_id, document_id=upload_id)
            # The row lock serialises concurrent deliveries of different revisions.
            upload = session.scalars(
                select(PendingUpload).where(PendingUpload.id == upload_id).with_for_update()
            ).one()
            if upload.state == UploadState.REGISTERED:
                return Registration(Outcome.DUPLICATE, created.key, upload_id)
            document = NewDocument(
                id=upload.id,
                company_id=upload.company_id,
                activity_id=upload.activity_id,
                fiscal_year=upload.fiscal_year,
                uploaded_by=upload.uploaded_by,
                source=upload.source,
                category=upload.category,
                original_name=upload.original_name,
                display_name=upload.display_name,
                sha256=sha256,
                size=size,
                content_type=upload.content_type,
                original_key=upload.key,
            )
            registered = register_document(session, document)
            upload.state = UploadState.REGISTERED
            upload.registered_at = utcnow()
    except sa_exc.IntegrityError:
        # A concurrent delivery created the document first (no row locks on SQLite).
        log.info("upload %s was registered concurrently", upload_id)
        return Registration(Outcome.DUPLICATE, created.key, upload_id)
    publish(registered)
    return Registration(Outcome.REGISTERED, created.key, upload_id)


def _record_delivery(
    session: Session, created: ObjectCreated, upload_id: str, *, document_id: str | None
) -> int:
    """Insert the ledger row of this (bucket, key, revision) or count one more delivery."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    statement = (
        insert(ObjectEventRecord)
        .values(
            bucket=created.bucket,
            key=created.key,
            revision=created.revision[:200],
            event_name=created.event_name[:60],
            upload_id=upload_id,
            document_id=document_id,
            deliveries=1,
            received_at=now,
            last_received_at=now,
        )
        .on_conflict_do_update(
            index_elements=["bucket", "key", "revision"],
            set_={
                "deliveries": ObjectEventRecord.__table__.c.deliveries + 1,
                "last_received_at": now,
            },
        )
        .returning(ObjectEventRecord.__table__.c.deliveries)
    )
    return int(session.execute(statement).scalar_one())


def _measure(runtime: Runtime, key: str) -> tuple[int, str]:
    """Size and sha256 of the stored object, streamed (never read whole into memory)."""
    digest = hashlib.sha256()
    size = 0
    with runtime.store.open(key) as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
