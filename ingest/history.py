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
from sqlalchemy import (
    ColumnElement,
    Date,
    Numeric,
    Select,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session, defer

from ingest.schemas import DocumentPage, DocumentSummary
from storage.models import NO_AMOUNT, NO_DATE, Document, Role, User
from storage.search import count_matches, ranked_matches, snippets

# Most matches a company's relevance search ranks. Beyond it the search lists newest first:
# ranking every match of a common word costs more than a page is worth, and ranks them alike.
RANKED_MATCHES_LIMIT: Final = 1000


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
    if len(company_ids) == 1 and session.get_bind().dialect.name == "postgresql":
        # A company's page is milliseconds of work: starting parallel workers for it costs
        # more, and on a busy server they wait for a core behind other requests.
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    position = _decode_cursor(cursor, sort) if cursor else None
    # The text is long and no summary shows it.
    query: Select[Any] = select(Document).options(defer(Document.text))
    rank: ColumnElement[Any] | None = None
    if q is not None:
        sort, narrow = _search_plan(session, q, company_ids, sort, position)
        ranked = ranked_matches(
            session, q, narrow, by_rank=narrow is not None and sort == Sort.RELEVANCE
        )
        rank = ranked.c.rank
        query = query.add_columns(rank).join(ranked, ranked.c.document_id == Document.id)
    elif position:
        sort = position[0]
    query = query.where(*_conditions(company_ids, filters))
    key = _sort_key(sort, rank)
    descending = sort.startswith("-") or sort == Sort.RELEVANCE
    if position:
        _, value, last_id = position
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


def _search_plan(
    session: Session,
    q: str,
    company_ids: list[int],
    sort: Sort,
    position: tuple[Sort, Any, str] | None,
) -> tuple[Sort, int | None]:
    """The order a search's pages follow, and the company to narrow the search table to.

    A company's relevance search over more than RANKED_MATCHES_LIMIT matches lists newest
    first; its cursor says so, and later pages keep that order.
    """
    if position:
        requested, sort = sort, position[0]
        if requested == Sort.RELEVANCE and len(company_ids) == 1:
            # As the first page found: one with the newest-first order had many matches.
            return sort, company_ids[0] if sort == Sort.RELEVANCE else None
    if len(company_ids) != 1:
        # Several companies (an advisor's search) have no common sort index to walk: all their
        # matches are ranked or sorted.
        return sort, None
    if count_matches(session, q, company_ids[0], RANKED_MATCHES_LIMIT + 1) <= RANKED_MATCHES_LIMIT:
        # The search table narrowed to the company (its GIN index) gives just its matches.
        return sort, company_ids[0]
    # Many: PostgreSQL rather walks the company's sort index and tests each document, a few
    # hundred for a page; a company condition on the search table would make it misjudge the
    # match count and sort every match instead.
    return (Sort.NEWEST if sort == Sort.RELEVANCE else sort), None


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
    # Ranges are stated on the sort keys, so one index serves the filter and the sort; the
    # lower bound leaves out documents without the value, as a plain comparison would.
    if f.date_from is not None or f.date_to is not None:
        where.append(_date_key() > NO_DATE)
    if f.date_from is not None:
        where.append(_date_key() >= f.date_from)
    if f.date_to is not None:
        where.append(_date_key() <= f.date_to)
    if f.uploaded_from is not None:
        where.append(Document.created_at >= f.uploaded_from)
    if f.uploaded_to is not None:
        where.append(Document.created_at <= f.uploaded_to)
    if f.amount_min is not None or f.amount_max is not None:
        where.append(_amount_key() > NO_AMOUNT)
    if f.amount_min is not None:
        where.append(_amount_key() >= f.amount_min)
    if f.amount_max is not None:
        where.append(_amount_key() <= f.amount_max)
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


def _date_key() -> ColumnElement[date]:
    """Missing dates sort last (newest first) and first (oldest first). The expression is the
    date index's (storage.models.DATE_KEY_SQL), its constant inline so the planner matches it."""
    return func.coalesce(Document.document_date, literal_column(f"'{NO_DATE.isoformat()}'", Date()))


def _amount_key() -> ColumnElement[Decimal]:
    """As ``_date_key``, for the amount (storage.models.AMOUNT_KEY_SQL)."""
    return func.coalesce(Document.total_amount, literal_column(str(NO_AMOUNT), Numeric()))


def _sort_key(sort: Sort, rank: ColumnElement[Any] | None) -> ColumnElement[Any]:
    if sort == Sort.RELEVANCE:
        assert rank is not None
        return rank
    name = sort.removeprefix("-")
    if name == "document_date":
        return _date_key()
    if name == "total_amount":
        return _amount_key()
    if name == "display_name":
        return Document.display_name
    return Document.created_at


def _cursor_value(sort: Sort, document: Document, rank: Any) -> str:
    name = sort.removeprefix("-")
    if sort == Sort.RELEVANCE:
        return repr(float(rank))
    if name == "document_date":
        return (document.document_date or NO_DATE).isoformat()
    if name == "total_amount":
        return str(document.total_amount if document.total_amount is not None else NO_AMOUNT)
    if name == "display_name":
        return document.display_name
    return document.created_at.isoformat()


def _encode_cursor(sort: Sort, value: str, document_id: str) -> str:
    raw = json.dumps([str(sort), value, document_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str, sort: Sort) -> tuple[Sort, Any, str]:
    """(the order the pages follow, the last sort value, the last id) of a page's cursor."""
    try:
        raw_sort, raw, document_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        cursor_sort = Sort(raw_sort)
        # A relevance search over too many matches pages newest first.
        if cursor_sort != sort and (sort, cursor_sort) != (Sort.RELEVANCE, Sort.NEWEST):
            raise ValueError("the cursor belongs to another sort")
        sort = cursor_sort
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
        return sort, value, str(document_id)
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
