"""Accounts: password hashing (Argon2id), bearer tokens stored hashed, who sees which company."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Select, bindparam, exists, or_, select
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


def _with_valid_token(statement: Select[Any]) -> Select[Any]:
    """``statement`` over users, kept to the active user of an unexpired, unrevoked token."""
    return statement.join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
        User.is_active,
    )


def _token_parameters(token: str) -> dict[str, Any]:
    return {"token_hash": token_digest(token), "now": utcnow()}


# Statements every request runs are built once: building one costs more than running it.
_USER_FOR_TOKEN: Final = _with_valid_token(select(User))


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning a valid, unexpired, unrevoked token."""
    return session.scalar(_USER_FOR_TOKEN, _token_parameters(token))


def visible_companies(user: User) -> Select[tuple[Company]]:
    """Advisors see every company of their advisory; clients and employees their memberships."""
    query = select(Company).where(Company.advisory_id == user.advisory_id)
    if user.role == Role.ADVISOR:
        return query
    return query.join(Membership, Membership.company_id == Company.id).where(
        Membership.user_id == user.id
    )


def _sees(company_id: Any, user_id: Any, role: Any, advisory_id: Any) -> ColumnElement[bool]:
    """SQL for "``company_id`` is among `visible_companies` of this user", one indexed lookup."""
    member = (
        exists()
        .where(Membership.company_id == Company.id, Membership.user_id == user_id)
        .correlate_except(Membership)  # users and companies come from the enclosing queries
    )
    return (
        exists()
        .where(
            Company.id == company_id,
            Company.advisory_id == advisory_id,
            or_(role == Role.ADVISOR, member),
        )
        .correlate_except(Company)
    )


_SEES_COMPANY: Final = select(
    _sees(
        bindparam("company_id"), bindparam("user_id"), bindparam("role"), bindparam("advisory_id")
    )
)


def sees_company(session: Session, user: User, company_id: int) -> bool:
    """Whether ``company_id`` is among `visible_companies` of ``user``."""
    parameters = {
        "company_id": company_id,
        "user_id": user.id,
        "role": user.role,
        "advisory_id": user.advisory_id,
    }
    return bool(session.scalar(_SEES_COMPANY, parameters))


@dataclass(frozen=True, slots=True)
class Caller:
    """What the upload route needs of its caller, read with the token in one query."""

    id: int
    role: str
    sees_company: bool


_CALLER_FOR_COMPANY: Final = _with_valid_token(
    select(User.id, User.role, _sees(bindparam("company_id"), User.id, User.role, User.advisory_id))
)


def caller_for_company(session: Session, token: str, company_id: int) -> Caller | None:
    """`user_for_token` and `sees_company` in one round trip: the upload route runs both."""
    parameters = _token_parameters(token) | {"company_id": company_id}
    row = session.execute(_CALLER_FOR_COMPANY, parameters).first()
    return None if row is None else Caller(*row)


def can_read_documents(user: User | Caller) -> bool:
    # Employees only see their own payslips (the payslip routes), never company documents.
    return user.role in (Role.ADVISOR, Role.CLIENT)
