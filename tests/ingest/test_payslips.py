"""The payslip API in-process: imports all-or-nothing, the month, bundles, who sees what."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from storage.payroll import Employee, Payslip, link_employee_user
from tests.ingest import test_api
from tests.ingest.test_api import Tenants
from tests.payroll_data import payroll_csv, payroll_json
from workers.runtime import get_runtime
from workers.settings import Settings


@pytest.fixture
def tenants(embedded: Settings) -> Iterator[Tenants]:
    """The document API's tenants (two clients, advisors of two advisories, an employee)."""
    yield from test_api.tenants.__wrapped__(embedded)


def upload(t: Tenants, who: str, body: bytes, name: str, company: int | None = None):
    return t.client.post(
        f"/v1/companies/{company or t.own_company}/payroll/imports",
        headers=t.as_user(who),
        files={"file": (name, body, "application/octet-stream")},
    )


def payslip_count() -> int:
    with get_runtime().sessions() as session:
        return session.scalar(select(func.count()).select_from(Payslip)) or 0


def test_import_then_month_summary_with_totals(tenants: Tenants):
    response = upload(tenants, "ana", payroll_csv(range(1, 6)), "nominas.csv")
    assert response.status_code == 201, response.text
    assert response.json() == {
        "payslips": 5,
        "employees": 5,
        "created": 5,
        "updated": 0,
        "unchanged": 0,
    }
    again = upload(tenants, "asesora", payroll_json(range(1, 6)), "nominas.json")
    assert again.json()["unchanged"] == 5
    month = tenants.client.get(
        f"/v1/companies/{tenants.own_company}/payslips",
        params={"period": "2026-11"},
        headers=tenants.as_user("ana"),
    )
    assert month.status_code == 200
    body = month.json()
    assert len(body["employees"]) == 5
    assert float(body["totals"]["net"]) == round(sum(float(e["net"]) for e in body["employees"]), 2)
    assert body["totals"]["employees"] == 5


def test_a_bad_line_imports_nothing_and_lists_every_error(tenants: Tenants):
    document = json.loads(payroll_json(range(1, 4)))
    document["payslips"][0]["employee"]["naf"] = "281234567841"
    document["payslips"][2]["totals"]["net"] = "1.00"
    response = upload(tenants, "ana", json.dumps(document).encode(), "n.json")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["line"], e["code"]) for e in errors} == {(1, "invalid_naf"), (3, "arithmetic")}
    assert payslip_count() == 0


def test_other_tenants_and_employees_cannot_import(tenants: Tenants):
    assert upload(tenants, "luis", payroll_csv([1]), "n.csv").status_code == 404
    assert upload(tenants, "otra", payroll_csv([1]), "n.csv").status_code == 404
    assert upload(tenants, "empleado", payroll_csv([1]), "n.csv").status_code == 404  # unlinked
    assert payslip_count() == 0


def test_an_employee_sees_only_their_own_payslip(tenants: Tenants):
    assert upload(tenants, "ana", payroll_csv(range(1, 4)), "n.csv").status_code == 201
    with get_runtime().sessions.begin() as session:
        from storage.models import User

        user = session.scalar(select(User).where(User.username == "empleado"))
        employee = session.scalars(select(Employee).order_by(Employee.id)).first()
        link_employee_user(session, employee, user.id)
        own, own_id = employee.full_name, employee.id
        other = session.scalar(select(Payslip).where(Payslip.employee_id != own_id))
        other_id = other.id
    client, headers = tenants.client, tenants.as_user("empleado")
    month = client.get(
        f"/v1/companies/{tenants.own_company}/payslips",
        params={"period": "2026-11"},
        headers=headers,
    ).json()
    assert [e["name"] for e in month["employees"]] == [own]
    response = client.get(
        f"/v1/companies/{tenants.own_company}/payslips/{other_id}/download",
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 404
    mine = month["employees"][0]["payslip_id"]
    response = client.get(
        f"/v1/companies/{tenants.own_company}/payslips/{mine}/download",
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 307
    pdf = client.get(response.headers["location"])
    assert pdf.content.startswith(b"%PDF")
    others = client.post(
        f"/v1/companies/{tenants.own_company}/payslips/bundles",
        headers=headers,
        json={"period": "2026-11", "employee_ids": [own_id + 1]},
    )
    assert others.status_code == 404
    own_bundle = client.post(
        f"/v1/companies/{tenants.own_company}/payslips/bundles",
        headers=headers,
        json={"period": "2026-11"},
    )
    assert own_bundle.status_code == 202
    assert own_bundle.json()["employee_ids"] == [own_id]
    assert own_bundle.json()["total"] == 1


def test_bundle_requests_are_checked_and_accepted(tenants: Tenants):
    assert upload(tenants, "ana", payroll_csv(range(1, 4)), "n.csv").status_code == 201
    url = f"/v1/companies/{tenants.own_company}/payslips/bundles"
    headers = tenants.as_user("ana")
    empty = tenants.client.post(url, headers=headers, json={"period": "2026-10"})
    assert empty.status_code == 422
    unknown = tenants.client.post(
        url, headers=headers, json={"period": "2026-11", "employee_ids": [999]}
    )
    assert unknown.status_code == 422
    accepted = tenants.client.post(url, headers=headers, json={"period": "2026-11"})
    assert accepted.status_code == 202
    assert accepted.json()["kind"] == "completo"
    progress = tenants.client.get(f"{url}/{accepted.json()['id']}", headers=headers).json()
    assert progress["status"] == "queued"
    assert progress["download_url"] is None
    hidden = tenants.client.get(
        f"/v1/companies/{tenants.own_company}/payslips/bundles/{accepted.json()['id']}",
        headers=tenants.as_user("luis"),
    )
    assert hidden.status_code == 404
    assert (
        tenants.client.post(
            "/v1/payroll/month-end", headers=headers, json={"period": "2026-11"}
        ).status_code
        == 404
    )
