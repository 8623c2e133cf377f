"""Payroll imports, the month's payslip summary, bundles (ONE PDF), the month-end batch.

Advisors and client users work on their companies; an employee (role ``employee``, linked
to their employee record) sees only their own payslips. Anything else answers 404.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from ingest.auth import can_read_documents, visible_companies
from ingest.deps import NOT_FOUND, RuntimeDep, SessionDep, UserDep
from storage.models import Company, Role, User
from storage.payroll import (
    BundleStatus,
    Employee,
    MonthEndRun,
    Payslip,
    PayslipBundle,
    bundle_failures,
    employee_of_user,
    month_end_progress,
    period_payslips,
)
from workers.payslips import (
    ImportFormat,
    company_problems,
    create_month_end,
    ensure_rendered,
    guess_format,
    parse_payroll,
    plan_bundle,
    problem_dict,
    start_bundle,
    start_month_end,
    store_payroll_import,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["payslips"])
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
PeriodQuery = Annotated[str, Query(pattern=PERIOD, description="YYYY-MM", examples=["2026-11"])]


# --- shapes ----------------------------------------------------------------------------------


class ImportOut(BaseModel):
    payslips: int
    employees: int
    created: int
    updated: int
    unchanged: int


class PayslipLine(BaseModel):
    payslip_id: str
    employee_id: int
    name: str
    nif: str
    gross: Decimal
    deductions: Decimal
    net: Decimal
    employer_cost: Decimal
    rendered: bool


class MonthTotals(BaseModel):
    employees: int
    gross: Decimal
    deductions: Decimal
    net: Decimal
    employer_cost: Decimal


class MonthOut(BaseModel):
    company_id: int
    period: str
    employees: list[PayslipLine]
    totals: MonthTotals


class PeriodOut(BaseModel):
    period: str
    employees: int
    gross: Decimal
    net: Decimal
    employer_cost: Decimal


class BundleIn(BaseModel):
    period: str = Field(pattern=PERIOD, examples=["2026-11"])
    employee_ids: list[int] | None = Field(
        default=None, max_length=5000, description="omit for every payslip of the month"
    )


class BundleOut(BaseModel):
    id: str
    company_id: int
    period: str
    kind: str = Field(description="completo (every payslip) or seleccionados")
    employee_ids: list[int] | None
    status: str
    total: int
    rendered: int
    cached: int
    failed: int
    pages: int | None
    error: str | None
    failures: list[dict[str, Any]]
    download_url: str | None = Field(description="short-lived link, minted on each request")

    @classmethod
    def of(
        cls, bundle: PayslipBundle, failures: list[dict[str, Any]], url: str | None
    ) -> BundleOut:
        return cls(
            id=bundle.id,
            company_id=bundle.company_id,
            period=bundle.period,
            kind="completo" if bundle.employee_ids is None else "seleccionados",
            employee_ids=bundle.employee_ids,
            status=bundle.status,
            total=bundle.total,
            rendered=bundle.rendered,
            cached=bundle.cached,
            failed=bundle.failed,
            pages=bundle.pages,
            error=bundle.error,
            failures=failures,
            download_url=url,
        )


class MonthEndIn(BaseModel):
    period: str = Field(pattern=PERIOD, examples=["2026-11"])


class CompanyOutcome(BaseModel):
    company_id: int
    company_name: str
    bundle_id: str
    status: str
    total: int
    rendered: int
    cached: int
    failed: int
    error: str | None
    failures: list[dict[str, Any]]


class MonthEndOut(BaseModel):
    id: str
    period: str
    status: str
    companies_total: int
    companies_done: int
    payslips_total: int
    rendered: int
    cached: int
    failed: int
    companies: list[CompanyOutcome]


# --- who may see what ------------------------------------------------------------------------


def payroll_scope(session: Any, user: User, company_id: int) -> tuple[Company, Employee | None]:
    """The company, and for an employee their own record (everything else of it is hidden)."""
    company = session.scalar(visible_companies(user).where(Company.id == company_id))
    if company is None:
        raise NOT_FOUND
    if can_read_documents(user):
        return company, None
    employee = (
        employee_of_user(session, user.id, company.id) if user.role == Role.EMPLOYEE else None
    )
    if employee is None:
        raise NOT_FOUND
    return company, employee


def _staff_only(employee: Employee | None) -> None:
    if employee is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Solo la empresa o la asesoría")


# --- imports ---------------------------------------------------------------------------------


@router.post(
    "/v1/companies/{company_id}/payroll/imports",
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "per-line errors; nothing was imported"}},
)
def import_payroll(
    company_id: int,
    user: UserDep,
    session: SessionDep,
    rt: RuntimeDep,
    file: Annotated[UploadFile, File(description="CSV or JSON in the documented format")],
    format_: Annotated[ImportFormat | None, Form(alias="format")] = None,
) -> Any:
    """Import a month of payroll: every line is checked; on any error nothing is stored."""
    company, employee = payroll_scope(session, user, company_id)
    _staff_only(employee)
    data = file.file.read(rt.settings.max_upload_bytes + 1)
    if len(data) > rt.settings.max_upload_bytes:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "Fichero demasiado grande")
    parsed = parse_payroll(data, format_ or guess_format(file.filename, file.content_type))
    problems = [*company_problems(company, parsed), *parsed.problems]
    if problems or not parsed.payslips:
        errors = [problem_dict(p) for p in problems] or [
            {"line": 0, "field": "file", "code": "missing", "message": "sin nóminas"}
        ]
        return JSONResponse(status_code=422, content={"imported": 0, "errors": errors})
    summary = store_payroll_import(session, company, parsed)
    session.commit()
    return ImportOut(
        payslips=len(parsed.payslips),
        employees=summary.employees,
        created=summary.created,
        updated=summary.updated,
        unchanged=summary.unchanged,
    )


# --- the month -------------------------------------------------------------------------------


@router.get("/v1/companies/{company_id}/payroll/periods")
def payroll_periods(company_id: int, user: UserDep, session: SessionDep) -> list[PeriodOut]:
    """Every month with payslips, newest first, with its totals ("Nóminas" screen)."""
    company, employee = payroll_scope(session, user, company_id)
    query = select(
        Payslip.period,
        func.count(),
        func.sum(Payslip.gross),
        func.sum(Payslip.net),
        func.sum(Payslip.employer_cost),
    ).where(Payslip.company_id == company.id)
    if employee is not None:
        query = query.where(Payslip.employee_id == employee.id)
    rows = session.execute(query.group_by(Payslip.period).order_by(Payslip.period.desc())).all()
    return [
        PeriodOut(period=p, employees=n, gross=g, net=net, employer_cost=c)
        for p, n, g, net, c in rows
    ]


@router.get("/v1/companies/{company_id}/payslips")
def month_summary(
    company_id: int, period: PeriodQuery, user: UserDep, session: SessionDep
) -> MonthOut:
    """The month: each employee's gross, deductions, net and employer cost, and the totals."""
    company, employee = payroll_scope(session, user, company_id)
    rows = period_payslips(
        session, company.id, period, [employee.id] if employee is not None else None
    )
    lines = [
        PayslipLine(
            payslip_id=p.id,
            employee_id=e.id,
            name=e.full_name,
            nif=e.nif,
            gross=p.gross,
            deductions=p.deductions,
            net=p.net,
            employer_cost=p.employer_cost,
            rendered=p.pdf_key is not None,
        )
        for p, e in rows
    ]

    def total(name: str) -> Decimal:
        return sum((getattr(line, name) for line in lines), Decimal("0.00"))

    return MonthOut(
        company_id=company.id,
        period=period,
        employees=lines,
        totals=MonthTotals(
            employees=len(lines),
            gross=total("gross"),
            deductions=total("deductions"),
            net=total("net"),
            employer_cost=total("employer_cost"),
        ),
    )


