"""Payroll tables: employees, payslips (data + rendered-PDF cache), bundles, month-end runs.

Progress of large fan-outs lives here, not in a result backend: a bundle is split into chunk
rows; a chunk is counted once (its ``done`` flag flips once), and the transaction that counts
the last chunk is the one that hands on to the merge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, new_id, utcnow

MONEY = Numeric(12, 2)


class BundleStatus(StrEnum):
    QUEUED = "queued"
    RENDERING = "rendering"
    MERGING = "merging"
    READY = "ready"
    FAILED = "failed"


class MonthEndStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


class PayrollCompany(Base):
    """What a payslip header needs of the employer beyond the company row."""

    __tablename__ = "payroll_companies"

    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(300), default="")
    ccc: Mapped[str] = mapped_column(String(11), default="")  # código cuenta de cotización
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Employee(Base):
    __tablename__ = "employees"
    __table_args__ = (UniqueConstraint("company_id", "nif"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    nif: Mapped[str] = mapped_column(String(15))
    naf: Mapped[str] = mapped_column(String(12))  # social-security number
    full_name: Mapped[str] = mapped_column(String(200))
    professional_group: Mapped[str] = mapped_column(String(120), default="")
    category: Mapped[str] = mapped_column(String(120), default="")
    contribution_group: Mapped[int] = mapped_column(Integer)
    seniority: Mapped[date | None] = mapped_column(Date)
    contract_type: Mapped[str] = mapped_column(String(20))
    # The employee-portal account that may see this employee's payslips.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Payslip(Base):
    """One employee's payslip of one period: its figures, totals, and the cached PDF."""

    __tablename__ = "payslips"
    __table_args__ = (
        UniqueConstraint("employee_id", "period"),
        Index("ix_payslips_company_period", "company_id", "period"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    gross: Mapped[Decimal] = mapped_column(MONEY)
    deductions: Mapped[Decimal] = mapped_column(MONEY)
    net: Mapped[Decimal] = mapped_column(MONEY)
    employer_cost: Mapped[Decimal] = mapped_column(MONEY)
    # The render cache: the PDF at pdf_key was drawn from data hashing to pdf_hash.
    pdf_key: Mapped[str | None] = mapped_column(String(512))
    pdf_hash: Mapped[str | None] = mapped_column(String(64))
    rendered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MonthEndRun(Base):
    """Every company's payslips of one period for one advisory (the month-end batch)."""

    __tablename__ = "payslip_month_end_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    advisory_id: Mapped[int] = mapped_column(ForeignKey("advisories.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default=MonthEndStatus.QUEUED)
    companies_total: Mapped[int] = mapped_column(Integer, default=0)
    companies_done: Mapped[int] = mapped_column(Integer, default=0)
    payslips_total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]


