"""What routes depend on: the runtime, a session, the caller, and tenant checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ingest.auth import can_read_documents, sees_company, user_for_token, visible_companies
from storage.models import Company, Document, Role, User
from workers.runtime import Runtime, get_runtime

bearer = HTTPBearer(auto_error=False)
NOT_FOUND = HTTPException(status.HTTP_404_NOT_FOUND, "Not found")


async def runtime() -> Runtime:
    # async: a plain lookup, not worth a hop to the thread pool on every request
    return get_runtime()


def db(rt: Annotated[Runtime, Depends(runtime)]) -> Iterator[Session]:
    with rt.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(db)]
RuntimeDep = Annotated[Runtime, Depends(runtime)]


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def authenticated(session: Session, credentials: HTTPAuthorizationCredentials | None) -> User:
    """The caller of a valid bearer token; 401 otherwise."""
    user = user_for_token(session, credentials.credentials) if credentials else None
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing, expired or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def current_user(session: SessionDep, credentials: BearerDep) -> User:
    return authenticated(session, credentials)


UserDep = Annotated[User, Depends(current_user)]


def readable_company(session: Session, user: User, company_id: int) -> Company:
    """The company if ``user`` may read its documents; 404 otherwise (existence stays hidden)."""
    if not can_read_documents(user):
        raise NOT_FOUND
    company = session.scalar(visible_companies(user).where(Company.id == company_id))
    if company is None:
        raise NOT_FOUND
    return company


def require_readable_company(session: Session, user: User, company_id: int) -> None:
    """`readable_company` without loading the company: for routes that need only its id."""
    if not can_read_documents(user) or not sees_company(session, user, company_id):
        raise NOT_FOUND


def readable_document(session: Session, user: User, document_id: str) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NOT_FOUND
    readable_company(session, user, document.company_id)
    if document.deleted_at is not None and user.role != Role.ADVISOR:
        raise NOT_FOUND  # soft-deleted: gone for the client, kept for the advisory
    return document
