"""The payslip family: import payroll, render what is missing, merge ONE PDF, notify.

A bundle (one company's month, or its selected employees) is split into chunk rows in the
database; each ``render_chunk`` task (ids only: bundle id, chunk index) draws the payslips
whose cached PDF is missing or stale, then counts its chunk once. The task that counts the
last chunk publishes ``merge_bundle``. No chord: progress lives in our tables, so a month-end
run of thousands of payslips needs no result backend. The month-end batch makes one bundle
per company of the advisory, all chunked across whatever workers consume ``payslips``.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, BinaryIO, Final

from celery import Task
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.payroll import (
    FiguresError,
    PayslipFigures,
    Problem,
    ProblemCode,
    figures_from_json,
    figures_to_json,
    parse_period,
)
from pipeline.payroll_import import (
    ImportFormat,
    ImportProblem,
    PayrollImport,
    guess_format,
    parse_payroll,
)
from pipeline.payroll_rates import ContractType
from pipeline.payslip_merge import merge_payslips
from pipeline.payslip_pdf import (
    PayslipHeader,
    payslip_hash,
    render_payslip,
    sort_key,
)
from storage.db import transaction
from storage.keys import ObjectRole, object_key
from storage.models import Company, utcnow
from storage.objects import StoreUnavailable
from storage.payroll import (
    BundleStatus,
    Change,
    Employee,
    MonthEndRun,
    MonthEndStatus,
    PayrollCompany,
    Payslip,
    PayslipBundle,
    PayslipBundleChunk,
    PayslipTotals,
    create_bundle,
    finish_chunk,
    finish_month_end_company,
    mark_rendered,
    open_chunks,
    period_payslip_ids,
    rendered_payslips,
    reusable_bundle_key,
    save_employee,
    save_payroll_company,
    save_payslip,
)
from workers.app import app
from workers.notifications import notify_payslips_ready
from workers.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)

__all__ = [  # what ingest/ uses (it may not import pipeline/ itself)
    "ImportFormat",
    "ImportProblem",
    "PayrollImport",
    "guess_format",
    "parse_payroll",
    "parse_period",
]

TRANSIENT_ERRORS: Final = (StoreUnavailable, sa_exc.OperationalError, sa_exc.InterfaceError)
FINAL: Final = (BundleStatus.READY, BundleStatus.FAILED)


class PayslipTask(Task):
    """Retries store and database hiccups with backoff and jitter."""

    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 8


# --- import ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportSummary:
    employees: int
    created: int
    updated: int
    unchanged: int


def company_problems(company: Company, parsed: PayrollImport) -> list[ImportProblem]:
    """A file naming another company is refused as a whole."""
    nif = parsed.company.nif
    if nif and nif != company.nif:
        return [
            ImportProblem(
                0,
                "company.nif",
                ProblemCode.INVALID_NIF,
                f"el fichero es de la empresa {nif}, no de {company.nif}",
            )
        ]
    return []


def store_payroll_import(
    session: Session, company: Company, parsed: PayrollImport
) -> ImportSummary:
    """Save a checked import (``parsed.ok``) in the caller's transaction: all or nothing."""
    if not parsed.ok:
        raise ValueError("an import with problems is never stored")
    save_payroll_company(
        session, company.id, parsed.company.address or "", parsed.company.ccc or ""
    )
    changes: dict[Change, int] = dict.fromkeys(Change, 0)
    employees: set[int] = set()
    for record in parsed.payslips:
        person, figures = record.employee, record.figures
        employee = save_employee(
            session,
            company.id,
            person.nif,
            naf=person.naf,
            full_name=person.full_name,
            professional_group=person.professional_group,
            category=person.category,
            contribution_group=person.contribution_group,
            seniority=person.seniority,
            contract_type=person.contract_type.value,
        )
        employees.add(employee.id)
        totals = PayslipTotals(
            figures.total_accrued, figures.total_deductions, figures.net, figures.employer_cost
        )
        changes[
            save_payslip(session, employee, record.period, figures_to_json(figures), totals)
        ] += 1
    return ImportSummary(
        len(employees), changes[Change.CREATED], changes[Change.UPDATED], changes[Change.UNCHANGED]
    )


