"""Full-text index of documents: PostgreSQL ``spanish`` tsvector, or SQLite FTS5.

Both fold accents ("estacion" finds "Estación"), rank matches (``ts_rank_cd`` / ``bm25``) and
cut highlighted snippets (``ts_headline`` / ``snippet``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Double,
    Float,
    Integer,
    Select,
    Subquery,
    any_,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from storage.models import Company, Document

_pg_search = table("document_search", column("document_id"), column("company_id", Integer))
_fts = table("document_fts", column("document_id"), column("company_id", Integer))

# Highlight markers that cannot occur in text; swapped for <mark> after HTML-escaping.
_START, _STOP = "\x02", "\x03"
HIGHLIGHT_START: Final = "<mark>"
HIGHLIGHT_STOP: Final = "</mark>"
_HEADLINE_OPTIONS: Final = (
    f'StartSel="{_START}", StopSel="{_STOP}", MaxWords=25, MinWords=8, '
    'MaxFragments=2, FragmentDelimiter=" … "'
)
# The user's words as a tsquery (also in ``snippets``). search_unaccent is unaccent declared
# immutable (migration 0009_search_advisory): the planner computes the words once, not for every
# document tested.
_TSQUERY: Final = "websearch_to_tsquery('spanish', search_unaccent(:q))"
# ts_headline parses all it is given (about 2 ms per 20 kB of text); a match only further down
# gets the document's opening lines as its snippet, unhighlighted.
SNIPPET_SOURCE_CHARS: Final = 2000


def index_document(session: Session, document: Document) -> None:
    """(Re)index ``document``'s name and text; copy its filterable fields; idempotent.

    Call it again after the document's name, text or fields change.
    """
    _copy_filter_fields(session, document)
    params = {
        "id": document.id,
        "company": document.company_id,
        "title": _title(document),
        "body": document.text or "",
    }
    if _is_postgres(session):
        session.execute(
            text(
                "INSERT INTO document_search (document_id, company_id, tsv) VALUES (:id, :company,"
                " setweight(to_tsvector('spanish', unaccent(:title)), 'A')"
                " || to_tsvector('spanish', unaccent(:body)))"
                " ON CONFLICT (document_id) DO UPDATE"
                " SET tsv = excluded.tsv, company_id = excluded.company_id"
            ),
            params,
        )
    else:
        session.execute(text("DELETE FROM document_fts WHERE document_id = :id"), params)
        session.execute(
            text(
                "INSERT INTO document_fts (document_id, company_id, body)"
                " VALUES (:id, :company, :title || char(10) || :body)"
            ),
            params,
        )


def matches(session: Session, query: str) -> ColumnElement[bool]:
    """A filter on ``Document`` for documents whose name or text matches ``query``."""
    ranked = ranked_matches(session, query)
    return Document.id.in_(select(ranked.c.document_id).scalar_subquery())


def ranked_matches(
    session: Session,
    query: str,
    company_ids: Sequence[int] | None = None,
    *,
    by_rank: bool = False,
) -> Subquery:
    """``(document_id, rank)`` of the documents matching ``query``; a higher rank is better.

    ``company_ids`` narrows the search table itself, which lets PostgreSQL use its company index.
    ``by_rank``: for a caller that orders by (rank, document id), both descending.
    """
    if _is_postgres(session):
        tsquery = text(_TSQUERY).bindparams(q=query)
        tsv = literal_column("document_search.tsv")
        ranked = select(
            _pg_search.c.document_id,
            # float8: the rank must round-trip exactly through a pagination cursor.
            cast(func.ts_rank_cd(tsv, tsquery), Double).label("rank"),
        ).where(tsv.op("@@")(tsquery))
        if company_ids is not None:
            ranked = ranked.where(in_companies(session, _pg_search.c.company_id, company_ids))
    else:
        ranked = select(
            _fts.c.document_id,
            (-func.bm25(literal_column("document_fts"), type_=Float)).label("rank"),
        ).where(text("document_fts MATCH :q").bindparams(q=fts5_query(query)))
        if company_ids is not None:
            ranked = ranked.where(in_companies(session, _fts.c.company_id, company_ids))
    if by_rank:
        # Sorted here (OFFSET 0 keeps the subquery whole), the caller's join reads documents in
        # rank order and stops at the page's end, not after reading every match's document.
        rank = ranked.selected_columns.rank
        ranked = ranked.order_by(rank.desc(), ranked.selected_columns.document_id.desc()).offset(0)
    return ranked.subquery("ranked")


def count_matches(session: Session, query: str, company_ids: Sequence[int], up_to: int) -> int:
    """How many documents of the companies match ``query``, counting no further than ``up_to``."""
    if not _is_postgres(session):
        match = text("document_fts MATCH :q").bindparams(q=fts5_query(query))
        found = (
            select(literal_column("1"))
            .select_from(_fts)
            .where(match, in_companies(session, _fts.c.company_id, company_ids))
        )
        return int(session.scalar(_count(found.limit(up_to))) or 0)
    words = text(_TSQUERY).bindparams(q=query)
    found = (
        select(literal_column("1"))
        .select_from(_pg_search)
        .where(
            literal_column("document_search.tsv").op("@@")(words),
            in_companies(session, _pg_search.c.company_id, company_ids),
        )
    )
    # Through the GIN index, at a cost bounded by the word's matches. Given the LIMIT, the
    # planner may bet on a sequential scan meeting matches early (it assumes them spread
    # evenly), but words that came into use lately (this year, a new supplier) sit at the end
    # of the table: a scan of all of it.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    count = int(session.scalar(_count(found.limit(up_to))) or 0)
    session.execute(text("RESET enable_seqscan"))
    return count


def _count(found: Select[Any]) -> Select[Any]:
    return select(func.count()).select_from(found.subquery())


def in_companies(
    session: Session, company: ColumnElement[int], company_ids: Sequence[int]
) -> ColumnElement[bool]:
    """``company`` is one of ``company_ids``.

    PostgreSQL gets one array parameter: an advisor's 2,000 companies as 2,000 parameters cost
    tens of milliseconds to render and parse. The company is typed: an untyped small int is
    sent as smallint, which the GIN company column cannot use.
    """
    if len(company_ids) == 1:
        return company == bindparam("company", company_ids[0], type_=Integer, unique=True)
    if _is_postgres(session):
        ids = bindparam("companies", list(company_ids), type_=ARRAY(Integer), unique=True)
        return company == any_(ids)
    return company.in_(company_ids)


def snippets(session: Session, query: str, document_ids: Iterable[str]) -> dict[str, str]:
    """Highlighted extracts of the matching words, HTML-escaped, matches in ``<mark>``."""
    ids = list(document_ids)
    if not ids:
        return {}
    if _is_postgres(session):
        statement = text(
            "SELECT d.id, ts_headline('papeleo_es',"
            " coalesce(d.display_name, '') || E'\\n' || substr(coalesce(d.text, ''), 1, :chars),"
            " websearch_to_tsquery('spanish', search_unaccent(:q)), :options)"
            " FROM documents d WHERE d.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        rows = session.execute(
            statement,
            {"q": query, "options": _HEADLINE_OPTIONS, "ids": ids, "chars": SNIPPET_SOURCE_CHARS},
        )
    else:
        statement = text(
            "SELECT document_id, snippet(document_fts, 2, :start, :stop, ' … ', 16)"
            " FROM document_fts WHERE document_fts MATCH :q AND document_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        rows = session.execute(
            statement, {"q": fts5_query(query), "start": _START, "stop": _STOP, "ids": ids}
        )
    return {document_id: _highlight(raw or "") for document_id, raw in rows}


def fts5_query(query: str) -> str:
    """User words as quoted FTS5 terms (all required): no FTS5 syntax reaches the engine."""
    words = [w for w in query.split() if w.strip('"')]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words) or '""'


def _highlight(raw: str) -> str:
    escaped = html.escape(" ".join(raw.split()), quote=False)
    return escaped.replace(_START, HIGHLIGHT_START).replace(_STOP, HIGHLIGHT_STOP)


def _title(document: Document) -> str:
    # "Factura_Repsol-nov.pdf" is three words, not one file-name token.
    return re.sub(r"[._\-/]+", " ", document.display_name or "")


def _copy_filter_fields(session: Session, document: Document) -> None:
    """total, issue date and issuer NIF from ``fields`` into indexed columns."""
    fields: dict[str, Any] = document.fields or {}
    document.total_amount = _decimal(_value(fields, "total"))
    document.document_date = _date(_value(fields, "issue_date"))
    issuer = _value(fields, "issuer_tax_id") or _value(fields, "issuer_nif")
    if not isinstance(issuer, str) or not issuer:
        # Without an explicit issuer: the first tax id on the paper that is not the company's.
        own = session.scalar(select(Company.nif).where(Company.id == document.company_id))
        tax_ids = _value(fields, "tax_ids")
        others = [t for t in tax_ids if isinstance(t, str) and t != own] if tax_ids else []
        issuer = others[0] if others else None
    document.issuer_nif = issuer.upper()[:15] if issuer else None


def _value(fields: dict[str, Any], name: str) -> Any:
    field = fields.get(name)
    return field.get("value") if isinstance(field, dict) else field


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        return None
    return amount.quantize(Decimal("0.01")) if amount.is_finite() and abs(amount) < 10**12 else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
