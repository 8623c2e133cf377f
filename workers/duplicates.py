"""The chain's duplicate check: a document whose bytes the company already sent stops here."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.db import transaction
from storage.duplicates import duplicate_note, mark_duplicate
from storage.history import mark_finished, step_event
from storage.models import Document, DocumentStatus, Step, StepStatus
from workers.runtime import get_runtime


def stop_if_duplicate(document_id: str) -> bool:
    """True when the document is (now) a duplicate: it is kept and linked, and not processed.

    The upload route already checks; this catches documents arriving by other paths
    (direct uploads, bucket events) and two uploads of the same file racing each other.
    """
    with transaction(get_runtime().sessions) as session:
        document = session.get(Document, document_id)
        if document is None:
            return False
        if document.status == DocumentStatus.DUPLICATE:
            return True
        if document.status != DocumentStatus.QUEUED or document.run != 1:
            return False  # processing already began, or an advisor retried it on purpose
        original = mark_duplicate(session, document)
        if original is None:
            return False
        record_duplicate(session, document, original)
        return True


def record_duplicate(session: Session, document: Document, original_id: str) -> None:
    """The history line saying why the document was not processed."""
    event = step_event(session, document, Step.NORMALIZE)
    mark_finished(session, event, StepStatus.SKIPPED, message=duplicate_note(original_id))
