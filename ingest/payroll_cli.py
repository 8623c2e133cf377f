"""``papeleo payroll …`` and ``papeleo payslips …``: import payroll, link employees, month-end."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Advisory, Company, Role, User
from storage.payroll import Employee as EmployeeRow
from storage.payroll import (
    MonthEndRun,
    MonthEndStatus,
    PayslipBundle,
    bundle_failures,
    link_employee_user,
    month_end_progress,
)
from workers.payslips import (
    ImportFormat,
    company_problems,
    create_month_end,
    guess_format,
    parse_payroll,
    parse_period,
    problem_dict,
    start_month_end,
    store_payroll_import,
)
from workers.runtime import get_runtime


def _advisory(session: Session, code: str | None) -> Advisory:
    query = select(Advisory) if code is None else select(Advisory).where(Advisory.code == code)
    advisories = list(session.scalars(query.limit(2)))
    if len(advisories) != 1:
        raise click.UsageError(
            "advisory not found" if not advisories else "several advisories: pass --advisory-code"
        )
    return advisories[0]


def _company(session: Session, advisory: Advisory, nif: str) -> Company:
    company = session.scalar(
        select(Company).where(
            Company.advisory_id == advisory.id, Company.nif == nif.strip().upper()
        )
    )
    if company is None:
        raise click.UsageError(f"no company with NIF {nif} in advisory {advisory.code}")
    return company


@click.group()
def payroll() -> None:
    """Payroll data: import a month's payslips, link employee-portal users."""


@payroll.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--company-nif", required=True)
@click.option("--advisory-code", default=None, help="needed when there are several")
@click.option("--format", "fmt", type=click.Choice([f.value for f in ImportFormat]), default=None)
def import_command(
    file: Path, company_nif: str, advisory_code: str | None, fmt: str | None
) -> None:
    """Import FILE (CSV or JSON, see README "Payslips"); on any error nothing is imported."""
    parsed = parse_payroll(file.read_bytes(), fmt or guess_format(file.name, None))
    with get_runtime().sessions.begin() as session:
        company = _company(session, _advisory(session, advisory_code), company_nif)
        problems = [*company_problems(company, parsed), *parsed.problems]
        if problems or not parsed.payslips:
            for problem in problems:
                line = problem_dict(problem)
                click.echo(
                    f"línea {line['line']}: {line['field']}: {line['message']} ({line['code']})",
                    err=True,
                )
            raise click.ClickException(
                f"{len(problems) or 'no'} error(s) in {file.name}: nothing was imported"
            )
        summary = store_payroll_import(session, company, parsed)
    click.echo(
        f"{len(parsed.payslips)} payslip(s) of {summary.employees} employee(s) imported into "
        f"{company.name}: {summary.created} new, {summary.updated} updated, "
        f"{summary.unchanged} unchanged"
    )


@payroll.command("link-user")
@click.option("--company-nif", required=True)
@click.option("--employee-nif", required=True)
@click.option("--username", required=True, help="an existing user with role employee")
@click.option("--advisory-code", default=None)
def link_user(
    company_nif: str, employee_nif: str, username: str, advisory_code: str | None
) -> None:
    """Let an employee-portal user see this employee's payslips (and only those)."""
    with get_runtime().sessions.begin() as session:
        advisory = _advisory(session, advisory_code)
        company = _company(session, advisory, company_nif)
        user = session.scalar(
            select(User).where(User.advisory_id == advisory.id, User.username == username)
        )
        if user is None or user.role != Role.EMPLOYEE:
            raise click.UsageError(f"no employee user {username!r}")
        employee = session.scalar(
            select(EmployeeRow).where(
                EmployeeRow.company_id == company.id, EmployeeRow.nif == employee_nif.upper()
            )
        )
        if employee is None:
            raise click.UsageError(f"no employee {employee_nif} in {company.name}")
        link_employee_user(session, employee, user.id)
    click.echo(f"{username} now sees the payslips of {employee.full_name}")


@click.group()
def payslips() -> None:
    """Payslip batches."""


@payslips.command("month-end")
@click.argument("period")
@click.option("--advisory-code", default=None, help="needed when there are several")
@click.option("--wait/--no-wait", default=True, show_default=True, help="follow the progress")
@click.option("--timeout", default=3600, show_default=True, help="seconds to follow it")
def month_end_command(period: str, advisory_code: str | None, wait: bool, timeout: int) -> None:
    """Render and bundle every company's payslips of PERIOD (YYYY-MM) on the workers."""
    try:
        parse_period(period)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    runtime = get_runtime()
    with runtime.sessions.begin() as session:
        advisory = _advisory(session, advisory_code)
        run_id = create_month_end(session, advisory.id, period, None).id
    start_month_end(run_id)
    click.echo(f"month-end run {run_id} for {period} queued")
    if not wait:
        return
    console = Console()
    deadline = time.monotonic() + timeout
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"nóminas {period}", total=None, detail="planning")
        while True:
            with runtime.sessions() as session:
                run = session.get_one(MonthEndRun, run_id)
                progress = month_end_progress(session, run)
            done = progress.rendered + progress.cached + progress.failed
            bar.update(
                task,
                total=run.payslips_total or None,
                completed=done,
                detail=(
                    f"{run.companies_done}/{run.companies_total} companies · "
                    f"{progress.rendered} drawn, {progress.cached} cached, "
                    f"{progress.failed} failed"
                ),
            )
            if run.status == MonthEndStatus.DONE:
                break
            if time.monotonic() > deadline:
                raise click.ClickException(f"run {run_id} still running after {timeout}s")
            time.sleep(0.5)
    _summary(console, run_id)


def _summary(console: Console, run_id: str) -> None:
    with get_runtime().sessions() as session:
        run = session.get_one(MonthEndRun, run_id)
        progress = month_end_progress(session, run)
        console.print(
            f"{run.companies_total} companies, {run.payslips_total} payslips: "
            f"{progress.rendered} drawn, {progress.cached} already drawn, "
            f"{progress.failed} failed; {progress.bundles_ready} files ready, "
            f"{progress.bundles_failed} failed"
        )
        problems = session.execute(
            select(PayslipBundle, Company.name)
            .join(Company, Company.id == PayslipBundle.company_id)
            .where(
                PayslipBundle.month_end_id == run_id,
                (PayslipBundle.failed > 0) | (PayslipBundle.error.is_not(None)),
            )
        ).all()
        if not problems:
            return
        table = Table("company", "what failed", "why", title="Failures")
        for bundle, name in problems:
            if bundle.error:
                table.add_row(name, "file", bundle.error)
            for failure in bundle_failures(session, bundle.id):
                table.add_row(name, f"payslip {failure['payslip_id']}", failure["error"])
        console.print(table)
