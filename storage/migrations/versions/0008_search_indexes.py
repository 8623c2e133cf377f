"""search indexes: full text narrowed to a company, every history sort walkable by an index

Revision ID: 0008_search_indexes
Revises: 0001
Depends on: 0005_history (the amount and date columns)
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_search_indexes"
down_revision = "0001"
branch_labels = None
depends_on = "0005_history"

# The history's sort keys, verbatim (storage.models.AMOUNT_KEY_SQL, DATE_KEY_SQL): a missing
# amount or date sorts lowest, and the planner only uses an index whose expression is equal.
AMOUNT_KEY = "coalesce(total_amount, -999999999999.99)"
DATE_KEY = "coalesce(document_date, '0001-01-01')"


def upgrade() -> None:
    # Amount filters and sorts now use the key expression, not the plain column.
    op.drop_index("ix_documents_company_total", table_name="documents")
    op.create_index("ix_documents_company_name", "documents", ["company_id", "display_name", "id"])
    if op.get_bind().dialect.name != "postgresql":
        # SQLite: batch migrations rebuild the table without expression indexes (it cannot
        # reflect them), so they would not last; the embedded database is small anyway.
        return
    op.create_index(
        "ix_documents_company_amount", "documents", ["company_id", sa.text(AMOUNT_KEY), "id"]
    )
    op.create_index(
        "ix_documents_company_date", "documents", ["company_id", sa.text(DATE_KEY), "id"]
    )
    if _btree_gin():
        # One GIN index on (company, words): a company's matches of a common word are found
        # without reading every company's. It also answers word-only queries, so it replaces
        # the plain one. fastupdate off: documents are indexed a few a second, while a pending
        # list (up to 4 MB until vacuum) would be read again by every search.
        op.create_index(
            "ix_document_search_company_tsv",
            "document_search",
            ["company_id", "tsv"],
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        )
        op.drop_index("ix_document_search_tsv", table_name="document_search")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Without btree_gin the upgrade left the search table alone. The extension stays, as
        # unaccent does: other objects may use it.
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_document_search_tsv ON document_search USING gin (tsv)"
        )
        op.execute("DROP INDEX IF EXISTS ix_document_search_company_tsv")
        op.drop_index("ix_documents_company_date", table_name="documents")
        op.drop_index("ix_documents_company_amount", table_name="documents")
    op.drop_index("ix_documents_company_name", table_name="documents")
    op.create_index("ix_documents_company_total", "documents", ["company_id", "total_amount"])


def _btree_gin() -> bool:
    """Whether btree_gin is (or can now be) installed; False where the server lacks it or the
    role may not create it (it is a trusted extension: a database owner may)."""
    bind = op.get_bind()
    if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'btree_gin'")):
        return True
    if not bind.scalar(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gin'")):
        return False
    try:
        with bind.begin_nested():  # a refused CREATE must not abort the migration's transaction
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS btree_gin"))
    except sa.exc.DBAPIError:
        return False
    return True
