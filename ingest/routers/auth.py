"""Logging in, and the companies an account works with."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, status

from ingest.auth import authenticate, issue_token, visible_companies
from ingest.deps import RuntimeDep, SessionDep, UserDep
from ingest.schemas import CompanyOut, TokenRequest, TokenResponse
from ingest.throttle import LoginKeys, count_failure, forget_failures, refuse_if_blocked
from storage.models import Company

router = APIRouter()


@router.post("/v1/auth/token", tags=["auth"])
def token(
    body: TokenRequest, request: Request, session: SessionDep, rt: RuntimeDep
) -> TokenResponse:
    """Log in with the advisory's code, user name and password; returns a bearer token.

    Repeated failures for one user or from one IP answer 429 with ``Retry-After``.
    """
    keys = LoginKeys.of(body.advisory_code, body.username, request.client and request.client.host)
    refuse_if_blocked(session, keys)
    user = authenticate(session, body.advisory_code, body.username, body.password)
    if user is None:
        count_failure(session, rt.settings, keys)
        session.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Wrong advisory code, user or password")
    forget_failures(session, keys)
    value, expires_at = issue_token(session, user, timedelta(hours=rt.settings.token_ttl_hours))
    session.commit()
    return TokenResponse(access_token=value, expires_at=expires_at)


@router.get("/v1/companies", tags=["companies"])
def companies(user: UserDep, session: SessionDep) -> list[CompanyOut]:
    """The companies this account may work with."""
    rows = session.scalars(visible_companies(user).order_by(Company.name)).all()
    return [CompanyOut.model_validate(company) for company in rows]
