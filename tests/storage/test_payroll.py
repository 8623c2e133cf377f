"""Payroll tables on SQLite and PostgreSQL: change detection, chunk counting, progress."""

from __future__ import annotations

from decimal import Decimal as D

from storage.db import make_engine, make_session_factory
from storage.models import Advisory, Company
from storage.payroll import (
    Change,
    PayslipTotals,
    create_bundle,
    finish_chunk,
    open_chunks,
    save_employee,
    save_payslip,
)

TOTALS = PayslipTotals(D("2000.00"), D("391.67"), D("1608.33"), D("2738.50"))


def test_payslips_chunks_and_counters(database_url):
    sessions = make_session_factory(make_engine(database_url))
    with sessions.begin() as session:
        advisory = Advisory(code="6", name="A")
        session.add(advisory)
        session.flush()
        company = Company(advisory_id=advisory.id, nif="B12345674", name="C")
        session.add(company)
        session.flush()
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
