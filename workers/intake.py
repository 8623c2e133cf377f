"""A stored file becomes a queued document: the one path for every way a file arrives.

The API upload, `papeleo process` and direct uploads (bucket events, the reconciler) describe
the stored file as a `NewDocument`, call `register_document` inside their transaction and
`publish` once it has committed. The chain's first task is recorded as published in that same
transaction, so an upload costs one commit, not one for the document and one for the task table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from celery import chain
from sqlalchemy.orm import Session

from storage.duplicates import earliest_copy
from storage.intake import NewDocument, insert_document
from storage.models import utcnow
from storage.tasks import add_published
from workers.documents import document_chain
from workers.queues import TASK_QUEUES
from workers.signals import RECORDED_HEADER

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Registered:
    """A document added to the session: a duplicate (nothing to run) or with its chain."""

    document_id: str
    duplicate_of: str | None
    chain: chain | None


def register_document(session: Session, new: NewDocument) -> Registered:
    """Add ``new`` as ``queued``, or as ``duplicate`` of the company's earlier copy.

    The caller commits, then calls `publish`. A duplicate keeps its row and history line but
    gets no chain: the same bytes are not processed twice for one company. Two copies racing
    each other both see no original here; the chain's own check settles which one is.
    """
    original = earliest_copy(session, new.company_id, new.sha256)
    insert_document(session, new, duplicate_of=original, at=utcnow())
    if original is not None:
        return Registered(new.id, original, None)
    signature = document_chain(new.id)
    signature.freeze()  # fixes the task ids, so the first one can be recorded now
    first = signature.tasks[0]
    add_published(session, first.id, first.task, queue=TASK_QUEUES[first.task], document_id=new.id)
    return Registered(new.id, None, signature)


def publish(registered: Registered) -> None:
    """Publish the chain of a committed document; a broker outage is left to the sweeper."""
    if registered.chain is None:
        return
    try:
        registered.chain.apply_async(headers={RECORDED_HEADER: registered.chain.tasks[0].id})
    except Exception:  # the row is committed and `queued`: the sweeper re-publishes it
        log.exception("could not publish document %s; the sweeper will", registered.document_id)
