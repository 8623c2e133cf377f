"""Ending sessions: logging out, and an advisor revoking a user's tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from sqlalchemy import select, update

from ingest.auth import token_digest
from ingest.deps import NOT_FOUND, SessionDep, UserDep, bearer
from storage.models import ApiToken, Role, User, utcnow

router = APIRouter()


class RevokedTokens(BaseModel):
    revoked: int


@router.post("/v1/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
def logout(
    user: UserDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    """Revoke the token this request carries; it answers 401 from now on."""
    assert credentials is not None  # current_user already refused a request without one
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.token_hash == token_digest(credentials.credentials),
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/users/{user_id}/revoke-tokens", tags=["auth"])
def revoke_tokens(user_id: int, user: UserDep, session: SessionDep) -> RevokedTokens:
    """Advisors: revoke every live token of a user of their advisory (e.g. a lost phone)."""
    if user.role != Role.ADVISOR:
        raise NOT_FOUND
    target = session.scalar(
        select(User).where(User.id == user_id, User.advisory_id == user.advisory_id)
    )
    if target is None:
        raise NOT_FOUND
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == target.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()
    return RevokedTokens(revoked=result.rowcount or 0)
