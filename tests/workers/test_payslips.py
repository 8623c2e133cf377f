"""The payslip tasks in-process (eager) on SQLite and PostgreSQL: bundles, cache, month-end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from ingest.accounts import ensure_account
from storage.models import Company, Role
from storage.payroll import BundleStatus, Employee, MonthEndRun, MonthEndStatus, PayslipBundle
from tests.payroll_data import payroll_json
from tests.workers.in_process import worker_runtime
from workers.payslips import (
    create_month_end,
    month_end,
    parse_payroll,
    plan_bundle,
    start_bundle,
    store_payroll_import,
)
from workers.runtime import get_runtime
from workers.settings import Settings


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[None]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        broker_url="memory://",
        storage="filesystem",
        payslip_chunk_size=4,
    )
    with worker_runtime(settings):
        yield


def company_with_payroll(nif: str, seeds: range, company_seed: int = 1) -> int:
    with get_runtime().sessions.begin() as session:
        user = ensure_account(
            session,
            advisory_code="6",
            username=f"c{nif}",
            password="pw-12345678",
            role=Role.CLIENT,
            company_nifs=[nif],
            company_name=f"Empresa {nif}",
        )
        company = session.scalar(select(Company).where(Company.nif == nif))
        parsed = parse_payroll(payroll_json(seeds, company_seed=company_seed), "json")
        assert parsed.ok, parsed.problems
        store_payroll_import(session, company, parsed)
        del user
        return company.id


def planned(company_id: int, employee_ids=None) -> str:
    """The id of a bundle planned (chunks of 4) and not yet started."""
    with get_runtime().sessions.begin() as session:
        return plan_bundle(
            session,
            company_id=company_id,
            period="2026-11",
            employee_ids=employee_ids,
            requested_by=None,
            chunk_size=4,
        ).id


def bundle(company_id: int, employee_ids=None) -> PayslipBundle:
    bundle_id = planned(company_id, employee_ids)
    start_bundle(bundle_id)
    with get_runtime().sessions() as session:
        return session.get_one(PayslipBundle, bundle_id)


def pdf_of(row: PayslipBundle, tmp_path: Path) -> PdfReader:
    path = tmp_path / f"{row.id}.pdf"
    get_runtime().store.get_file(row.pdf_key, path)
    return PdfReader(path)


def test_full_and_selected_bundles(runtime, tmp_path):
    company = company_with_payroll("B12345674", range(1, 11))
    full = bundle(company)
    assert full.status == BundleStatus.READY
    assert (full.total, full.rendered, full.cached, full.failed, full.pages) == (10, 10, 0, 0, 10)
    assert full.chunks_done == full.chunks_total == 3
    reader = pdf_of(full, tmp_path)
    assert len(reader.pages) == 10
    titles = [item.title for item in reader.outline]
    assert len(titles) == 10
    with get_runtime().sessions() as session:
        employees = list(session.scalars(select(Employee).where(Employee.company_id == company)))
    from pipeline.payslip_pdf import sort_key

    expected = sorted(employees, key=lambda e: (sort_key(e.full_name), e.nif))
    assert titles == [f"{e.full_name} ({e.nif})" for e in expected]
    for page, employee in zip(reader.pages, expected, strict=True):
        assert employee.nif in page.extract_text()

    chosen = [expected[7].id, expected[2].id]
    selected = bundle(company, chosen)
    assert (selected.total, selected.rendered, selected.cached) == (2, 0, 2)  # from the cache
    reader = pdf_of(selected, tmp_path)
    assert len(reader.pages) == 2
    assert [i.title for i in reader.outline] == [
        f"{e.full_name} ({e.nif})" for e in (expected[2], expected[7])
    ]


def test_month_end_renders_every_company_once_and_a_rerun_renders_nothing(runtime):
    company_with_payroll("B12345674", range(1, 8), company_seed=1)
    company_with_payroll("B86561412", range(20, 25), company_seed=2)
    runs = []
    for _ in range(2):
        with get_runtime().sessions.begin() as session:
            advisory = session.scalar(select(Company.advisory_id).limit(1))
            run_id = create_month_end(session, advisory, "2026-11", None).id
        month_end.delay(run_id)
        with get_runtime().sessions() as session:
            run = session.get_one(MonthEndRun, run_id)
            bundles = list(
                session.scalars(select(PayslipBundle).where(PayslipBundle.month_end_id == run_id))
            )
        assert run.status == MonthEndStatus.DONE
        assert (run.companies_total, run.companies_done, run.payslips_total) == (2, 2, 12)
        assert all(b.status == BundleStatus.READY for b in bundles)
        runs.append(bundles)
    assert sum(b.rendered for b in runs[0]) == 12
    assert sum(b.rendered for b in runs[1]) == 0
    assert sum(b.cached for b in runs[1]) == 12
    # Same payslips, same file: the re-run reuses the stored bundle instead of merging again.
    assert {b.pdf_key for b in runs[1]} == {b.pdf_key for b in runs[0]}


def test_a_redelivered_chunk_is_counted_once(runtime):
    from workers.payslips import render_chunk

    company = company_with_payroll("B12345674", range(1, 4))
    full = bundle(company)
    render_chunk.delay(full.id, 0)
    with get_runtime().sessions() as session:
        again = session.get_one(PayslipBundle, full.id)
    assert (again.chunks_done, again.rendered, again.status) == (1, 3, BundleStatus.READY)


def test_a_chunk_whose_files_cannot_be_stored_marks_nothing_rendered(runtime, monkeypatch):
    from storage.payroll import Payslip, PayslipBundleChunk
    from workers.payslips import render_chunk

    bundle_id = planned(company_with_payroll("B12345674", range(1, 4)))

    def disk_full(objects, *, content_type="application/octet-stream"):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(get_runtime().store, "put_many", disk_full)
    with pytest.raises(OSError):
        render_chunk(bundle_id, 0)
    with get_runtime().sessions() as session:
        # No file on disk, so no payslip may claim one, and the chunk is still to do.
        assert session.scalars(select(Payslip.pdf_key)).all() == [None, None, None]
        assert not session.get_one(PayslipBundleChunk, (bundle_id, 0)).done
        assert session.get_one(PayslipBundle, bundle_id).chunks_done == 0

    monkeypatch.undo()
    assert render_chunk(bundle_id, 0) == 3  # the redelivery draws and counts them
    with get_runtime().sessions() as session:
        keys = session.scalars(select(Payslip.pdf_key)).all()
        assert all(key and get_runtime().store.exists(key) for key in keys)