@router.get("/v1/companies/{company_id}/payslips/{payslip_id}/download")
def download_payslip(
    company_id: int, payslip_id: str, user: UserDep, session: SessionDep, rt: RuntimeDep
) -> RedirectResponse:
    """One payslip's PDF (drawn now if it is not cached): redirect to a short-lived link."""
    company, employee = payroll_scope(session, user, company_id)
    payslip = session.get(Payslip, payslip_id)
    if (
        payslip is None
        or payslip.company_id != company.id
        or (employee is not None and payslip.employee_id != employee.id)
    ):
        raise NOT_FOUND
    key = ensure_rendered(rt, payslip.id)
    url = rt.store.download_url(
        key,
        expires=timedelta(seconds=rt.settings.download_url_ttl_seconds),
        file_name=f"nomina-{payslip.period}.pdf",
    )
    return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)


# --- bundles ---------------------------------------------------------------------------------


@router.post("/v1/companies/{company_id}/payslips/bundles", status_code=status.HTTP_202_ACCEPTED)
def create_payslip_bundle(
    company_id: int, body: BundleIn, user: UserDep, session: SessionDep, rt: RuntimeDep
) -> BundleOut:
    """ONE PDF of the month: every payslip, or the selected employees' (``employee_ids``)."""
    company, employee = payroll_scope(session, user, company_id)
    employee_ids = body.employee_ids
    if employee is not None:  # an employee's "bundle" is their own payslip
        if employee_ids not in (None, [employee.id]):
            raise NOT_FOUND
        employee_ids = [employee.id]
    if employee_ids is not None:
        employee_ids = sorted(set(employee_ids))
        found = {e.id for _, e in period_payslips(session, company.id, body.period, employee_ids)}
        unknown = [i for i in employee_ids if i not in found]
        if unknown or not employee_ids:
            raise HTTPException(
                422, f"Sin nómina de {body.period} para los empleados {unknown or '[]'}"
            )
    bundle = plan_bundle(
        session,
        company_id=company.id,
        period=body.period,
        employee_ids=employee_ids,
        requested_by=user.id,
        chunk_size=rt.settings.payslip_chunk_size,
    )
    if bundle.total == 0:
        session.rollback()
        raise HTTPException(422, f"No hay nóminas de {body.period} en esta empresa")
    session.commit()
    try:
        start_bundle(bundle.id)
    except Exception:  # the broker is down: the bundle stays queued and can be started again
        log.exception("could not publish payslip bundle %s", bundle.id)
    return BundleOut.of(bundle, [], None)


