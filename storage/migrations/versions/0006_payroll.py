"""payroll: employees, payslips with their rendered-PDF cache, bundles, month-end runs

Revision ID: 0006_payroll
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_payroll"
down_revision = "0001"
branch_labels = None
depends_on = None


def _utc(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "payroll_companies",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("ccc", sa.String(length=11), nullable=False),
        _utc("updated_at", False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("company_id"),
    )
    op.create_table(
        "employees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("nif", sa.String(length=15), nullable=False),
        sa.Column("naf", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("professional_group", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=120), nullable=False),
        sa.Column("contribution_group", sa.Integer(), nullable=False),
        sa.Column("seniority", sa.Date(), nullable=True),
        sa.Column("contract_type", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        _utc("created_at", False),
        _utc("updated_at", False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "nif"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_table(
        "payslips",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("gross", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("deductions", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("net", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("employer_cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("pdf_key", sa.String(length=512), nullable=True),
        sa.Column("pdf_hash", sa.String(length=64), nullable=True),
        _utc("rendered_at", True),
        _utc("created_at", False),
        _utc("updated_at", False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("employee_id", "period"),
    )
    op.create_index(
        "ix_payslips_company_period", "payslips", ["company_id", "period"], unique=False
    )
    op.create_table(
        "payslip_month_end_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("advisory_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("companies_total", sa.Integer(), nullable=False),
        sa.Column("companies_done", sa.Integer(), nullable=False),
        sa.Column("payslips_total", sa.Integer(), nullable=False),
        _utc("created_at", False),
        _utc("finished_at", True),
        _utc("notified_at", True),
        sa.ForeignKeyConstraint(["advisory_id"], ["advisories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "payslip_bundles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("employee_ids", sa.JSON(), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("month_end_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("chunks_total", sa.Integer(), nullable=False),
        sa.Column("chunks_done", sa.Integer(), nullable=False),
        sa.Column("rendered", sa.Integer(), nullable=False),
        sa.Column("cached", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("pdf_key", sa.String(length=512), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _utc("created_at", False),
        _utc("finished_at", True),
        _utc("notified_at", True),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["month_end_id"], ["payslip_month_end_runs.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_payslip_bundles_company_period",
        "payslip_bundles",
        ["company_id", "period"],
        unique=False,
    )
    op.create_index(
        "ix_payslip_bundles_month_end_id", "payslip_bundles", ["month_end_id"], unique=False
    )
    op.create_table(
        "payslip_bundle_chunks",
        sa.Column("bundle_id", sa.String(length=32), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("payslip_ids", sa.JSON(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["bundle_id"], ["payslip_bundles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("bundle_id", "index"),
    )


def downgrade() -> None:
    op.drop_table("payslip_bundle_chunks")
    op.drop_index("ix_payslip_bundles_month_end_id", table_name="payslip_bundles")
    op.drop_index("ix_payslip_bundles_company_period", table_name="payslip_bundles")
    op.drop_table("payslip_bundles")
    op.drop_table("payslip_month_end_runs")
    op.drop_index("ix_payslips_company_period", table_name="payslips")
    op.drop_table("payslips")
    op.drop_table("employees")
    op.drop_table("payroll_companies")
