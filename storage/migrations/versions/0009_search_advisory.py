"""search across an advisor's companies: sort indexes without the company, words as a constant

Revision ID: 0009_search_advisory
Revises: 0001
Depends on: 0008_search_indexes (the sort keys, the GIN index on company and words)
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_search_advisory"
down_revision = "0001"
branch_labels = None
depends_on = "0008_search_indexes"

# As in 0008 (storage.models.AMOUNT_KEY_SQL, DATE_KEY_SQL), verbatim.
AMOUNT_KEY = "coalesce(total_amount, -999999999999.99)"
DATE_KEY = "coalesce(document_date, '0001-01-01')"


def upgrade() -> None:
    # An advisor's page over thousands of companies walks one of these in sort order and keeps
    # its companies' documents; the per-company indexes would each need a sort of every match.
    op.create_index("ix_documents_created", "documents", ["created_at", "id"])
    op.create_index("ix_documents_name", "documents", ["display_name", "id"])
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps no expression indexes (see 0008)
    op.create_index("ix_documents_amount", "documents", [sa.text(AMOUNT_KEY), "id"])
    op.create_index("ix_documents_date", "documents", [sa.text(DATE_KEY), "id"])
    # unaccent is STABLE, so websearch_to_tsquery('spanish', unaccent(:q)) is computed again for
    # every document a walk tests (7 µs each, more than the test itself). Declared IMMUTABLE, the
    # planner computes the query's words once. The unaccent rules change only with the server.
    schema = op.get_bind().scalar(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'unaccent'"
        )
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION search_unaccent(text) RETURNS text"
        " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
        f' AS $$ SELECT "{schema}".unaccent($1) $$'
    )
    if op.get_bind().scalar(
        sa.text("SELECT 1 FROM pg_class WHERE relname = 'ix_document_search_company_tsv'")
    ):
        # The GIN index finds a company's rows too; beside it, this one only tempted the planner
        # to intersect a whole advisory's rows with a word's.
        op.drop_index("ix_document_search_company", table_name="document_search")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_document_search_company ON document_search (company_id)"
        )
        op.execute("DROP FUNCTION IF EXISTS search_unaccent(text)")
        op.drop_index("ix_documents_date", table_name="documents")
        op.drop_index("ix_documents_amount", table_name="documents")
    op.drop_index("ix_documents_name", table_name="documents")
    op.drop_index("ix_documents_created", table_name="documents")
