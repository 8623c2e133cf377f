"""What routes depend on: the runtime, a session, the caller, and tenant checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ingest.auth import (
    Caller,
    caller_for_company,
    can_read_documents,
    user_for_token,
    visible_companies,
)
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
UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    "Missing, expired or revoked token",
    headers={"WWW-Authenticate": "Bearer"},
)


def authenticated(session: Session, credentials: HTTPAuthorizationCredentials | None) -> User:
    """The caller of a valid bearer token; 401 otherwise."""
    user = user_for_token(session, credentials.credentials) if credentials else None
    if user is None:
        raise UNAUTHORIZED
    return user


def reader_of_company(
    session: Session, credentials: HTTPAuthorizationCredentials | None, company_id: int
) -> Caller:
    """`authenticated` and `readable_company` in one query, for routes that need only the
    company's id (uploads): 401, 404 or the caller."""
    token = credentials.credentials if credentials else None
    caller = caller_for_company(session, token, company_id) if token else None
    if caller is None:
        raise UNAUTHORIZED
    if not can_read_documents(caller) or not caller.sees_company:
        raise NOT_FOUND
    return caller


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


def readable_document(session: Session, user: User, document_id: str) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NOT_FOUND
    readable_company(session, user, document.company_id)
    if document.deleted_at is not None and user.role != Role.ADVISOR:
        raise NOT_FOUND  # soft-deleted: gone for the client, kept for the advisory
    return document
