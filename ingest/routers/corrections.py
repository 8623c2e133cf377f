"""Advisors correct a document's category or fields; Papeleo learns from it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from ingest.deps import NOT_FOUND, SessionDep, UserDep, readable_document
from ingest.schemas import DocumentOut
from storage.audit import AuditAction, audit
from storage.corrections import record_correction
from storage.models import Company, Role
from workers.documents import CATEGORIES
from workers.extraction import retrain_category_model

log = logging.getLogger(__name__)
router = APIRouter()

# Field names an advisor may set: what the classify step extracts (pipeline.invoice_fields).
CORRECTABLE_FIELDS = frozenset(
    {
        "issuer_tax_id",
        "issuer_name",
        "recipient_tax_id",
        "recipient_name",
        "series",
        "invoice_number",
        "issue_date",
        "operation_date",
        "vat_lines",
        "irpf_rate",
        "irpf_amount",
        "total",
        "currency",
        "iban",
        "payment_method",
        "simplified_invoice",
        "recipient_tax_id_present",
        "vat_deductible",
        "model",
        "fiscal_year",
        "period",
        "csv",
        "receipt_number",
        "result",
        "result_amount",
        "employee_tax_id",
        "gross",
        "net",
    }
)


class CorrectionRequest(BaseModel):
    """The advisor's category and/or field values; what is left out is not touched."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, examples=["factura_recibida"])
    fields: dict[str, Any] | None = Field(
        default=None, examples=[{"total": "121.00", "issuer_tax_id": "B12345674"}]
    )


@router.patch("/v1/documents/{document_id}", tags=["documents"])
def correct_document(
    document_id: str, body: CorrectionRequest, user: UserDep, session: SessionDep
) -> DocumentOut:
    """An advisor corrects the category and/or fields: recorded, applied (source
    ``advisor``, confidence 1), review flag cleared, and the advisory's category model
    retrained in the background (``maintenance`` queue). Clients get 403."""
    document = readable_document(session, user, document_id)
    if document.deleted_at is not None:
        raise NOT_FOUND
    if user.role != Role.ADVISOR:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only advisors correct documents")
    if body.category is None and not body.fields:
        raise HTTPException(422, "Give a category, fields, or both")
    if body.category is not None and body.category not in CATEGORIES:
        raise HTTPException(422, f"Unknown category; use one of: {', '.join(CATEGORIES)}")
    unknown = sorted(set(body.fields or {}) - CORRECTABLE_FIELDS)
    if unknown:
        raise HTTPException(422, f"Unknown field(s): {', '.join(unknown)}")
    advisory_id = session.get_one(Company, document.company_id).advisory_id
    before = document.category
    record_correction(
        session,
        advisory_id=advisory_id,
        document=document,
        user_id=user.id,
        category=body.category,
        fields=body.fields,
    )
    if body.category is not None and body.category != before:
        audit(
            session,
            document.id,
            user.id,
            AuditAction.RECATEGORIZE,
            {"category": before},
            {"category": body.category},
        )
    session.commit()
    if body.category is not None:
        try:
            retrain_category_model.apply_async((advisory_id,))
        except Exception:  # the broker is down: the correction is kept; the next one retrains
            log.exception("could not schedule retraining for advisory %s", advisory_id)
    return DocumentOut.of(document)
