"""Retrying a failed document (``POST /v1/documents/{id}/retry``)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, status
from pydantic import BaseModel, Field

from ingest.deps import RuntimeDep, SessionDep, UserDep, readable_document
from ingest.schemas import DocumentOut
from workers.retry import DocumentError, ErrorCode, NotRetryable, retry_document

log = logging.getLogger(__name__)
router = APIRouter()


class RetryRequest(BaseModel):
    """An optional password for a document that failed with ``needs_password``."""

    password: str | None = Field(default=None, max_length=256, description="never stored")


@router.post(
    "/v1/documents/{document_id}/retry", status_code=status.HTTP_202_ACCEPTED, tags=["documents"]
)
def retry(
    document_id: str,
    user: UserDep,
    session: SessionDep,
    rt: RuntimeDep,
    request: Annotated[RetryRequest | None, Body()] = None,
) -> DocumentOut:
    """Process a failed document again; a PDF password is used once and never stored.

    409 unless the document failed; 422 when the password does not open the PDF.
    """
    document = readable_document(session, user, document_id)
    password = request.password if request is not None else None
    try:
        retry_document(rt, session, document, password)
    except NotRetryable:
        raise HTTPException(409, "Only failed documents can be retried") from None
    except DocumentError as error:
        if error.code is ErrorCode.needs_password:
            raise HTTPException(422, "The password does not open this PDF") from None
        raise HTTPException(422, "This file cannot be opened with a password") from None
    session.refresh(document)
    return DocumentOut.of(document)
