"""The document history query: full text, filters, sort and cursor pagination.

One query builder serves a company's history and an advisor's search across clients. Every
sort is a keyset on (sort value, id), so pages never skip or repeat a document while new ones
arrive, and a deep page costs what the first one does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
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
    Row,
    Select,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session, aliased, defer

from ingest.schemas import DocumentPage, DocumentSummary
from storage.models import NO_AMOUNT, NO_DATE, Document, Role, User
from storage.search import count_matches, in_companies, ranked_matches, snippets

# Most documents a search's page walks in sort order, testing each for the words. Words rare
# among the newest documents would make the walk read nearly all of them; past this many, the
# page sorts the matches instead.
WALK_LIMIT: Final = 10_000
# Most matches a relevance search (of a company, or of an advisor's companies) ranks. Beyond it
# the search lists newest first: ranking every match of a common word costs more than a page is
# worth, and ranks them alike.
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
    if session.get_bind().dialect.name == "postgresql":
        # A page is milliseconds of work along an index: starting parallel workers for it costs
        # more, and on a busy server they wait for a core behind other requests.
        settings = {"max_parallel_workers_per_gather": "0"}
        if q is not None or len(company_ids) > 1:
            # The plan depends on the words (how common) and the companies (a walk along a sort
            # index pays for an advisor's thousands, a sort for a few): a prepared statement's
            # generic plan sees neither, nor computes the words once.
            settings["plan_cache_mode"] = "force_custom_plan"
        _set_local(session, settings)
    position = _decode_cursor(cursor, sort) if cursor else None
    narrow: list[int] | None = None
    if q is not None:
        sort, narrow = _search_plan(session, q, company_ids, sort, position)
    elif position:
        sort = position[0]
    where = [in_companies(session, Document.company_id, company_ids), *_conditions(filters)]
    if q is not None and narrow is None:
        rows = _walk_or_sort(session, q, where, sort, company_ids, position, limit)
    else:
        rows = session.execute(_page_query(session, q, where, sort, narrow, position, limit)).all()
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


def _page_query(
    session: Session,
    q: str | None,
    where: list[ColumnElement[bool]],
    sort: Sort,
    narrow: list[int] | None,
    position: tuple[Sort, Any, str] | None,
    limit: int,
) -> Select[Any]:
    """A page of the documents ``where`` selects (with their rank when searching)."""
    # The text is long and no summary shows it.
    query: Select[Any] = select(Document).options(defer(Document.text))
    rank: ColumnElement[Any] | None = None
    if q is not None:
        ranked = ranked_matches(
            session, q, narrow, by_rank=narrow is not None and sort == Sort.RELEVANCE
        )
        rank = ranked.c.rank
        query = query.add_columns(rank).join(ranked, ranked.c.document_id == Document.id)
    key = _sort_key(sort, rank)
    query = query.where(*where, *_after(key, Document.id, sort, position))
    return query.order_by(*_order(key, Document.id, sort)).limit(limit + 1)


def _walk_or_sort(
    session: Session,
    q: str,
    where: list[ColumnElement[bool]],
    sort: Sort,
    company_ids: list[int],
    position: tuple[Sort, Any, str] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """A page of a search with many matches: walked in sort order, or else sorted."""
    rows = session.execute(_walk(session, q, where, sort, position, limit)).all()
    if len(rows) > limit or _walked(session, where, sort, position) < WALK_LIMIT:
        return rows
    # The words are rare among the newest documents (a supplier left years ago): a longer walk
    # could read nearly all of them. Sorting the matches costs what they are.
    if session.get_bind().dialect.name == "postgresql":
        # Each match's document by its key: the planner would rather read every document (a
        # hash join, 5 times slower) and compile the plan (JIT).
        _set_local(session, {"enable_hashjoin": "off", "enable_mergejoin": "off", "jit": "off"})
    return session.execute(
        _sort_matches(session, q, where, sort, company_ids, position, limit)
    ).all()


def _walk(
    session: Session,
    q: str,
    where: list[ColumnElement[bool]],
    sort: Sort,
    position: tuple[Sort, Any, str] | None,
    limit: int,
) -> Select[Any]:
    """A page of a search's many matches: the documents in sort order, each tested for the
    words, no further than WALK_LIMIT documents."""
    key = _sort_key(sort, None)
    walk = _walk_along(select(Document, key.label("sort_key")), key, where, sort, position)
    walked = walk.subquery("walked")
    document = aliased(Document, walked)
    ranked = ranked_matches(session, q)
    # Ordered by the walk's own columns: PostgreSQL keeps its order and stops at the page's end.
    return (
        select(document, ranked.c.rank)
        .options(defer(document.text))
        .join(ranked, ranked.c.document_id == document.id)
        .order_by(*_order(walked.c.sort_key, walked.c.id, sort))
        .limit(limit + 1)
    )


def _sort_matches(
    session: Session,
    q: str,
    where: list[ColumnElement[bool]],
    sort: Sort,
    company_ids: list[int],
    position: tuple[Sort, Any, str] | None,
    limit: int,
) -> Select[Any]:
    """A page of a search's matches: all of the companies' matches read, then sorted."""
    key = _sort_key(sort, None)
    ranked = ranked_matches(session, q, company_ids)
    # OFFSET 0 keeps the subquery whole: PostgreSQL cannot walk a sort index instead, which it
    # would, assuming the matches spread evenly over the documents.
    matched = (
        select(Document, key.label("sort_key"), ranked.c.rank)
        .join(ranked, ranked.c.document_id == Document.id)
        .where(*where, *_after(key, Document.id, sort, position))
        .offset(0)
        .subquery("matched")
    )
    document = aliased(Document, matched)
    return (
        select(document, matched.c.rank)
        .options(defer(document.text))
        .order_by(*_order(matched.c.sort_key, matched.c.id, sort))
        .limit(limit + 1)
    )


def _walked(
    session: Session,
    where: list[ColumnElement[bool]],
    sort: Sort,
    position: tuple[Sort, Any, str] | None,
) -> int:
    """How many documents ``_walk`` read, counting no further than WALK_LIMIT."""
    key = _sort_key(sort, None)
    walked = _walk_along(select(Document.id), key, where, sort, position).subquery()
    return int(session.scalar(select(func.count()).select_from(walked)) or 0)


def _walk_along(
    query: Select[Any],
    key: ColumnElement[Any],
    where: list[ColumnElement[bool]],
    sort: Sort,
    position: tuple[Sort, Any, str] | None,
) -> Select[Any]:
    """``query`` over the documents ``where`` selects, in ``key`` order from the cursor on,
    no further than WALK_LIMIT: what `_walk` reads and `_walked` counts."""
    return (
        query.where(*where, *_after(key, Document.id, sort, position))
        .order_by(*_order(key, Document.id, sort))
        .limit(WALK_LIMIT)
    )


def _after(
    key: ColumnElement[Any],
    document_id: ColumnElement[str],
    sort: Sort,
    position: tuple[Sort, Any, str] | None,
) -> list[ColumnElement[bool]]:
    """The keyset condition: what comes after the cursor's document in ``sort`` order."""
    if position is None:
        return []
    _, value, last_id = position
    bound = tuple_(key, document_id)
    return [bound < (value, last_id) if _descending(sort) else bound > (value, last_id)]


