"""The caller's in-app notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from ingest.deps import NOT_FOUND, SessionDep, UserDep
from ingest.schemas import NotificationOut
from storage.models import Notification, utcnow

router = APIRouter()


@router.get("/v1/notifications", tags=["notifications"])
def notifications(
    user: UserDep,
    session: SessionDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NotificationOut]:
    """The caller's notifications, newest first."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit)).all()
    return [NotificationOut.model_validate(n) for n in rows]


@router.post("/v1/notifications/{notification_id}/read", tags=["notifications"])
def mark_read(notification_id: int, user: UserDep, session: SessionDep) -> NotificationOut:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NOT_FOUND
    notification.read_at = notification.read_at or utcnow()
    session.commit()
    return NotificationOut.model_validate(notification)
