"""The caller's in-app notifications, their preferences, and advisors' webhook endpoints."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update

from ingest.deps import NOT_FOUND, RuntimeDep, SessionDep, UserDep, readable_company
from ingest.schemas import NotificationOut
from storage.models import Notification, Role, User, utcnow
from storage.notifications import (
    DEFAULT_CHANNELS,
    USER_CHANNELS,
    Delivery,
    DeliveryStatus,
    WebhookEndpoint,
    preferences_of,
    set_preference,
)
from workers.notifications import (
    WebhookTargetRefused,
    check_webhook_target,
    plan_redelivery,
    publish,
)

router = APIRouter()

# event -> channel -> on; e.g. {"document_processed": {"in_app": true, "email": false}}
PreferenceMap = dict[str, dict[str, bool]]


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int


class Preferences(BaseModel):
    """Every event with its channels (``in_app``, ``email``); a PUT may send only some."""

    preferences: PreferenceMap


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000, examples=["https://portal.example.es/hooks/papeleo"])
    company_id: int | None = Field(default=None, description="only this company; none: all")
    events: list[str] = Field(default_factory=list, description="empty: every event")
    description: str = Field(default="", max_length=200)


class WebhookPatch(BaseModel):
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = None
    description: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    company_id: int | None
    events: list[str]
    description: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="the HMAC key; shown only on creation and rotation")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event: str
    document_id: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    response_status: int | None
    created_at: datetime
    sent_at: datetime | None


@router.get("/v1/notifications", tags=["notifications"])
def notifications(
    user: UserDep,
    session: SessionDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(description="ids below this (next page)")] = None,
) -> list[NotificationOut]:
    """The caller's notifications, newest first; page with ``before=<last id>``."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    if before is not None:
        query = query.where(Notification.id < before)
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit)).all()
    return [NotificationOut.model_validate(n) for n in rows]


@router.get("/v1/notifications/unread-count", tags=["notifications"])
def unread_count(user: UserDep, session: SessionDep) -> UnreadCount:
    """How many of the caller's notifications are unread (the bell's badge)."""
    count = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )
    return UnreadCount(unread=count or 0)


@router.post("/v1/notifications/read-all", tags=["notifications"])
def mark_all_read(user: UserDep, session: SessionDep) -> MarkedRead:
    """Mark every unread notification of the caller read; how many were."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return MarkedRead(marked=result.rowcount or 0)


@router.post("/v1/notifications/{notification_id}/read", tags=["notifications"])
def mark_read(notification_id: int, user: UserDep, session: SessionDep) -> NotificationOut:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NOT_FOUND
    notification.read_at = notification.read_at or utcnow()
    session.commit()
    return NotificationOut.model_validate(notification)


@router.get("/v1/notifications/preferences", tags=["notifications"])
def get_preferences(user: UserDep, session: SessionDep) -> Preferences:
    """Which events reach the caller in the app and by e-mail (defaults filled in)."""
    return Preferences(preferences=preferences_of(session, user.id))


@router.put("/v1/notifications/preferences", tags=["notifications"])
def put_preferences(body: Preferences, user: UserDep, session: SessionDep) -> Preferences:
    """Change some (event, channel) choices; the others stay. Unknown names answer 422."""
    for event, channels in body.preferences.items():
        for channel, enabled in channels.items():
            if event not in DEFAULT_CHANNELS or channel not in USER_CHANNELS:
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    f"unknown event or channel {event}/{channel}; events: "
                    f"{', '.join(DEFAULT_CHANNELS)}; channels: {', '.join(USER_CHANNELS)}",
                )
            set_preference(session, user.id, event, channel, enabled)
    session.commit()
    return Preferences(preferences=preferences_of(session, user.id))


def _advisor(user: User) -> User:
    # Webhook endpoints belong to the advisory; clients and employees do not see they exist.
    if user.role != Role.ADVISOR:
        raise NOT_FOUND
    return user


def _endpoint(session: SessionDep, user: User, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.advisory_id != _advisor(user).advisory_id:
        raise NOT_FOUND
    return endpoint


def _checked(url: str, runtime: RuntimeDep) -> str:
    try:
        check_webhook_target(url, allow_private=runtime.settings.allow_private_webhook_targets)
    except WebhookTargetRefused as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    return url


def _checked_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(DEFAULT_CHANNELS))
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown events {unknown}; known: {', '.join(DEFAULT_CHANNELS)}",
        )
    return sorted(set(events))


@router.get("/v1/webhooks", tags=["webhooks"])
def list_webhooks(user: UserDep, session: SessionDep) -> list[WebhookOut]:
    """The advisory's webhook endpoints (advisors only)."""
    rows = session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.advisory_id == _advisor(user).advisory_id)
        .order_by(WebhookEndpoint.id)
    ).all()
    return [WebhookOut.model_validate(row) for row in rows]


