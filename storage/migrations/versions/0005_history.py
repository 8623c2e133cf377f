"""document history and search: duplicates, soft delete, shared folders, filter columns,
the task table, the audit trail, failed-login counters, ranked Spanish search

Revision ID: 0005_history
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_history"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("folder", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("total_amount", sa.Numeric(precision=14, scale=2), nullable=True)
        )
        batch_op.add_column(sa.Column("issuer_nif", sa.String(length=15), nullable=True))
        batch_op.add_column(sa.Column("document_date", sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            "fk_documents_duplicate_of", "documents", ["duplicate_of"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            "fk_documents_deleted_by", "users", ["deleted_by"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(
            "ix_documents_company_created", ["company_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_documents_company_total", ["company_id", "total_amount"], unique=False
        )
        batch_op.create_index(
            "ix_documents_company_issuer", ["company_id", "issuer_nif"], unique=False
        )
        batch_op.create_index("ix_documents_duplicate_of", ["duplicate_of"], unique=False)

    op.create_table(
        "task_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("queue", sa.String(length=50), nullable=True),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queue_wait_ms", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("error_type", sa.String(length=100), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id"),
    )
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.create_index("ix_task_runs_document", ["document_id"], unique=False)
        batch_op.create_index(
            "ix_task_runs_status_published", ["status", "published_at"], unique=False
        )

    op.create_table(
        "document_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("document_audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_audit_document_id"), ["document_id"], unique=False
        )

    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    _create_search_extras()


def downgrade() -> None:
    _drop_search_extras()
    op.drop_table("login_failures")
    with op.batch_alter_table("document_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_audit_document_id"))
    op.drop_table("document_audit")
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_task_runs_status_published")
        batch_op.drop_index("ix_task_runs_document")
    op.drop_table("task_runs")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_duplicate_of")
        batch_op.drop_index("ix_documents_company_issuer")
        batch_op.drop_index("ix_documents_company_total")
        batch_op.drop_index("ix_documents_company_created")
        batch_op.drop_constraint("fk_documents_deleted_by", type_="foreignkey")
        batch_op.drop_constraint("fk_documents_duplicate_of", type_="foreignkey")
        batch_op.drop_column("document_date")
        batch_op.drop_column("issuer_nif")
        batch_op.drop_column("total_amount")
        batch_op.drop_column("deleted_by")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("folder")
        batch_op.drop_column("duplicate_of")


def _create_search_extras() -> None:
    """PostgreSQL: a text search configuration that folds accents itself, so ``ts_headline``
    highlights "Estación" in the original text for the query "estacion"."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS papeleo_es")
    op.execute("CREATE TEXT SEARCH CONFIGURATION papeleo_es (COPY = spanish)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION papeleo_es"
        " ALTER MAPPING FOR hword, hword_part, word WITH unaccent, spanish_stem"
    )


def _drop_search_extras() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS papeleo_es")
