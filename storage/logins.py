"""Failed-login counters per key (advisory+user, IP) kept in the database: works embedded too."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, utcnow


class LoginFailure(Base):
    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)  # "user:6:ana", "ip:1.2.3.4"
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime]
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]


def blocked_until(session: Session, keys: list[str]) -> datetime | None:
    """The latest moment any of ``keys`` is blocked until, if that is in the future."""
    now = utcnow()
    until = [
        row.blocked_until
        for key in keys
        if (row := session.get(LoginFailure, key)) is not None
        and row.blocked_until is not None
        and row.blocked_until > now
    ]
    return max(until) if until else None


def record_failure(
    session: Session, key: str, *, threshold: int, window: timedelta, max_delay: timedelta
) -> LoginFailure:
    """Count one failure; from ``threshold`` failures on, block for a doubling delay."""
    now = utcnow()
    # Insert-if-missing first: two concurrent first failures must not collide on the key.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginFailure)
        .values(key=key, failures=0, first_failure_at=now, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = session.get_one(LoginFailure, key, with_for_update=True, populate_existing=True)
    if now - row.first_failure_at > window and (
        row.blocked_until is None or row.blocked_until <= now
    ):
        row.failures, row.first_failure_at = 0, now  # an old streak is forgotten
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= threshold:
        delay = min(timedelta(seconds=2 ** (row.failures - threshold)), max_delay)
        row.blocked_until = now + delay
    return row


def clear_failures(session: Session, keys: list[str]) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys)))