@router.get("/v1/companies/{company_id}/payslips/bundles/{bundle_id}")
def get_payslip_bundle(
    company_id: int, bundle_id: str, user: UserDep, session: SessionDep, rt: RuntimeDep
) -> BundleOut:
    """Progress (rendered / cached / failed of total) and, when ready, a short-lived link."""
    company, employee = payroll_scope(session, user, company_id)
    bundle = session.get(PayslipBundle, bundle_id)
    if bundle is None or bundle.company_id != company.id:
        raise NOT_FOUND
    if employee is not None and bundle.requested_by != user.id:
        raise NOT_FOUND
    url = None
    if bundle.status == BundleStatus.READY and bundle.pdf_key:
        kind = "completo" if bundle.employee_ids is None else "seleccionados"
        url = rt.store.download_url(
            bundle.pdf_key,
            expires=timedelta(seconds=rt.settings.download_url_ttl_seconds),
            file_name=f"nominas-{bundle.period}-{kind}.pdf",
        )
    return BundleOut.of(bundle, bundle_failures(session, bundle.id), url)


# --- month-end -------------------------------------------------------------------------------


def _advisor(user: User) -> None:
    if user.role != Role.ADVISOR:
        raise NOT_FOUND


@router.post("/v1/payroll/month-end", status_code=status.HTTP_202_ACCEPTED)
def trigger_month_end(body: MonthEndIn, user: UserDep, session: SessionDep) -> MonthEndOut:
    """Advisors: every company's payslips of the period, rendered and bundled per company."""
    _advisor(user)
    run = create_month_end(session, user.advisory_id, body.period, user.id)
    session.commit()
    start_month_end(run.id)
    return _month_end_out(session, run)


@router.get("/v1/payroll/month-end/{run_id}")
def month_end_status(run_id: str, user: UserDep, session: SessionDep) -> MonthEndOut:
    """Progress of a month-end run and, per company, what failed and why."""
    _advisor(user)
    run = session.get(MonthEndRun, run_id)
    if run is None or run.advisory_id != user.advisory_id:
        raise NOT_FOUND
    return _month_end_out(session, run)


def _month_end_out(session: Any, run: MonthEndRun) -> MonthEndOut:
    progress = month_end_progress(session, run)
    rows = session.execute(
        select(PayslipBundle, Company.name)
        .join(Company, Company.id == PayslipBundle.company_id)
        .where(PayslipBundle.month_end_id == run.id)
        .order_by(Company.name)
    ).all()
    return MonthEndOut(
        id=run.id,
        period=run.period,
        status=run.status,
        companies_total=run.companies_total,
        companies_done=run.companies_done,
        payslips_total=run.payslips_total,
        rendered=progress.rendered,
        cached=progress.cached,
        failed=progress.failed,
        companies=[
            CompanyOutcome(
                company_id=bundle.company_id,
                company_name=name,
                bundle_id=bundle.id,
                status=bundle.status,
                total=bundle.total,
                rendered=bundle.rendered,
                cached=bundle.cached,
                failed=bundle.failed,
                error=bundle.error,
                failures=bundle_failures(session, bundle.id) if bundle.failed else [],
            )
            for bundle, name in rows
        ],
    )
