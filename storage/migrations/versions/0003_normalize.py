"""normalize and OCR: per-page OCR confidences and the searchable archive PDF

Revision ID: 0003_normalize
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op


revision = "0003_normalize"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("page_confidences", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("archive_key", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("archive_key")
        batch_op.drop_column("page_confidences")