def _order(
    key: ColumnElement[Any], document_id: ColumnElement[str], sort: Sort
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    if _descending(sort):
        return key.desc(), document_id.desc()
    return key.asc(), document_id.asc()


def _descending(sort: Sort) -> bool:
    return sort.startswith("-") or sort == Sort.RELEVANCE


def _search_plan(
    session: Session,
    q: str,
    company_ids: list[int],
    sort: Sort,
    position: tuple[Sort, Any, str] | None,
) -> tuple[Sort, list[int] | None]:
    """The order a search's pages follow, and the companies to narrow the search table to.

    A relevance search over more than RANKED_MATCHES_LIMIT matches lists newest first; its
    cursor says so, and later pages keep that order.
    """
    if position:
        requested, sort = sort, position[0]
        if requested == Sort.RELEVANCE:
            # As the first page found: one with the newest-first order had many matches.
            return sort, company_ids if sort == Sort.RELEVANCE else None
    if count_matches(session, q, company_ids, RANKED_MATCHES_LIMIT + 1) <= RANKED_MATCHES_LIMIT:
        # The search table narrowed to the companies (its GIN index) gives just their matches.
        return sort, company_ids
    # Many: the page walks a sort index and tests each document, a few hundred for a page
    # (_walk_or_sort); a company condition on the search table would make PostgreSQL misjudge
    # the match count and sort every match instead.
    return (Sort.NEWEST if sort == Sort.RELEVANCE else sort), None


def _set_local(session: Session, settings: dict[str, str]) -> None:
    """PostgreSQL settings for the rest of the transaction (SET LOCAL), in one round trip."""
    session.execute(
        select(*(func.set_config(name, value, True) for name, value in settings.items()))
    )


def _conditions(f: DocumentFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
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