# --- rendering -------------------------------------------------------------------------------


def payslip_header(
    company: Company, employer: PayrollCompany | None, employee: Employee
) -> PayslipHeader:
    contract = {
        ContractType.INDEFINIDO: "Indefinido",
        ContractType.TEMPORAL: "Duración determinada",
    }.get(ContractType(employee.contract_type), employee.contract_type)
    return PayslipHeader(
        company_name=company.name,
        company_address=employer.address if employer else "",
        company_nif=company.nif,
        company_ccc=employer.ccc if employer else "",
        employee_name=employee.full_name,
        employee_nif=employee.nif,
        employee_naf=employee.naf,
        professional_group=employee.professional_group,
        contribution_group=employee.contribution_group,
        category=employee.category,
        seniority=employee.seniority,
        contract_type=contract,
    )


def payslip_figures(payslip: Payslip) -> PayslipFigures:
    return figures_from_json(payslip.figures)


@dataclass(frozen=True, slots=True)
class RenderResult:
    drawn: dict[str, tuple[str, str]]  # payslip id → (object key, data hash), stored
    cached: int
    failures: list[dict[str, Any]]


def draw_missing(runtime: Runtime, payslip_ids: Sequence[str]) -> RenderResult:
    """Draw each payslip whose cached PDF is missing or drawn from other data; store them.

    The PDFs are on disk when this returns; recording them (`mark_rendered`) is the caller's
    transaction, so a payslip is never marked rendered without its file.
    """
    with runtime.sessions() as session:
        rows = session.execute(
            select(Payslip, Employee, Company, PayrollCompany)
            .join(Employee, Employee.id == Payslip.employee_id)
            .join(Company, Company.id == Payslip.company_id)
            .outerjoin(PayrollCompany, PayrollCompany.company_id == Payslip.company_id)
            .where(Payslip.id.in_(list(payslip_ids)))
        ).all()
    drawn: dict[str, tuple[str, str]] = {}
    pdfs: list[tuple[str, bytes]] = []
    cached = 0
    failures: list[dict[str, Any]] = []
    for payslip, employee, company, employer in rows:
        try:
            header = payslip_header(company, employer, employee)
            figures = payslip_figures(payslip)
            digest = payslip_hash(header, figures)
            if payslip.pdf_hash == digest and payslip.pdf_key:
                cached += 1
                continue
            pdf = render_payslip(header, figures)
        except (FiguresError, ValueError, KeyError) as error:
            failures.append(
                {"payslip_id": payslip.id, "employee_id": employee.id, "error": str(error)[:500]}
            )
            continue
        key = object_key(
            payslip.company_id, figures.year, digest[:32], ObjectRole.PAYSLIP, "nomina.pdf"
        )
        pdfs.append((key, pdf))
        drawn[payslip.id] = (key, digest)
    # One batch: the store makes the whole chunk durable at once, not file by file.
    runtime.store.put_many(pdfs, content_type="application/pdf")
    missing = set(payslip_ids) - {row[0].id for row in rows}
    failures += [
        {"payslip_id": i, "employee_id": None, "error": "payslip deleted"} for i in missing
    ]
    return RenderResult(drawn, cached, failures)


def ensure_rendered(runtime: Runtime, payslip_id: str) -> str:
    """The object key of one payslip's PDF, drawing it first when needed (the portal's view)."""
    result = draw_missing(runtime, [payslip_id])
    if result.failures:
        raise ValueError(result.failures[0]["error"])
    with transaction(runtime.sessions) as session:
        mark_rendered(session, result.drawn, utcnow())
        return session.get_one(Payslip, payslip_id).pdf_key or ""


# --- bundles ---------------------------------------------------------------------------------


