"""Accounts: password hashing (Argon2id), bearer tokens stored hashed, who sees which company."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from storage.models import (
    Advisory,
    ApiToken,
    Company,
    Membership,
    Role,
    User,
    utcnow,
)

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the user does not exist, so timing does not reveal valid usernames.
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, advisory_code: str, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = session.scalar(
        select(User)
        .join(Advisory, Advisory.id == User.advisory_id)
        .where(Advisory.code == advisory_code, User.username == username)
    )
    if user is None:
        verify_password(_dummy_hash(), password)
        return None
    if not user.is_active or not verify_password(user.password_hash, password):
        return None
    return user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, ttl: timedelta) -> tuple[str, datetime]:
    """A new bearer token for ``user``; only its sha256 is stored."""
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + ttl
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), expires_at=expires_at))
    return token, expires_at


# Statements every request runs are built once: building one costs more than running it.
_USER_FOR_TOKEN: Final = (
    select(User, ApiToken.revoked_at, ApiToken.expires_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning a valid, unexpired, unrevoked token."""
    row = session.execute(_USER_FOR_TOKEN, {"token_hash": token_digest(token)}).first()
    if row is None:
        return None
    user, revoked_at, expires_at = row
    if revoked_at is not None or expires_at <= utcnow() or not user.is_active:
        return None
    return user


def visible_companies(user: User) -> Select[tuple[Company]]:
    """Advisors see every company of their advisory; clients and employees their memberships."""
    query = select(Company).where(Company.advisory_id == user.advisory_id)
    if user.role == Role.ADVISOR:
        return query
    return query.join(Membership, Membership.company_id == Company.id).where(
        Membership.user_id == user.id
    )


_ADVISORY_COMPANY: Final = select(Company.id).where(
    Company.id == bindparam("company_id"), Company.advisory_id == bindparam("advisory_id")
)
_MEMBER_COMPANY: Final = _ADVISORY_COMPANY.join(
    Membership, Membership.company_id == Company.id
).where(Membership.user_id == bindparam("user_id"))


def sees_company(session: Session, user: User, company_id: int) -> bool:
    """Whether ``company_id`` is among `visible_companies` of ``user`` (one indexed lookup)."""
    statement = _ADVISORY_COMPANY if user.role == Role.ADVISOR else _MEMBER_COMPANY
    parameters = {"company_id": company_id, "advisory_id": user.advisory_id, "user_id": user.id}
    return session.scalar(statement, parameters) is not None


def can_read_documents(user: User) -> bool:
    # Employees only see their own payslips (the payslip routes), never company documents.
    return user.role in (Role.ADVISOR, Role.CLIENT)