@router.post("/v1/webhooks", status_code=status.HTTP_201_CREATED, tags=["webhooks"])
def create_webhook(
    body: WebhookIn, user: UserDep, session: SessionDep, runtime: RuntimeDep
) -> WebhookWithSecret:
    """Register a portal backend; the answer carries its signing secret (shown once)."""
    _advisor(user)
    if body.company_id is not None:
        readable_company(session, user, body.company_id)
    endpoint = WebhookEndpoint(
        advisory_id=user.advisory_id,
        company_id=body.company_id,
        url=_checked(body.url, runtime),
        secret=secrets.token_urlsafe(32),
        events=_checked_events(body.events),
        description=body.description,
        created_by=user.id,
    )
    session.add(endpoint)
    session.commit()
    return WebhookWithSecret.model_validate(endpoint)


@router.get("/v1/webhooks/{endpoint_id}", tags=["webhooks"])
def get_webhook(endpoint_id: int, user: UserDep, session: SessionDep) -> WebhookOut:
    return WebhookOut.model_validate(_endpoint(session, user, endpoint_id))


@router.patch("/v1/webhooks/{endpoint_id}", tags=["webhooks"])
def update_webhook(
    endpoint_id: int, body: WebhookPatch, user: UserDep, session: SessionDep, runtime: RuntimeDep
) -> WebhookOut:
    """Change the URL, events, description or pause it (``is_active: false``)."""
    endpoint = _endpoint(session, user, endpoint_id)
    if body.url is not None:
        endpoint.url = _checked(body.url, runtime)
    if body.events is not None:
        endpoint.events = _checked_events(body.events)
    if body.description is not None:
        endpoint.description = body.description
    if body.is_active is not None:
        endpoint.is_active = body.is_active
    session.commit()
    return WebhookOut.model_validate(endpoint)


@router.post("/v1/webhooks/{endpoint_id}/rotate-secret", tags=["webhooks"])
def rotate_webhook_secret(
    endpoint_id: int, user: UserDep, session: SessionDep
) -> WebhookWithSecret:
    """A new signing secret; deliveries from now on are signed with it."""
    endpoint = _endpoint(session, user, endpoint_id)
    endpoint.secret = secrets.token_urlsafe(32)
    session.commit()
    return WebhookWithSecret.model_validate(endpoint)


@router.delete(
    "/v1/webhooks/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["webhooks"]
)
def delete_webhook(endpoint_id: int, user: UserDep, session: SessionDep) -> Response:
    """Remove the endpoint and its delivery log."""
    session.delete(_endpoint(session, user, endpoint_id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/webhooks/{endpoint_id}/deliveries", tags=["webhooks"])
def webhook_deliveries(
    endpoint_id: int,
    user: UserDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryOut]:
    """The endpoint's latest deliveries: status, attempts, last error, HTTP status."""
    endpoint = _endpoint(session, user, endpoint_id)
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.endpoint_id == endpoint.id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    ).all()
    return [DeliveryOut.model_validate(row) for row in rows]


@router.post(
    "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["webhooks"],
)
def redeliver_webhook(
    endpoint_id: int, delivery_id: int, user: UserDep, session: SessionDep
) -> DeliveryOut:
    """Send a delivery that failed for good again, with a fresh set of attempts.

    409 unless it is ``failed``: a pending or retrying delivery is still being tried, and a
    sent one arrived.
    """
    endpoint = _endpoint(session, user, endpoint_id)
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NOT_FOUND
    if delivery.status != DeliveryStatus.FAILED:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"Only failed deliveries are sent again; this one is {delivery.status}",
        )
    planned = plan_redelivery(delivery)
    session.commit()
    publish([planned])
    return DeliveryOut.model_validate(delivery)
