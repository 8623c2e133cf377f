"""A stored file becomes a queued document: the one path for every way a file arrives.

The API upload, `papeleo process` and direct uploads (bucket events, the reconciler) describe
the stored file as a `NewDocument`, call `register_document` inside their transaction and
`publish` once it has committed. The chain's first task is recorded as published in that same
transaction, so an upload costs one commit, not one for the document and one for the task table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from celery.utils import uuid
from sqlalchemy.orm import Session

from storage.intake import FirstTask, NewDocument, insert_document
from storage.models import utcnow
from workers.documents import normalize, send_document_chain
from workers.queues import TASK_QUEUES
from workers.signals import RECORDED_HEADER

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Registered:
    """A document added to the session: a duplicate (nothing to run) or its chain's first id."""

    document_id: str
    duplicate_of: str | None
    first_task_id: str | None


def register_document(session: Session, new: NewDocument) -> Registered:
    """Add ``new`` as ``queued``, or as ``duplicate`` of the company's earlier copy.

    The caller commits, then calls `publish`. A duplicate keeps its row and history line but
    gets no chain: the same bytes are not processed twice for one company. Two copies racing
    each other both see no original here; the chain's own check settles which one is.
    """
    # The task id is fixed now, so the task can be recorded as published with the document.
    first = FirstTask(uuid(), normalize.name, TASK_QUEUES[normalize.name])
    original = insert_document(session, new, at=utcnow(), first_task=first)
    if original is not None:
        return Registered(new.id, original, None)
    return Registered(new.id, None, first.task_id)


def publish(registered: Registered) -> None:
    """Publish the chain of a committed document; a broker outage is left to the sweeper."""
    if registered.first_task_id is None:
        return
    first_task_id = registered.first_task_id
    try:
        send_document_chain(
            registered.document_id, first_task_id, headers={RECORDED_HEADER: first_task_id}
        )
    except Exception:  # the row is committed and `queued`: the sweeper re-publishes it
        log.exception("could not publish document %s; the sweeper will", registered.document_id)
