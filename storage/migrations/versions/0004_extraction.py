"""classify and extract: review flag, advisors' corrections, per-advisory category models

Revision ID: 0004_extraction
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_extraction"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("needs_review", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advisory_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("category_before", sa.String(length=30), nullable=True),
        sa.Column("category_after", sa.String(length=30), nullable=True),
        sa.Column("fields_before", sa.JSON(), nullable=False),
        sa.Column("fields_after", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["advisory_id"], ["advisories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_corrections_advisory_created", "corrections", ["advisory_id", "created_at"])
    op.create_index("ix_corrections_document_id", "corrections", ["document_id"])
    op.create_table(
        "category_models",
        sa.Column("advisory_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("last_correction_id", sa.Integer(), nullable=True),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["advisory_id"], ["advisories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("advisory_id"),
    )


def downgrade() -> None:
    op.drop_table("category_models")
    op.drop_index("ix_corrections_document_id", table_name="corrections")
    op.drop_index("ix_corrections_advisory_created", table_name="corrections")
    op.drop_table("corrections")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("needs_review")