class PayslipBundle(Base):
    """ONE PDF of a company's month: every payslip, or the selected employees'."""

    __tablename__ = "payslip_bundles"
    __table_args__ = (Index("ix_payslip_bundles_company_period", "company_id", "period"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    employee_ids: Mapped[list[int] | None] = mapped_column(JSON)  # None = the full month
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    month_end_id: Mapped[str | None] = mapped_column(
        ForeignKey("payslip_month_end_runs.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=BundleStatus.QUEUED)
    total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    rendered: Mapped[int] = mapped_column(Integer, default=0)  # drawn by this bundle
    cached: Mapped[int] = mapped_column(Integer, default=0)  # already drawn, reused
    failed: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int | None] = mapped_column(Integer)
    pdf_key: Mapped[str | None] = mapped_column(String(512))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]


class PayslipBundleChunk(Base):
    """A slice of a bundle's payslips, rendered by one task; counted once."""

    __tablename__ = "payslip_bundle_chunks"

    bundle_id: Mapped[str] = mapped_column(
        ForeignKey("payslip_bundles.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    payslip_ids: Mapped[list[str]] = mapped_column(JSON)
    done: Mapped[bool] = mapped_column(default=False)
    # [{"payslip_id", "employee_id", "error"}] for payslips this chunk could not draw
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


# --- employees and payslips ------------------------------------------------------------------


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class PayslipTotals:
    gross: Decimal
    deductions: Decimal
    net: Decimal
    employer_cost: Decimal


def save_payroll_company(session: Session, company_id: int, address: str, ccc: str) -> None:
    """Record the employer's address and CCC (empty values keep what is stored)."""
    row = session.get(PayrollCompany, company_id)
    if row is None:
        row = PayrollCompany(company_id=company_id, address="", ccc="")
        session.add(row)
    row.address = address or row.address
    row.ccc = ccc or row.ccc


def save_employee(session: Session, company_id: int, nif: str, **values: Any) -> Employee:
    """The company's employee with this NIF, created or updated with ``values``."""
    employee = session.scalar(
        select(Employee).where(Employee.company_id == company_id, Employee.nif == nif)
    )
    if employee is None:
        employee = Employee(company_id=company_id, nif=nif, **values)
        session.add(employee)
        session.flush()
        return employee
    for name, value in values.items():
        if getattr(employee, name) != value:
            setattr(employee, name, value)
    return employee


def save_payslip(
    session: Session,
    employee: Employee,
    period: str,
    figures: dict[str, Any],
    totals: PayslipTotals,
) -> Change:
    """Store one payslip's figures; an identical re-import changes nothing (the PDF stays)."""
    payslip = session.scalar(
        select(Payslip).where(Payslip.employee_id == employee.id, Payslip.period == period)
    )
    if payslip is None:
        session.add(
            Payslip(
                company_id=employee.company_id,
                employee_id=employee.id,
                period=period,
                figures=figures,
                gross=totals.gross,
                deductions=totals.deductions,
                net=totals.net,
                employer_cost=totals.employer_cost,
            )
        )
        return Change.CREATED
    if payslip.figures == figures:
        return Change.UNCHANGED
    payslip.figures = figures
    payslip.gross, payslip.deductions = totals.gross, totals.deductions
    payslip.net, payslip.employer_cost = totals.net, totals.employer_cost
    return Change.UPDATED


def mark_rendered(session: Session, rendered: Mapping[str, tuple[str, str]], at: datetime) -> None:
    """Record stored PDFs (payslip id → object key, data hash) in one batched UPDATE.

    A payslip deleted meanwhile is skipped (Core executemany: no matched-row check).
    """
    if not rendered:
        return
    table = Payslip.__table__
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("payslip_id"))
        .values(pdf_key=bindparam("key"), pdf_hash=bindparam("digest"), rendered_at=at),
        [
            {"payslip_id": payslip_id, "key": key, "digest": digest}
            for payslip_id, (key, digest) in rendered.items()
        ],
    )


def _in_period(
    query: Select[Any], company_id: int, period: str, employee_ids: Sequence[int] | None
) -> Select[Any]:
    """``query`` (over payslips joined to employees) narrowed to one company's period."""
    query = query.where(Payslip.company_id == company_id, Payslip.period == period)
    if employee_ids is not None:
        query = query.where(Payslip.employee_id.in_(list(employee_ids)))
    return query.order_by(Employee.full_name, Employee.nif)


def period_payslips(
    session: Session,
    company_id: int,
    period: str,
    employee_ids: Sequence[int] | None = None,
) -> list[tuple[Payslip, Employee]]:
    """The company's payslips of ``period`` with their employees (all, or those selected)."""
    query = select(Payslip, Employee).join(Employee, Employee.id == Payslip.employee_id)
    rows = session.execute(_in_period(query, company_id, period, employee_ids)).all()
    return [(payslip, employee) for payslip, employee in rows]


def period_payslip_ids(
    session: Session,
    company_id: int,
    period: str,
    employee_ids: Sequence[int] | None = None,
) -> list[str]:
    """Only the ids of `period_payslips`, in the same order (planning needs no figures)."""
    query = select(Payslip.id).join(Employee, Employee.id == Payslip.employee_id)
    return list(session.scalars(_in_period(query, company_id, period, employee_ids)))


@dataclass(frozen=True, slots=True)
class RenderedPayslip:
    """What merging needs of a drawn payslip: its PDF, the hash it was drawn from, and who."""

    pdf_key: str
    pdf_hash: str
    full_name: str
    nif: str


def rendered_payslips(session: Session, payslip_ids: Sequence[str]) -> list[RenderedPayslip]:
    """Those of ``payslip_ids`` that have a drawn PDF (a deleted or failed one is left out)."""
    rows = session.execute(
        select(Payslip.pdf_key, Payslip.pdf_hash, Employee.full_name, Employee.nif)
        .join(Employee, Employee.id == Payslip.employee_id)
        .where(
            Payslip.id.in_(list(payslip_ids)),
            Payslip.pdf_key.is_not(None),
            Payslip.pdf_hash.is_not(None),
        )
    ).all()
    return [RenderedPayslip(*row) for row in rows]


def employee_of_user(session: Session, user_id: int, company_id: int) -> Employee | None:
    return session.scalar(
        select(Employee).where(Employee.user_id == user_id, Employee.company_id == company_id)
    )


def link_employee_user(session: Session, employee: Employee, user_id: int) -> None:
    """Let the employee-portal account ``user_id`` see ``employee``'s payslips (one only)."""
    session.execute(update(Employee).where(Employee.user_id == user_id).values(user_id=None))
    employee.user_id = user_id


# --- bundles ---------------------------------------------------------------------------------


def create_bundle(
    session: Session,
    *,
    company_id: int,
    period: str,
    payslip_ids: Sequence[str],
    chunk_size: int,
    employee_ids: Sequence[int] | None = None,
    requested_by: int | None = None,
    month_end_id: str | None = None,
) -> PayslipBundle:
    """A bundle row and its chunk rows (``chunk_size`` payslips each), not yet published."""
    chunks = [
        list(payslip_ids[start : start + chunk_size])
        for start in range(0, len(payslip_ids), chunk_size)
    ]
    bundle = PayslipBundle(
        company_id=company_id,
        period=period,
        employee_ids=list(employee_ids) if employee_ids is not None else None,
        requested_by=requested_by,
        month_end_id=month_end_id,
        total=len(payslip_ids),
        chunks_total=len(chunks),
        status=BundleStatus.QUEUED,
    )
    session.add(bundle)
    session.flush()
    session.add_all(
        PayslipBundleChunk(bundle_id=bundle.id, index=i, payslip_ids=ids, failures=[])
        for i, ids in enumerate(chunks)
    )
    return bundle


def open_chunks(session: Session, bundle_id: str) -> list[int]:
    """Indexes of the chunks of a bundle not yet counted."""
    return list(
        session.scalars(
            select(PayslipBundleChunk.index)
            .where(PayslipBundleChunk.bundle_id == bundle_id, PayslipBundleChunk.done.is_(False))
            .order_by(PayslipBundleChunk.index)
        )
    )


def finish_chunk(
    session: Session,
    bundle_id: str,
    index: int,
    *,
    rendered: int,
    cached: int,
    failures: list[dict[str, Any]],
) -> bool:
    """Count a chunk once; True only for the call that counted the bundle's last chunk.

    The chunk flag and the counters change in one transaction; the UPDATE's row lock makes
    concurrent last chunks wait, so exactly one of them sees every chunk done.
    """
    flipped = session.execute(
        update(PayslipBundleChunk)
        .where(
            PayslipBundleChunk.bundle_id == bundle_id,
            PayslipBundleChunk.index == index,
            PayslipBundleChunk.done.is_(False),
        )
        .values(done=True, failures=failures)
    )
    if flipped.rowcount == 0:  # type: ignore[attr-defined]
        return False  # a redelivered chunk: counted already
    session.execute(
        update(PayslipBundle)
        .where(PayslipBundle.id == bundle_id)
        .values(
            chunks_done=PayslipBundle.chunks_done + 1,
            rendered=PayslipBundle.rendered + rendered,
            cached=PayslipBundle.cached + cached,
            failed=PayslipBundle.failed + len(failures),
        )
    )
    done, total = session.execute(
        select(PayslipBundle.chunks_done, PayslipBundle.chunks_total).where(
            PayslipBundle.id == bundle_id
        )
    ).one()
    return bool(done == total)


def bundle_failures(session: Session, bundle_id: str) -> list[dict[str, Any]]:
    failures: list[dict[str, Any]] = []
    for chunk_failures in session.scalars(
        select(PayslipBundleChunk.failures)
        .where(PayslipBundleChunk.bundle_id == bundle_id)
        .order_by(PayslipBundleChunk.index)
    ):
        failures += chunk_failures or []
    return failures


def reusable_bundle_key(session: Session, company_id: int, content_hash: str) -> str | None:
    """The PDF of a ready bundle with exactly this content, if one exists."""
    return session.scalar(
        select(PayslipBundle.pdf_key)
        .where(
            PayslipBundle.company_id == company_id,
            PayslipBundle.content_hash == content_hash,
            PayslipBundle.status == BundleStatus.READY,
            PayslipBundle.pdf_key.is_not(None),
        )
        .limit(1)
    )


# --- month-end runs --------------------------------------------------------------------------


def finish_month_end_company(session: Session, run_id: str) -> bool:
    """Count one company's bundle as finished; True for the call that finished the run."""
    session.execute(
        update(MonthEndRun)
        .where(MonthEndRun.id == run_id)
        .values(companies_done=MonthEndRun.companies_done + 1)
    )
    done, total = session.execute(
        select(MonthEndRun.companies_done, MonthEndRun.companies_total).where(
            MonthEndRun.id == run_id
        )
    ).one()
    if done >= total:
        session.execute(
            update(MonthEndRun)
            .where(MonthEndRun.id == run_id)
            .values(status=MonthEndStatus.DONE, finished_at=utcnow())
        )
        return True
    return False


@dataclass(frozen=True, slots=True)
class MonthEndProgress:
    run: MonthEndRun
    rendered: int
    cached: int
    failed: int
    bundles_ready: int
    bundles_failed: int


def month_end_progress(session: Session, run: MonthEndRun) -> MonthEndProgress:
    """The run with its payslip counters summed over its bundles."""
    rendered, cached, failed = session.execute(
        select(
            func.coalesce(func.sum(PayslipBundle.rendered), 0),
            func.coalesce(func.sum(PayslipBundle.cached), 0),
            func.coalesce(func.sum(PayslipBundle.failed), 0),
        ).where(PayslipBundle.month_end_id == run.id)
    ).one()
    statuses = dict(
        session.execute(
            select(PayslipBundle.status, func.count())
            .where(PayslipBundle.month_end_id == run.id)
            .group_by(PayslipBundle.status)
        ).all()
    )
    return MonthEndProgress(
        run,
        int(rendered),
        int(cached),
        int(failed),
        int(statuses.get(BundleStatus.READY, 0)),
        int(statuses.get(BundleStatus.FAILED, 0)),
    )
