"""Payroll tables on SQLite and PostgreSQL: change detection, chunk counting, progress."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from sqlalchemy.orm import Session

from storage.db import make_engine, make_session_factory
from storage.models import Advisory, Company
from storage.payroll import (
    Change,
    Payslip,
    PayslipTotals,
    RenderedPayslip,
    create_bundle,
    finish_chunk,
    mark_rendered,
    open_chunks,
    period_payslip_ids,
    period_payslips,
    rendered_payslips,
    save_employee,
    save_payslip,
)

TOTALS = PayslipTotals(D("2000.00"), D("391.67"), D("1608.33"), D("2738.50"))


def new_company(session: Session) -> Company:
    advisory = Advisory(code="6", name="A")
    session.add(advisory)
    session.flush()
    company = Company(advisory_id=advisory.id, nif="B12345674", name="C")
    session.add(company)
    session.flush()
    return company


def test_payslips_chunks_and_counters(database_url):
    sessions = make_session_factory(make_engine(database_url))
    with sessions.begin() as session:
        company = new_company(session)
        employee = save_employee(
            session,
            company.id,
            "12345678Z",
            naf="281234567840",
            full_name="Ana",
            contribution_group=5,
            contract_type="indefinido",
        )
        assert save_payslip(session, employee, "2026-11", {"a": 1}, TOTALS) == Change.CREATED
        session.flush()
        assert save_payslip(session, employee, "2026-11", {"a": 1}, TOTALS) == Change.UNCHANGED
        assert save_payslip(session, employee, "2026-11", {"a": 2}, TOTALS) == Change.UPDATED
        bundle = create_bundle(
            session,
            company_id=company.id,
            period="2026-11",
            payslip_ids=[f"{i:032x}" for i in range(5)],
            chunk_size=2,
        )
        bundle_id = bundle.id
        assert bundle.chunks_total == 3
    with sessions.begin() as session:
        assert open_chunks(session, bundle_id) == [0, 1, 2]
        assert not finish_chunk(session, bundle_id, 0, rendered=2, cached=0, failures=[])
        assert not finish_chunk(session, bundle_id, 0, rendered=2, cached=0, failures=[])  # again
        assert not finish_chunk(session, bundle_id, 2, rendered=0, cached=1, failures=[])
        assert finish_chunk(
            session,
            bundle_id,
            1,
            rendered=1,
            cached=0,
            failures=[{"payslip_id": "x", "error": "e"}],
        )
        assert open_chunks(session, bundle_id) == []
    with sessions() as session:
        from storage.payroll import PayslipBundle

        row = session.get_one(PayslipBundle, bundle_id)
        assert (row.chunks_done, row.rendered, row.cached, row.failed) == (3, 3, 1, 1)


def test_planning_ids_rendered_marks_and_what_merging_reads(database_url):
    sessions = make_session_factory(make_engine(database_url))
    with sessions.begin() as session:
        company = new_company(session)
        people = {}
        for nif, name in (("12345678Z", "Zamora, Pau"), ("87654321X", "Abad, Eva")):
            employee = save_employee(
                session,
                company.id,
                nif,
                naf="281234567840",
                full_name=name,
                contribution_group=5,
                contract_type="indefinido",
            )
            save_payslip(session, employee, "2026-11", {"a": nif}, TOTALS)
            save_payslip(session, employee, "2026-10", {"a": nif}, TOTALS)
            people[name] = employee.id
        session.flush()
        company_id = company.id
        ids = period_payslip_ids(session, company_id, "2026-11")
        # The same payslips, in the same order, as the full query gives.
        assert ids == [p.id for p, _ in period_payslips(session, company_id, "2026-11")]
        assert len(ids) == 2
        only_eva = period_payslip_ids(session, company_id, "2026-11", [people["Abad, Eva"]])
        assert only_eva == ids[:1]
        assert rendered_payslips(session, ids) == []  # nothing drawn yet
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    with sessions.begin() as session:
        mark_rendered(session, {ids[1]: ("key/zamora.pdf", "f" * 64)}, at)
        mark_rendered(session, {}, at)  # nothing drawn: nothing to record
        # A payslip deleted while its chunk was drawn: skipped, the others still recorded.
        mark_rendered(session, {"0" * 32: ("key/gone.pdf", "0" * 64)}, at)
    with sessions() as session:
        assert rendered_payslips(session, ids) == [
            RenderedPayslip("key/zamora.pdf", "f" * 64, "Zamora, Pau", "12345678Z")
        ]
        zamora = session.get_one(Payslip, ids[1])
        assert zamora.rendered_at == at
        assert session.get_one(Payslip, ids[0]).pdf_key is None
