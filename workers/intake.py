"""A stored file becomes a queued document: the one path for every way a file arrives.

The API upload, `papeleo process` and direct uploads (bucket events, the reconciler) build the
``Document`` row, call `register_document` inside their transaction and `publish` once it has
committed. The chain's first task is recorded as published in that same transaction, so an
upload costs one commit, not one for the document and one for the task table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from celery import chain
from sqlalchemy.orm import Session

from storage.duplicates import mark_duplicate
from storage.models import Document, DocumentEvent, DocumentStatus, Step, utcnow
from storage.tasks import add_published
from workers.documents import document_chain
from workers.duplicates import record_duplicate
from workers.queues import TASK_QUEUES
from workers.signals import RECORDED_HEADER

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Registered:
    """A document added to the session: a duplicate (nothing to run) or with its chain."""

    document_id: str
    duplicate_of: str | None
    chain: chain | None


def register_document(session: Session, document: Document) -> Registered:
    """Add ``document`` (a stored upload) as ``queued``, or as ``duplicate`` of an earlier one.

    The caller commits, then calls `publish`. A duplicate keeps its row and history line but
    gets no chain: the same bytes are not processed twice for one company.
    """
    document.status = DocumentStatus.QUEUED
    document.run = 1
    session.add(document)
    # A new document has no history yet: add its first line without looking for one.
    session.add(
        DocumentEvent(
            document=document, run=1, step=Step.NORMALIZE, status="queued", queued_at=utcnow()
        )
    )
    session.flush()  # created_at is set: it decides which of two racing copies is the original
    original = mark_duplicate(session, document)
    if original is not None:
        record_duplicate(session, document, original)
        return Registered(document.id, original, None)
    signature = document_chain(document.id)
    signature.freeze()  # fixes the task ids, so the first one can be recorded now
    first = signature.tasks[0]
    add_published(
        session, first.id, first.task, queue=TASK_QUEUES[first.task], document_id=document.id
    )
    return Registered(document.id, None, signature)


def publish(registered: Registered) -> None:
    """Publish the chain of a committed document; a broker outage is left to the sweeper."""
    if registered.chain is None:
        return
    try:
        registered.chain.apply_async(headers={RECORDED_HEADER: registered.chain.tasks[0].id})
    except Exception:  # the row is committed and `queued`: the sweeper re-publishes it
        log.exception("could not publish document %s; the sweeper will", registered.document_id)
