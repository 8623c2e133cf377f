"""Notification tables: per-user preferences, webhook endpoints and the delivery outbox.

Every e-mail, webhook call and in-app notification is first a row in ``notification_deliveries``
with a unique idempotency key: planning the same event twice inserts nothing new, so a re-run
of the notify step sends nothing twice. Channel tasks claim a row, send, and record the outcome
(attempts, next attempt time, last error) on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, utcnow


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # planned, its task published (or about to be)
    SENDING = "sending"  # claimed by a task (a lease: stale claims are taken over)
    RETRYING = "retrying"  # the last attempt failed; next_attempt_at says when again
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt, or a permanent refusal


# Which channels are on when a user has not chosen (event -> channels); everything else is off.
DEFAULT_CHANNELS: Final[dict[str, frozenset[str]]] = {
    "document_processed": frozenset({Channel.IN_APP}),
    "document_failed": frozenset({Channel.IN_APP, Channel.EMAIL}),
    "document_needs_review": frozenset({Channel.IN_APP, Channel.EMAIL}),
    "client_document": frozenset({Channel.IN_APP}),
    "payslips_ready": frozenset({Channel.IN_APP, Channel.EMAIL}),
    "daily_digest": frozenset({Channel.EMAIL}),
}
USER_CHANNELS: Final = (Channel.IN_APP, Channel.EMAIL)


class NotificationPreference(Base):
    """A user's explicit choice for one (event, channel); absent rows use DEFAULT_CHANNELS."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    event: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    enabled: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookEndpoint(Base):
    """A portal backend told about an advisory's events (or one company's, when set)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_id: Mapped[int] = mapped_column(
        ForeignKey("advisories.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))  # HMAC key; shown once at creation
    events: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every event
    description: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def wants(self, event: str) -> bool:
        return self.is_active and (not self.events or event in self.events)


class Delivery(Base):
    """The outbox: one message to one recipient over one channel, sent at most once."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    event: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    recipient: Mapped[str | None] = mapped_column(String(2000))  # e-mail address or URL
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # rendered once, resent as is
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


def channel_enabled(session: Session, user_id: int, event: str, channel: str) -> bool:
    """The user's choice for (event, channel), else the default."""
    choice = session.get(NotificationPreference, (user_id, event, channel))
    if choice is not None:
        return choice.enabled
    return channel in DEFAULT_CHANNELS.get(event, frozenset())


def preferences_of(session: Session, user_id: int) -> dict[str, dict[str, bool]]:
    """Every event's channels for ``user_id`` (defaults filled in): {event: {channel: on}}."""
    chosen = {
        (p.event, p.channel): p.enabled
        for p in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
    }
    return {
        event: {
            channel: chosen.get((event, channel), channel in defaults) for channel in USER_CHANNELS
        }
        for event, defaults in DEFAULT_CHANNELS.items()
    }


def set_preference(session: Session, user_id: int, event: str, channel: str, enabled: bool) -> None:
    if event not in DEFAULT_CHANNELS or channel not in USER_CHANNELS:
        raise ValueError(f"unknown event or channel: {event}/{channel}")
    row = session.get(NotificationPreference, (user_id, event, channel))
    if row is None:
        session.add(
            NotificationPreference(user_id=user_id, event=event, channel=channel, enabled=enabled)
        )
    else:
        row.enabled = enabled


def plan_delivery(session: Session, **values: Any) -> int | None:
    """Insert an outbox row unless its ``idempotency_key`` exists; the new row's id, or None."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    values.setdefault("created_at", now)
    values.setdefault("next_attempt_at", now)
    values.setdefault("status", DeliveryStatus.PENDING)
    values.setdefault("attempts", 0)
    values.setdefault("payload", {})
    statement = (
        insert(Delivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Delivery.id)
    )
    return session.execute(statement).scalar_one_or_none()


def claim_delivery(session: Session, delivery_id: int, lease: timedelta) -> Delivery | None:
    """Take ``delivery_id`` for one attempt (atomically); None when sent, failed or claimed.

    A claim older than ``lease`` is taken over: its worker died between claim and outcome.
    """
    now = utcnow()
    claimed = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            or_(
                Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.RETRYING]),
                and_(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - lease),
            ),
        )
        .values(status=DeliveryStatus.SENDING, claimed_at=now, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    delivery = session.get_one(Delivery, delivery_id)
    session.refresh(delivery)
    return delivery


def record_sent(session: Session, delivery_id: int, response_status: int | None = None) -> None:
    delivery = session.get_one(Delivery, delivery_id)
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = utcnow()
    delivery.next_attempt_at = None
    delivery.last_error = None
    delivery.response_status = response_status


def record_failure(
    session: Session,
    delivery_id: int,
    error: str,
    *,
    retry_in: timedelta | None,
    response_status: int | None = None,
) -> None:
    """Note a failed attempt: retried after ``retry_in``, or given up when it is None."""
    delivery = session.get_one(Delivery, delivery_id)
    delivery.last_error = error[:2000]
    delivery.response_status = response_status
    if retry_in is None:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = utcnow() + retry_in


def overdue_deliveries(session: Session, grace: timedelta, lease: timedelta) -> list[Delivery]:
    """Deliveries whose task was lost: due for longer than ``grace``, or claimed too long ago."""
    now = utcnow()
    return list(
        session.scalars(
            select(Delivery).where(
                Delivery.channel != Channel.IN_APP,
                or_(
                    and_(
                        Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.RETRYING]),
                        Delivery.next_attempt_at < now - grace,
                    ),
                    and_(
                        Delivery.status == DeliveryStatus.SENDING,
                        Delivery.claimed_at < now - lease,
                    ),
                ),
            )
        )
    )
