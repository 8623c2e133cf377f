"""The document history query: full text, filters, sort and cursor pagination.

One query builder serves a company's history and an advisor's search across clients. Every
sort is a keyset on (sort value, id), so pages never skip or repeat a document while new ones
arrive, and a deep page costs what the first one does.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final, Literal

from fastapi import HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from ingest.schemas import DocumentPage, DocumentSummary
from storage.models import Document, Role, User
from storage.search import ranked_matches, snippets

_NO_DATE: Final = date(1, 1, 1)  # missing dates sort last (newest first) and first (oldest first)
_NO_AMOUNT: Final = Decimal("-999999999999.99")


class Sort(StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    DATE_DESC = "-document_date"
    DATE_ASC = "document_date"
    AMOUNT_DESC = "-total_amount"
    AMOUNT_ASC = "total_amount"
    NAME_ASC = "display_name"
    NAME_DESC = "-display_name"
    RELEVANCE = "relevance"  # needs q; ties broken by id


@dataclass(frozen=True, slots=True)
class DocumentFilters:
    """What the portal filters on; None means "any"."""

    q: str | None = None
    activity_id: int | None = None
    fiscal_year: int | None = None
    category: str | None = None
    status: str | None = None
    date_from: date | None = None  # the document's own date (issue date), inclusive
    date_to: date | None = None
    uploaded_from: datetime | None = None
    uploaded_to: datetime | None = None
    amount_min: Decimal | None = None  # fields.total
    amount_max: Decimal | None = None
    issuer_nif: str | None = None
    folder: str | None = None
    shared: bool | None = None  # True: only what the advisory shared into a folder
    include_deleted: bool = False  # advisors only (the caller checks)
    only_deleted: bool = False


def history_page(
    session: Session,
    company_ids: list[int],
    filters: DocumentFilters,
    sort: Sort | None,
    limit: int,
    cursor: str | None,
) -> DocumentPage:
    """One page of documents of ``company_ids`` matching ``filters``, in ``sort`` order."""
    q = filters.q.strip() if filters.q and filters.q.strip() else None
    sort = sort or (Sort.RELEVANCE if q else Sort.NEWEST)
    if sort == Sort.RELEVANCE and q is None:
        raise HTTPException(422, "sort=relevance needs q")
    query: Select[Any] = select(Document)
    rank: ColumnElement[Any] | None = None
    if q is not None:
        ranked = ranked_matches(
            session, q, company_id=company_ids[0] if len(company_ids) == 1 else None
        )
        rank = ranked.c.rank
        query = select(Document, rank).join(ranked, ranked.c.document_id == Document.id)
    query = query.where(*_conditions(company_ids, filters))
    key = _sort_key(sort, rank)
    descending = sort.startswith("-") or sort == Sort.RELEVANCE
    if cursor:
        value, last_id = _decode_cursor(cursor, sort)
        bound = tuple_(key, Document.id)
        query = query.where(bound < (value, last_id) if descending else bound > (value, last_id))
    order = (key.desc(), Document.id.desc()) if descending else (key.asc(), Document.id.asc())
    rows = session.execute(query.order_by(*order).limit(limit + 1)).all()
    page = rows[:limit]
    found = snippets(session, q, [row[0].id for row in page]) if q else {}
    items = []
    for row in page:
        item = DocumentSummary.of(row[0])
        if q is not None:
            item.rank, item.snippet = float(row[1]), found.get(row[0].id)
        items.append(item)
    next_cursor = None
    if len(rows) > limit:
        last, last_rank = page[-1][0], page[-1][1] if q else None
        next_cursor = _encode_cursor(sort, _cursor_value(sort, last, last_rank), last.id)
    return DocumentPage(items=items, next_cursor=next_cursor)


def _conditions(company_ids: list[int], f: DocumentFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        Document.company_id.in_(company_ids)
        if len(company_ids) != 1
        else Document.company_id == company_ids[0]
    ]
    if f.only_deleted:
        where.append(Document.deleted_at.is_not(None))
    elif not f.include_deleted:
        where.append(Document.deleted_at.is_(None))
    if f.activity_id is not None:
        where.append(Document.activity_id == f.activity_id)
    if f.fiscal_year is not None:
        where.append(Document.fiscal_year == f.fiscal_year)
    if f.category is not None:
        # The uploader's folder wins; the suggestion counts only where none was chosen.
        where.append(
            or_(
                Document.category == f.category,
                Document.category.is_(None) & (Document.predicted_category == f.category),
            )
        )
    if f.status is not None:
        where.append(Document.status == f.status)
    if f.date_from is not None:
        where.append(Document.document_date >= f.date_from)
    if f.date_to is not None:
        where.append(Document.document_date <= f.date_to)
    if f.uploaded_from is not None:
        where.append(Document.created_at >= f.uploaded_from)
    if f.uploaded_to is not None:
        where.append(Document.created_at <= f.uploaded_to)
    if f.amount_min is not None:
        where.append(Document.total_amount >= f.amount_min)
    if f.amount_max is not None:
        where.append(Document.total_amount <= f.amount_max)
    if f.issuer_nif:
        where.append(Document.issuer_nif == normalize_nif(f.issuer_nif))
    if f.folder is not None:
        where.append(Document.folder == f.folder)
    if f.shared is True:
        where.append(Document.folder.is_not(None))
    elif f.shared is False:
        where.append(Document.folder.is_(None))
    return where


def normalize_nif(value: str) -> str:
    compact = "".join(ch for ch in value.upper() if ch.isalnum())
    return compact[2:] if compact.startswith("ES") and len(compact) == 11 else compact


def _sort_key(sort: Sort, rank: ColumnElement[Any] | None) -> ColumnElement[Any]:
    if sort == Sort.RELEVANCE:
        assert rank is not None
        return rank
    name = sort.removeprefix("-")
    if name == "document_date":
        return func.coalesce(Document.document_date, literal(_NO_DATE, Document.document_date.type))
    if name == "total_amount":
        return func.coalesce(Document.total_amount, literal(_NO_AMOUNT, Document.total_amount.type))
    if name == "display_name":
        return Document.display_name
    return Document.created_at


def _cursor_value(sort: Sort, document: Document, rank: Any) -> str:
    name = sort.removeprefix("-")
    if sort == Sort.RELEVANCE:
        return repr(float(rank))
    if name == "document_date":
        return (document.document_date or _NO_DATE).isoformat()
    if name == "total_amount":
        return str(document.total_amount if document.total_amount is not None else _NO_AMOUNT)
    if name == "display_name":
        return document.display_name
    return document.created_at.isoformat()


def _encode_cursor(sort: Sort, value: str, document_id: str) -> str:
    raw = json.dumps([str(sort), value, document_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str, sort: Sort) -> tuple[Any, str]:
    try:
        cursor_sort, raw, document_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if cursor_sort != sort:
            raise ValueError("the cursor belongs to another sort")
        name = sort.removeprefix("-")
        value: Any
        if sort == Sort.RELEVANCE:
            value = float(raw)
        elif name == "document_date":
            value = date.fromisoformat(raw)
        elif name == "total_amount":
            value = Decimal(raw)
        elif name == "display_name":
            value = str(raw)
        else:
            value = datetime.fromisoformat(raw)
        return value, str(document_id)
    except (ValueError, TypeError, InvalidOperation, json.JSONDecodeError):
        raise HTTPException(422, "Invalid cursor") from None


class HistoryQuery(BaseModel):
    """The query string of the history and search routes."""

    q: str | None = Field(None, max_length=200, description="words (Spanish, accents folded)")
    activity_id: int | None = None
    fiscal_year: int | None = None
    category: str | None = None
    status: str | None = None
    date_from: date | None = Field(None, description="document date (issue date), inclusive")
    date_to: date | None = None
    uploaded_from: datetime | None = None
    uploaded_to: datetime | None = None
    amount_min: Decimal | None = Field(None, description="total amount, inclusive")
    amount_max: Decimal | None = None
    issuer_nif: str | None = Field(None, max_length=20)
    folder: str | None = Field(None, max_length=100)
    shared: bool | None = Field(None, description="true: only documents the advisory shared")
    deleted: Literal["exclude", "include", "only"] = Field(
        "exclude", description="advisors: also or only soft-deleted documents"
    )
    sort: Sort | None = Field(None, description="default: relevance with q, else -created_at")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=1000)

    def to_filters(self, user: User) -> DocumentFilters:
        # Clients never see what was deleted; advisors may look into the bin to restore.
        deleted = self.deleted if user.role == Role.ADVISOR else "exclude"
        return DocumentFilters(
            q=self.q,
            activity_id=self.activity_id,
            fiscal_year=self.fiscal_year,
            category=self.category,
            status=self.status,
            date_from=self.date_from,
            date_to=self.date_to,
            uploaded_from=self.uploaded_from,
            uploaded_to=self.uploaded_to,
            amount_min=self.amount_min,
            amount_max=self.amount_max,
            issuer_nif=self.issuer_nif,
            folder=self.folder,
            shared=self.shared,
            include_deleted=deleted == "include",
            only_deleted=deleted == "only",
        )
