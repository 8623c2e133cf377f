"""Creating advisories, companies and users (CLI and the embedded demo)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.auth import hash_password, verify_password
from storage.models import Activity, Advisory, Company, Membership, Role, User

DEMO_ADVISORY_CODE: Final = "6"
DEMO_USERNAME: Final = "demo"
DEMO_PASSWORD: Final = "papeleo-demo"  # noqa: S105 - printed on `papeleo up`; the demo is local


@dataclass(frozen=True, slots=True)
class DemoAccount:
    advisory_code: str
    username: str
    password: str
    user_id: int
    company_id: int
    company_name: str


def ensure_advisory(session: Session, code: str, name: str | None = None) -> Advisory:
    advisory = session.scalar(select(Advisory).where(Advisory.code == code))
    if advisory is None:
        advisory = Advisory(code=code, name=name or f"Asesoría {code}")
        session.add(advisory)
        session.flush()
    return advisory


def ensure_company(session: Session, advisory: Advisory, nif: str, name: str | None) -> Company:
    nif = nif.strip().upper().replace("-", "").replace(" ", "")
    company = session.scalar(
        select(Company).where(Company.advisory_id == advisory.id, Company.nif == nif)
    )
    if company is None:
        company = Company(advisory_id=advisory.id, nif=nif, name=name or nif)
        session.add(company)
        session.flush()
    return company


def ensure_account(
    session: Session,
    *,
    advisory_code: str,
    username: str,
    password: str,
    role: Role,
    advisory_name: str | None = None,
    email: str | None = None,
    full_name: str = "",
    company_nifs: Sequence[str] = (),
    company_name: str | None = None,
) -> User:
    """The user, created or updated (password, role), with memberships of the given companies."""
    advisory = ensure_advisory(session, advisory_code, advisory_name)
    user = session.scalar(
        select(User).where(User.advisory_id == advisory.id, User.username == username)
    )
    if user is None:
        user = User(advisory_id=advisory.id, username=username, role=role, password_hash="")
        session.add(user)
    if not user.password_hash or not verify_password(user.password_hash, password):
        user.password_hash = hash_password(password)
    user.role, user.email, user.full_name = role, email, full_name or user.full_name
    session.flush()
    for nif in company_nifs:
        company = ensure_company(session, advisory, nif, company_name)
        if session.get(Membership, (user.id, company.id)) is None:
            session.add(Membership(user_id=user.id, company_id=company.id))
    session.flush()
    return user


def ensure_demo(session: Session) -> DemoAccount:
    """A demo advisory (code 6), a company with one activity, and a client user."""
    user = ensure_account(
        session,
        advisory_code=DEMO_ADVISORY_CODE,
        advisory_name="Asesoría Demo",
        username=DEMO_USERNAME,
        password=DEMO_PASSWORD,
        role=Role.CLIENT,
        full_name="Cliente Demo",
        company_nifs=["B12345674"],
        company_name="Demo Comercial SL",
    )
    company = session.scalar(select(Company).join(Membership).where(Membership.user_id == user.id))
    assert company is not None
    if not session.scalar(select(Activity.id).where(Activity.company_id == company.id)):
        session.add(Activity(company_id=company.id, name="Comercio al por menor", code="659"))
    return DemoAccount(
        DEMO_ADVISORY_CODE, DEMO_USERNAME, DEMO_PASSWORD, user.id, company.id, company.name
    )