def plan_bundle(
    session: Session,
    *,
    company_id: int,
    period: str,
    employee_ids: Sequence[int] | None,
    requested_by: int | None,
    chunk_size: int,
    month_end_id: str | None = None,
) -> PayslipBundle:
    """A bundle of the period's payslips (all, or the selected employees'), chunked."""
    return create_bundle(
        session,
        company_id=company_id,
        period=period,
        payslip_ids=period_payslip_ids(session, company_id, period, employee_ids),
        chunk_size=chunk_size,
        employee_ids=employee_ids,
        requested_by=requested_by,
        month_end_id=month_end_id,
    )


def start_bundle(bundle_id: str) -> None:
    """Publish a render task per open chunk (or the merge, when nothing is left to draw)."""
    with get_runtime().sessions() as session:
        chunks = open_chunks(session, bundle_id)
    if not chunks:
        merge_bundle.apply_async((bundle_id,))
    for index in chunks:
        render_chunk.apply_async((bundle_id, index))


@app.task(name="papeleo.payslips.render_chunk", base=PayslipTask, bind=True)
def render_chunk(self: Task, bundle_id: str, index: int) -> int:
    """Draw what is missing in one chunk of a bundle; the last chunk hands on to the merge."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        chunk = session.get(PayslipBundleChunk, (bundle_id, index))
        if chunk is None or chunk.done:
            return 0  # a redelivery of a counted chunk
        payslip_ids = list(chunk.payslip_ids)
        session.execute(
            update(PayslipBundle)
            .where(PayslipBundle.id == bundle_id, PayslipBundle.status == BundleStatus.QUEUED)
            .values(status=BundleStatus.RENDERING)
        )
    result = draw_missing(runtime, payslip_ids)
    with transaction(runtime.sessions) as session:  # one commit per chunk
        mark_rendered(session, result.drawn, utcnow())
        last = finish_chunk(
            session,
            bundle_id,
            index,
            rendered=len(result.drawn),
            cached=result.cached,
            failures=result.failures,
        )
    if last:
        merge_bundle.apply_async((bundle_id,))
    return len(result.drawn)


@app.task(name="papeleo.payslips.merge_bundle", base=PayslipTask, bind=True)
def merge_bundle(self: Task, bundle_id: str) -> str | None:
    """Merge the bundle's payslips into ONE PDF ordered by name, a bookmark each; store it."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        bundle = session.get(PayslipBundle, bundle_id)
        if bundle is None or bundle.status in FINAL:
            return None
        bundle.status = BundleStatus.MERGING
        wanted: set[str] = set()
        for ids in session.scalars(
            select(PayslipBundleChunk.payslip_ids).where(PayslipBundleChunk.bundle_id == bundle_id)
        ):
            wanted |= set(ids)
        rows = rendered_payslips(session, list(wanted))
        company_id, period = bundle.company_id, bundle.period
    if not rows:
        _finish(bundle_id, BundleStatus.FAILED, error="no hay nóminas que unir en el fichero")
        return None
    rows.sort(key=lambda row: (sort_key(row.full_name), row.nif))
    titles = [f"{row.full_name} ({row.nif})" for row in rows]
    content_hash = hashlib.sha256(
        "\n".join(
            f"{row.pdf_hash} {title}" for row, title in zip(rows, titles, strict=True)
        ).encode()
    ).hexdigest()
    with runtime.sessions() as session:
        key = reusable_bundle_key(session, company_id, content_hash)
    if key is None or not runtime.store.exists(key):
        year = parse_period(period)[0]
        key = object_key(company_id, year, bundle_id, ObjectRole.BUNDLE, f"nominas-{period}.pdf")
        # A generator: each payslip is read from the store only when the merge reaches it.
        items = (
            (title, _read_object(runtime, row.pdf_key))
            for row, title in zip(rows, titles, strict=True)
        )
        with TemporaryDirectory(prefix="papeleo-bundle-") as scratch:
            output = Path(scratch) / "bundle.pdf"
            merged = merge_payslips(items, output)
            runtime.store.put_file(key, output, content_type="application/pdf")
        pages = merged.pages
    else:
        pages = len(rows)  # the same payslips were merged before: reuse that file
    _finish(bundle_id, BundleStatus.READY, key=key, pages=pages, content_hash=content_hash)
    return key


