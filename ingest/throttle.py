"""Slowing down repeated failed logins, per advisory + user name and per client IP.

Counters live in the database (``storage.logins``), so the embedded default is covered and
several API processes share them. A key that failed too often waits a doubling delay
(1 s, 2 s, 4 s… up to ``login_max_delay_seconds``); meanwhile every attempt answers 429.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from storage.logins import blocked_until, clear_failures, record_failure
from storage.models import utcnow
from workers.settings import Settings


@dataclass(frozen=True, slots=True)
class LoginKeys:
    user: str
    ip: str | None

    @classmethod
    def of(cls, advisory_code: str, username: str, ip: str | None) -> LoginKeys:
        # User names are matched case-sensitively at login, but counted case-insensitively.
        user = f"user:{advisory_code.strip()}:{username.strip().lower()}"
        return cls(user[:300], f"ip:{ip}"[:300] if ip else None)

    @property
    def all(self) -> list[str]:
        return [self.user] + ([self.ip] if self.ip else [])


def refuse_if_blocked(session: Session, keys: LoginKeys) -> None:
    """Raise 429 with ``Retry-After`` while the user or the IP is blocked."""
    until = blocked_until(session, keys.all)
    if until is not None:
        wait = max(1, math.ceil((until - utcnow()).total_seconds()))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "Demasiados intentos fallidos; espere antes de volver a intentarlo.",
            headers={"Retry-After": str(wait)},
        )


def count_failure(session: Session, settings: Settings, keys: LoginKeys) -> None:
    window = timedelta(seconds=settings.login_failure_window_seconds)
    max_delay = timedelta(seconds=settings.login_max_delay_seconds)
    record_failure(
        session,
        keys.user,
        threshold=settings.login_max_failures_per_user,
        window=window,
        max_delay=max_delay,
    )
    if keys.ip:
        record_failure(
            session,
            keys.ip,
            threshold=settings.login_max_failures_per_ip,
            window=window,
            max_delay=max_delay,
        )


def forget_failures(session: Session, keys: LoginKeys) -> None:
    # Only the user's streak: one good account must not reset an IP that guesses others.
    clear_failures(session, [keys.user])
