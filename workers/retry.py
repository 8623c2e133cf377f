"""Retrying a failed document, optionally with the password of an encrypted PDF.

The password is used once, in this process, to write a decrypted copy beside the original
(object role ``decrypted``); it never reaches a task argument, the database or a log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy.orm import Session

from pipeline.errors import DocumentError, ErrorCode
from pipeline.normalize import decrypt_pdf
from storage.history import mark_queued
from storage.keys import ObjectRole
from storage.models import Document, DocumentStatus, Step
from workers.documents import document_key, start_processing
from workers.runtime import Runtime

__all__ = ["DocumentError", "ErrorCode", "NotRetryable", "retry_document"]
log = logging.getLogger(__name__)


class NotRetryable(Exception):
    """Only failed documents can be retried."""


def store_decrypted_copy(runtime: Runtime, document: Document, password: str) -> None:
    """Open the original with ``password`` and store a decrypted copy for normalize to read.

    Raises DocumentError(needs_password) when the password is wrong.
    """
    with TemporaryDirectory(prefix="papeleo-retry-") as scratch:
        original = Path(scratch) / "original"
        runtime.store.get_file(document.original_key, original)
        decrypted = Path(scratch) / "decrypted.pdf"
        decrypt_pdf(original, decrypted, password)
        runtime.store.put_file(
            document_key(document, ObjectRole.DECRYPTED, "decrypted.pdf"),
            decrypted,
            content_type="application/pdf",
        )


def retry_document(
    runtime: Runtime, session: Session, document: Document, password: str | None = None
) -> None:
    """Start a new run of the failed ``document``: run + 1, status queued, chain published.

    With ``password``, an encrypted original is first decrypted (see `store_decrypted_copy`).
    Raises NotRetryable unless the document failed; DocumentError for a wrong password.
    """
    if document.status != DocumentStatus.FAILED:
        raise NotRetryable(document.status)
    if password:
        store_decrypted_copy(runtime, document, password)
    document.run += 1
    document.status = DocumentStatus.QUEUED
    document.error_code = None
    document.error_message = None
    session.flush()
    mark_queued(session, document, Step.NORMALIZE)
    session.commit()
    try:
        start_processing(document.id)
    except Exception:  # the broker is down: the row is committed, the sweeper re-publishes
        log.exception("could not publish the retry of document %s", document.id)