def _read_object(runtime: Runtime, key: str) -> BinaryIO:
    """A small object (one payslip) in memory: seekable, as a PDF reader needs."""
    with runtime.store.open(key) as source:
        return io.BytesIO(source.read())


def _finish(
    bundle_id: str,
    status: BundleStatus,
    *,
    key: str | None = None,
    pages: int | None = None,
    content_hash: str | None = None,
    error: str | None = None,
) -> None:
    """Close the bundle once, then tell whoever waits (its requester, or its month-end run)."""
    with transaction(get_runtime().sessions) as session:
        closed = session.execute(
            update(PayslipBundle)
            .where(PayslipBundle.id == bundle_id, PayslipBundle.status.not_in(FINAL))
            .values(
                status=status,
                pdf_key=key,
                pages=pages,
                content_hash=content_hash,
                error=error,
                finished_at=utcnow(),
            )
        )
        if closed.rowcount == 0:  # type: ignore[attr-defined]
            return
        bundle = session.get_one(PayslipBundle, bundle_id)
        run_finished = bundle.month_end_id is not None and finish_month_end_company(
            session, bundle.month_end_id
        )
        ready = status == BundleStatus.READY and bundle.month_end_id is None
        notice = (bundle.id, bundle.company_id, bundle.requested_by, bundle.period, pages or 0)
        run_id = bundle.month_end_id
    if ready:
        notify_payslips_ready(
            notice[0],
            company_id=notice[1],
            requested_by=notice[2],
            period=notice[3],
            employees=notice[4],
        )
    if run_finished and run_id:
        log.info("month-end run %s finished", run_id)


# --- month-end -------------------------------------------------------------------------------


def companies_with_payslips(session: Session, advisory_id: int, period: str) -> list[int]:
    return list(
        session.scalars(
            select(Company.id)
            .where(
                Company.advisory_id == advisory_id,
                Company.id.in_(select(Payslip.company_id).where(Payslip.period == period)),
            )
            .order_by(Company.id)
        )
    )


def create_month_end(
    session: Session, advisory_id: int, period: str, requested_by: int | None
) -> MonthEndRun:
    parse_period(period)
    run = MonthEndRun(advisory_id=advisory_id, period=period, requested_by=requested_by)
    session.add(run)
    session.flush()
    return run


def start_month_end(run_id: str) -> None:
    month_end.apply_async((run_id,))


@app.task(name="papeleo.payslips.month_end", base=PayslipTask, bind=True)
def month_end(self: Task, run_id: str) -> int:
    """One full bundle per company of the advisory with payslips in the period; publish them."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        run = session.get(MonthEndRun, run_id)
        if run is None or run.status == MonthEndStatus.DONE:
            return 0
        bundles = list(
            session.scalars(select(PayslipBundle.id).where(PayslipBundle.month_end_id == run_id))
        )
        if not bundles:  # first delivery: plan; a redelivery republishes what is open
            for company_id in companies_with_payslips(session, run.advisory_id, run.period):
                bundle = plan_bundle(
                    session,
                    company_id=company_id,
                    period=run.period,
                    employee_ids=None,
                    requested_by=run.requested_by,
                    chunk_size=runtime.settings.payslip_chunk_size,
                    month_end_id=run.id,
                )
                bundles.append(bundle.id)
                run.payslips_total += bundle.total
            run.companies_total = len(bundles)
        run.status = MonthEndStatus.RUNNING if bundles else MonthEndStatus.DONE
        if not bundles:
            run.finished_at = utcnow()
    for bundle_id in bundles:
        start_bundle(bundle_id)
    return len(bundles)


def problem_dict(problem: ImportProblem | Problem) -> dict[str, Any]:
    line = getattr(problem, "line", 0)
    return {
        "line": line,
        "field": problem.field,
        "code": problem.code.value,
        "message": problem.message,
    }
