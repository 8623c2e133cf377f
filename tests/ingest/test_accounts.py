"""Tokens expire and can be revoked; repeated failed logins are slowed (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from ingest.auth import (
    Caller,
    caller_for_company,
    issue_token,
    sees_company,
    token_digest,
    visible_companies,
)
from storage.logins import LoginFailure
from storage.models import ApiToken, Company, User, utcnow
from tests.ingest.portal import PASSWORDS, Portal, portal_fixture  # noqa: F401 - the fixture
from workers.runtime import get_runtime


def login(p: Portal, user: str, password: str | None = None, ip: str | None = None):
    code, right = PASSWORDS[user]
    body = {"advisory_code": code, "username": user, "password": password or right}
    headers = {"X-Forwarded-For": ip} if ip else {}
    return p.client.post("/v1/auth/token", json=body, headers=headers)


def test_logout_revokes_only_that_token(portal: Portal):
    p = portal
    other = p.fresh_token("ana")
    assert p.post("ana", "/v1/auth/logout").status_code == 204
    assert p.get("ana", "/v1/companies").status_code == 401
    again = p.client.get("/v1/companies", headers={"Authorization": f"Bearer {other}"})
    assert again.status_code == 200


def test_expired_tokens_are_refused(portal: Portal):
    p = portal
    with get_runtime().sessions.begin() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == p.users["luis"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert p.get("luis", "/v1/companies").status_code == 401


def test_an_advisor_revokes_a_users_tokens_in_their_advisory_only(portal: Portal):
    p = portal
    second = p.fresh_token("ana")
    url = f"/v1/users/{p.users['ana']}/revoke-tokens"
    assert p.post("otra", url).status_code == 404  # another advisory
    assert p.post("luis", url).status_code == 404  # a client
    response = p.post("asesora", url)
    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    for token in (p.tokens["ana"], second):
        refused = p.client.get("/v1/companies", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401
    assert login(p, "ana").status_code == 200  # logging in again works
    assert p.get("asesora", "/v1/companies").status_code == 200


def test_repeated_failed_logins_are_slowed_per_user(portal: Portal):
    p = portal
    limit = p.settings.login_max_failures_per_user
    for _ in range(limit):
        assert login(p, "ana", "wrong").status_code == 401
    blocked = login(p, "ana")  # even the right password waits
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert login(p, "luis").status_code == 200  # other users are not affected
    # Once the delay has passed, the right password works and the streak is forgotten.
    with get_runtime().sessions.begin() as session:
        session.execute(update(LoginFailure).values(blocked_until=utcnow() - timedelta(seconds=1)))
    assert login(p, "ana").status_code == 200
    with get_runtime().sessions() as session:
        assert session.get(LoginFailure, "user:6:ana") is None


def test_delays_double_and_an_ip_guessing_many_users_is_slowed(portal: Portal):
    p = portal
    limit = p.settings.login_max_failures_per_user
    for _ in range(limit):
        login(p, "bea", "wrong")
    with get_runtime().sessions() as session:
        first = session.get_one(LoginFailure, "user:9:bea")
        first_delay = first.blocked_until - first.last_failure_at
    with get_runtime().sessions.begin() as session:
        session.execute(update(LoginFailure).values(blocked_until=utcnow() - timedelta(seconds=1)))
    login(p, "bea", "wrong")
    with get_runtime().sessions() as session:
        second = session.get_one(LoginFailure, "user:9:bea")
        assert second.blocked_until - second.last_failure_at >= 2 * first_delay * 0.99
        ip = session.get_one(LoginFailure, "ip:testclient")
        assert ip.failures == limit + 1
    # Many user names from one address: the address is blocked for everyone it tries.
    for number in range(p.settings.login_max_failures_per_ip):
        p.client.post(
            "/v1/auth/token",
            json={"advisory_code": "6", "username": f"nadie{number}", "password": "x"},
        )
    assert login(p, "luis").status_code == 429


def test_the_one_company_checks_agree_with_the_visible_companies_list(portal: Portal):
    with get_runtime().sessions() as session:
        companies = session.scalars(select(Company.id)).all()
        users = session.scalars(select(User)).all()
        assert len(companies) > 1
        assert len({u.role for u in users}) > 1
        for user in users:
            token, _ = issue_token(session, user, timedelta(minutes=5))
            visible = set(session.scalars(visible_companies(user).with_only_columns(Company.id)))
            for company_id in companies:
                expected = company_id in visible
                case = (user.username, company_id)
                assert sees_company(session, user, company_id) == expected, case
                caller = caller_for_company(session, token, company_id)
                assert caller == Caller(user.id, user.role, expected), case


def test_the_upload_caller_check_refuses_revoked_expired_and_inactive(portal: Portal):
    with get_runtime().sessions() as session:
        user = session.scalars(select(User).where(User.username == "luis")).one()
        company_id = session.scalars(visible_companies(user).with_only_columns(Company.id)).first()
        revoked, _ = issue_token(session, user, timedelta(minutes=5))
        expired, _ = issue_token(session, user, timedelta(seconds=-1))
        valid, _ = issue_token(session, user, timedelta(minutes=5))
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == token_digest(revoked))
            .values(revoked_at=utcnow())
        )
        assert caller_for_company(session, valid, company_id) is not None
        assert caller_for_company(session, revoked, company_id) is None
        assert caller_for_company(session, expired, company_id) is None
        assert caller_for_company(session, "not a token", company_id) is None
        user.is_active = False
        session.flush()
        assert caller_for_company(session, valid, company_id) is None
