"""Full-text index of documents: PostgreSQL ``spanish`` tsvector, or SQLite FTS5."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, column, literal_column, select, table, text
from sqlalchemy.orm import Session

from storage.models import Document

_pg_search = table("document_search", column("document_id"), column("company_id"))
_fts = table("document_fts", column("document_id"))


def index_document(session: Session, document: Document) -> None:
    """(Re)index ``document``'s name and text; idempotent."""
    # "Factura_Repsol-nov.pdf" is three words, not one file-name token.
    title = re.sub(r"[._\-/]+", " ", document.display_name or "")
    body = document.text or ""
    params = {"id": document.id, "company": document.company_id, "title": title, "body": body}
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
    if _is_postgres(session):
        ids = select(_pg_search.c.document_id).where(
            literal_column("tsv").op("@@")(
                text("websearch_to_tsquery('spanish', unaccent(:q))").bindparams(q=query)
            )
        )
    else:
        ids = select(_fts.c.document_id).where(
            text("document_fts MATCH :q").bindparams(q=fts5_query(query))
        )
    return Document.id.in_(ids.scalar_subquery())


def fts5_query(query: str) -> str:
    """User words as quoted FTS5 terms (all required): no FTS5 syntax reaches the engine."""
    words = [w for w in query.split() if w.strip('"')]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words) or '""'


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
