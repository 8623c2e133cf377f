"""Notifications: who is told what, over which channel, exactly once.

Planning (in the notify step, the payslip family and the daily digest) writes in-app
notifications and outbox rows (``storage.notifications.Delivery``) in one transaction; each
row has a unique idempotency key, so planning the same event twice adds nothing. After the
commit, one channel task per new e-mail or webhook row is published on the ``notify`` queue.
A channel task claims its row, sends, and records the outcome; a failure is retried with
exponential backoff and full jitter (Celery retry) and never touches the document.

Webhooks are signed: ``X-Papeleo-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``
with ``X-Papeleo-Timestamp: <unix seconds>``; see the README for a verification snippet.

For the payslip family: call :func:`notify_payslips_ready` once a bundle is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import smtplib
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
from celery import Task
from celery.schedules import crontab
from celery.utils.time import get_exponential_backoff_interval
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.messages import NotificationText, document_notification
from pipeline.notify_templates import (
    Digest,
    DigestCompany,
    DigestFailure,
    EmailContent,
    NotifyEvent,
    client_document_email,
    client_document_notification,
    digest_email,
    document_email,
    payslips_ready_email,
    payslips_ready_notification,
)
from storage.db import transaction
from storage.history import add_notification_once
from storage.models import Company, Document, DocumentStatus, Membership, Role, User, utcnow
from storage.notifications import (
    Channel,
    Delivery,
    DeliveryStatus,
    WebhookEndpoint,
    channel_enabled,
    claim_delivery,
    overdue_deliveries,
    plan_delivery,
    record_failure,
    record_sent,
)
from workers.app import app
from workers.runtime import get_runtime
from workers.settings import Settings, get_settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Papeleo-Signature"
TIMESTAMP_HEADER: Final = "X-Papeleo-Timestamp"
EVENT_HEADER: Final = "X-Papeleo-Event"
DELIVERY_HEADER: Final = "X-Papeleo-Delivery"
LOCAL_TZ: Final = ZoneInfo("Europe/Madrid")
# A claim older than this belongs to a dead worker; the sweeper hands the row on.
CLAIM_LEASE: Final = timedelta(minutes=10)
# A due row untouched for this long lost its task (broker down at publish time).
SWEEP_GRACE: Final = timedelta(minutes=5)


class PermanentDeliveryError(Exception):
    """Retrying cannot help (refused target, 5xx SMTP reply, 410 Gone, endpoint removed)."""


class WebhookTargetRefused(PermanentDeliveryError):
    """The webhook URL is not http(s), does not resolve, or points into a private network."""


@dataclass(frozen=True, slots=True)
class Planned:
    """A new outbox row whose channel task must be published after the commit."""

    delivery_id: int
    channel: str


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one attempt did: "sent", "failed", "retrying" (with ``retry_in``) or "skipped"."""

    status: str
    retry_in: int | None = None
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# Webhook signing and target checks


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_webhook_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300
) -> bool:
    """True when ``signature`` is right and ``timestamp`` is within ``tolerance`` seconds."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(webhook_signature(secret, timestamp, body), signature)


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_loopback or ip.is_link_local


def check_webhook_target(url: str, *, allow_private: bool) -> tuple[str, ...]:
    """Refuse URLs that are not http(s) or whose host resolves to any non-public address.

    Every address the host resolves to is checked (loopback, private, link-local, reserved,
    multicast, unspecified), so a name with one public and one private address is refused.
    Returns the checked addresses (none when private targets are allowed): the caller connects
    to one of them, so a second lookup cannot be answered differently (DNS rebinding).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookTargetRefused("the webhook URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise WebhookTargetRefused("the webhook URL must not carry credentials")
    if allow_private:
        return ()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, ValueError) as error:
        raise WebhookTargetRefused(f"cannot resolve {parts.hostname}: {error}") from error
    addresses = {str(info[4][0]) for info in infos}
    refused = sorted(a for a in addresses if _blocked(a))
    if refused or not addresses:
        raise WebhookTargetRefused(
            f"{parts.hostname} resolves to a private or reserved address ({', '.join(refused)})"
        )
    return tuple(sorted(addresses))


def pinned_request(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """``url`` sent to ``address`` without a new lookup: (URL, Host header, httpx extensions).

    The Host header and, for https, the TLS server name (which the certificate is checked
    against) stay the original host's.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ipaddress.ip_address(address.split("%", 1)[0]).version == 6:
        address = f"[{address}]"
    netloc = f"{address}:{parts.port}" if parts.port else address
    host_header = f"{host}:{parts.port}" if parts.port else host
    if ":" in host:
        host_header = f"[{host}]:{parts.port}" if parts.port else f"[{host}]"
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, extensions


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed): compact JSON with sorted keys, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# ---------------------------------------------------------------------------------------------
# Planning


def _link(settings: Settings, path: str) -> str | None:
    return f"{settings.portal_url.rstrip('/')}/{path}" if settings.portal_url else None


def _advisors(session: Session, advisory_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(
                User.advisory_id == advisory_id,
                User.role == Role.ADVISOR,
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )


def _tell_user(
    session: Session,
    settings: Settings,
    *,
    user: User,
    event: NotifyEvent,
    key: str,
    company_id: int | None,
    document_id: str | None = None,
    run: int = 1,
    title: str,
    body: str,
    email: EmailContent | None,
) -> list[Planned]:
    """In-app notification and e-mail for one user, as their preferences say; once per ``key``."""
    planned: list[Planned] = []
    refs = {"event": event.value, "user_id": user.id, "company_id": company_id}
    if channel_enabled(session, user.id, event, Channel.IN_APP):
        new = plan_delivery(
            session,
            idempotency_key=f"{key}:in_app",
            channel=Channel.IN_APP,
            document_id=document_id,
            status=DeliveryStatus.SENT,
            sent_at=utcnow(),
            next_attempt_at=None,
            **refs,
        )
        if new is not None:
            add_notification_once(
                session,
                user_id=user.id,
                company_id=company_id,
                document_id=document_id,
                run=run,
                kind=event.value,
                title=title[:200],
                body=body,
            )
    if (
        email is not None
        and settings.smtp_host
        and user.email
        and channel_enabled(session, user.id, event, Channel.EMAIL)
    ):
        new = plan_delivery(
            session,
            idempotency_key=f"{key}:email",
            channel=Channel.EMAIL,
            document_id=document_id,
            recipient=user.email,
            payload={"subject": email.subject, "text": email.text, "html": email.html},
            **refs,
        )
        if new is not None:
            planned.append(Planned(new, Channel.EMAIL))
    return planned


def _tell_webhooks(
    session: Session,
    *,
    advisory_id: int,
    company_id: int,
    event: NotifyEvent,
    key: str,
    data: dict[str, Any],
    document_id: str | None = None,
) -> list[Planned]:
    """One signed POST per active endpoint of the advisory (or of this company) wanting it."""
    endpoints = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.advisory_id == advisory_id,
            (WebhookEndpoint.company_id.is_(None)) | (WebhookEndpoint.company_id == company_id),
        )
    )
    planned = []
    for endpoint in endpoints:
        if not endpoint.wants(event):
            continue
        idempotency_key = f"{key}:webhook:{endpoint.id}"
        payload = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"papeleo:{idempotency_key}")),
            "event": event.value,
            "created_at": utcnow().isoformat(),
            "company_id": company_id,
            "data": data,
        }
        new = plan_delivery(
            session,
            idempotency_key=idempotency_key,
            channel=Channel.WEBHOOK,
            event=event.value,
            endpoint_id=endpoint.id,
            company_id=company_id,
            document_id=document_id,
            recipient=endpoint.url,
            payload=payload,
        )
        if new is not None:
            planned.append(Planned(new, Channel.WEBHOOK))
    return planned


def plan_document_notifications(
    session: Session, settings: Settings, document: Document
) -> list[Planned]:
    """Everything the end of ``document``'s current run tells people (in-app rows written now).

    Uploader: processed, or failed with the reason. Advisors of the company's advisory: a new
    document from a client (once per document) and, when flagged, a document needing review.
    Webhooks: every event, to the endpoints that want it. Returns the rows to publish.
    """
    company = session.get_one(Company, document.company_id)
    uploader = session.get(User, document.uploaded_by) if document.uploaded_by else None
    failed = document.status == DocumentStatus.FAILED
    needs_review = document.needs_review and not failed
    category = document.category or document.predicted_category
    run_key = f"doc:{document.id}:run:{document.run}"
    doc_link = _link(settings, f"documents/{document.id}")
    data = {
        "document_id": document.id,
        "status": document.status,
        "run": document.run,
        "display_name": document.display_name,
        "category": document.category,
        "predicted_category": document.predicted_category,
        "fiscal_year": document.fiscal_year,
        "error_code": document.error_code,
        "error_message": document.error_message,
        "needs_review": needs_review,
    }
    common = {"company_id": company.id, "document_id": document.id, "run": document.run}
    planned: list[Planned] = []

    outcome = NotifyEvent.document_failed if failed else NotifyEvent.document_processed
    if uploader is not None and uploader.is_active:
        text = document_notification(
            status="failed" if failed else "processed",
            display_name=document.display_name,
            category=category,
            error_code=document.error_code,
        )
        email = document_email(
            event=outcome,
            display_name=document.display_name,
            company_name=company.name,
            category=category,
            error_code=document.error_code,
            link=doc_link,
        )
        planned += _tell_user(
            session,
            settings,
            user=uploader,
            event=outcome,
            key=f"{outcome}:{run_key}:user:{uploader.id}",
            title=text.title,
            body=text.body,
            email=email,
            **common,
        )
    planned += _tell_webhooks(
        session,
        advisory_id=company.advisory_id,
        company_id=company.id,
        event=outcome,
        key=f"{outcome}:{run_key}",
        data=data,
        document_id=document.id,
    )

    advisors = _advisors(session, company.advisory_id)

    def tell_advisors(
        event: NotifyEvent, key: str, text: NotificationText, email: EmailContent
    ) -> list[Planned]:
        """Every advisor of the advisory (in-app and e-mail), then the webhooks, under ``key``."""
        rows: list[Planned] = []
        for advisor in advisors:
            rows += _tell_user(
                session,
                settings,
                user=advisor,
                event=event,
                key=f"{key}:user:{advisor.id}",
                title=text.title,
                body=text.body,
                email=email,
                **common,
            )
        return rows + _tell_webhooks(
            session,
            advisory_id=company.advisory_id,
            company_id=company.id,
            event=event,
            key=key,
            data=data,
            document_id=document.id,
        )

    if needs_review:
        event = NotifyEvent.document_needs_review
        text = document_notification(
            status="needs_review", display_name=document.display_name, category=category
        )
        email = document_email(
            event=event,
            display_name=document.display_name,
            company_name=company.name,
            category=category,
            link=doc_link,
        )
        planned += tell_advisors(event, f"{event}:{run_key}", text, email)

    if uploader is not None and uploader.role == Role.CLIENT:
        # Once per document, not per run: a retry is not a new document for the advisor.
        event = NotifyEvent.client_document
        who = uploader.full_name or uploader.username
        text = client_document_notification(
            display_name=document.display_name,
            company_name=company.name,
            uploader_name=who,
            category=category,
        )
        email = client_document_email(
            display_name=document.display_name,
            company_name=company.name,
            uploader_name=who,
            category=category,
            link=doc_link,
        )
        planned += tell_advisors(event, f"{event}:doc:{document.id}", text, email)
    return planned


def publish(planned: list[Planned]) -> None:
    """Publish one channel task per new row; a broker fault leaves the row to the sweeper."""
    for item in planned:
        task = deliver_email if item.channel == Channel.EMAIL else deliver_webhook
        try:
            task.apply_async((item.delivery_id,))
        except Exception:  # the row stays pending; sweep_deliveries publishes it again
            log.exception("could not publish delivery %s; the sweeper will", item.delivery_id)


def plan_redelivery(delivery: Delivery) -> Planned:
    """Give a delivery that failed for good a fresh set of attempts; publish it after commit.

    The payload and its delivery id are unchanged, so a receiver that did get it once can
    recognise the repeat; the signature gets a new timestamp.
    """
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.claimed_at = None
    return Planned(delivery.id, delivery.channel)


def notify_document(document_id: str) -> int:
    """Plan and publish the notifications of ``document_id``'s current run; new rows count.

    Running it again for the same run plans nothing new and publishes nothing.
    """
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        document = session.get(Document, document_id)
        if document is None:
            return 0
        planned = plan_document_notifications(session, runtime.settings, document)
    publish(planned)
    return len(planned)


# ---------------------------------------------------------------------------------------------
# Channels


def _send_email(settings: Settings, delivery: Delivery) -> int | None:
    if not settings.smtp_host:
        raise PermanentDeliveryError("SMTP is not configured (PAPELEO_SMTP_HOST)")
    message = EmailMessage()
    message["Subject"] = delivery.payload["subject"]
    message["From"] = settings.smtp_from
    message["To"] = delivery.recipient or ""
    message["Date"] = formatdate(localtime=False)
    # Stable across retries: a mail system that saw it once may drop the copy.
    message_id = uuid.uuid5(uuid.NAMESPACE_URL, f"papeleo:{delivery.idempotency_key}")
    message["Message-ID"] = f"<{message_id}@papeleo>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(delivery.payload["text"])
    message.add_alternative(delivery.payload["html"], subtype="html")
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if all(code >= 500 for code in codes):
            raise PermanentDeliveryError(f"recipient refused: {codes}") from error
        raise
    except smtplib.SMTPResponseException as error:
        if error.smtp_code >= 500 and not isinstance(error, smtplib.SMTPAuthenticationError):
            raise PermanentDeliveryError(f"SMTP {error.smtp_code}: {error.smtp_error!r}") from error
        raise
    return None


def _send_webhook(settings: Settings, delivery: Delivery, session: Session) -> int:
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id) if delivery.endpoint_id else None
    if endpoint is None or not endpoint.is_active:
        raise PermanentDeliveryError("the webhook endpoint was removed or disabled")
    addresses = check_webhook_target(
        endpoint.url, allow_private=settings.allow_private_webhook_targets
    )
    url, extensions = endpoint.url, {}
    body = webhook_body(delivery.payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Papeleo-Webhooks/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.payload.get("id", delivery.id)),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: webhook_signature(endpoint.secret, timestamp, body),
    }
    if addresses:
        url, host, extensions = pinned_request(endpoint.url, addresses[0])
        headers |= host
    # No redirects: a public URL must not bounce the request into a private network.
    with httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False) as client:
        response = client.post(url, content=body, headers=headers, extensions=extensions)
    if response.is_success:
        return response.status_code
    if response.status_code == httpx.codes.GONE:
        raise PermanentDeliveryError("410 Gone: the receiver asked us to stop")
    raise _HttpStatusError(response.status_code)


class _HttpStatusError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


def attempt_delivery(delivery_id: int) -> AttemptOutcome:
    """One attempt at one outbox row: claim it, send it, record the outcome.

    A row already sent, failed for good, or claimed by a live worker is skipped, so duplicate
    task messages send nothing twice. A transient failure returns ``retry_in`` seconds
    (exponential backoff with full jitter) until ``notify_max_attempts`` is reached.
    """
    runtime = get_runtime()
    settings = runtime.settings
    with transaction(runtime.sessions) as session:
        delivery = claim_delivery(session, delivery_id, CLAIM_LEASE)
        if delivery is None:
            return AttemptOutcome("skipped")
        session.expunge(delivery)
    response_status: int | None = None
    try:
        if delivery.channel == Channel.EMAIL:
            response_status = _send_email(settings, delivery)
        elif delivery.channel == Channel.WEBHOOK:
            with runtime.sessions() as session:
                response_status = _send_webhook(settings, delivery, session)
        else:
            raise PermanentDeliveryError(f"nothing to send over {delivery.channel}")
    except PermanentDeliveryError as error:
        message = f"{type(error).__name__}: {error}"
        with transaction(runtime.sessions) as session:
            record_failure(session, delivery_id, message, retry_in=None)
        log.warning("delivery %s failed for good: %s", delivery_id, message)
        return AttemptOutcome("failed", error=message)
    except Exception as error:  # network, SMTP 4xx, HTTP 5xx: worth another try
        message = f"{type(error).__name__}: {error}"
        status_code = error.status_code if isinstance(error, _HttpStatusError) else None
        last = delivery.attempts >= settings.notify_max_attempts
        retry_in = (
            None
            if last
            else get_exponential_backoff_interval(
                settings.notify_retry_backoff_seconds,
                delivery.attempts - 1,
                settings.notify_retry_backoff_max_seconds,
                full_jitter=True,
            )
        )
        with transaction(runtime.sessions) as session:
            record_failure(
                session,
                delivery_id,
                message,
                retry_in=None if retry_in is None else timedelta(seconds=retry_in),
                response_status=status_code,
            )
        log.warning("delivery %s attempt %s failed: %s", delivery_id, delivery.attempts, message)
        return AttemptOutcome("failed" if last else "retrying", retry_in=retry_in, error=message)
    with transaction(runtime.sessions) as session:
        record_sent(session, delivery_id, response_status)
    return AttemptOutcome("sent")


class DeliveryTask(Task):
    """A channel task: the outbox row counts attempts, so Celery's own limit is off."""

    max_retries = None
    acks_late = True


def _run_delivery(task: Task, delivery_id: int) -> str:
    outcome = attempt_delivery(delivery_id)
    if outcome.status == "retrying":
        raise task.retry(countdown=outcome.retry_in, max_retries=None)
    return outcome.status


@app.task(name="papeleo.notifications.deliver_email", bind=True, base=DeliveryTask)
def deliver_email(self: Task, delivery_id: int) -> str:
    """Send one outbox e-mail over SMTP; retried with backoff and jitter on transient faults."""
    return _run_delivery(self, delivery_id)


@app.task(name="papeleo.notifications.deliver_webhook", bind=True, base=DeliveryTask)
def deliver_webhook(self: Task, delivery_id: int) -> str:
    """POST one signed outbox webhook; retried with backoff and jitter on non-2xx or errors."""
    return _run_delivery(self, delivery_id)


@app.task(name="papeleo.notifications.sweep")
def sweep_deliveries() -> int:
    """Re-publish deliveries whose task was lost (broker down, worker killed); their count."""
    runtime = get_runtime()
    with runtime.sessions() as session:
        lost = [
            Planned(d.id, d.channel) for d in overdue_deliveries(session, SWEEP_GRACE, CLAIM_LEASE)
        ]
    publish(lost)
    return len(lost)


# ---------------------------------------------------------------------------------------------
# Payslips (the API the payslip family calls)


def notify_payslips_ready(
    bundle_id: str,
    *,
    company_id: int,
    requested_by: int | None,
    period: str,
    employees: int,
) -> None:
    """Tell people that payslip bundle ``bundle_id`` of ``company_id`` can be downloaded.

    Call it once the merged PDF is stored. ``period`` is ``"YYYY-MM"``; ``employees`` the number
    of payslips in the file. The requester is told (or, when None, the company's client users),
    plus the company's webhooks. Publishes a task (ids only); calling it twice tells nobody
    twice (keyed by ``bundle_id``). No link is sent: the portal issues short-lived downloads.
    """
    payslips_ready.apply_async((bundle_id, company_id, requested_by, period, employees))


@app.task(
    name="papeleo.notifications.payslips_ready",
    bind=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def payslips_ready(
    self: Task,
    bundle_id: str,
    company_id: int,
    requested_by: int | None,
    period: str,
    employees: int,
) -> int:
    """Plan and publish the payslips-ready notifications; the number of new channel rows."""
    runtime = get_runtime()
    settings = runtime.settings
    with transaction(runtime.sessions) as session:
        company = session.get(Company, company_id)
        if company is None:
            return 0
        if requested_by is not None:
            users = [u for u in [session.get(User, requested_by)] if u is not None]
        else:
            users = list(
                session.scalars(
                    select(User)
                    .join(Membership, Membership.user_id == User.id)
                    .where(Membership.company_id == company_id, User.role == Role.CLIENT)
                )
            )
        event = NotifyEvent.payslips_ready
        text = payslips_ready_notification(
            company_name=company.name, period=period, employees=employees
        )
        email = payslips_ready_email(
            company_name=company.name,
            period=period,
            employees=employees,
            link=_link(settings, f"companies/{company_id}/payslips"),
        )
        planned: list[Planned] = []
        for user in users:
            if user.advisory_id != company.advisory_id or not user.is_active:
                continue
            planned += _tell_user(
                session,
                settings,
                user=user,
                event=event,
                key=f"{event}:bundle:{bundle_id}:user:{user.id}",
                company_id=company_id,
                title=text.title,
                body=text.body,
                email=email,
            )
        planned += _tell_webhooks(
            session,
            advisory_id=company.advisory_id,
            company_id=company_id,
            event=event,
            key=f"{event}:bundle:{bundle_id}",
            data={"bundle_id": bundle_id, "period": period, "employees": employees},
        )
    publish(planned)
    return len(planned)


# ---------------------------------------------------------------------------------------------
# Daily digest for advisors


def _local_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def build_digest(session: Session, advisory_id: int, day: date, advisor: User) -> Digest:
    """What happened to the advisory's documents on ``day`` (Madrid time), per company."""
    start, end = _local_day_bounds(day)
    has_review = hasattr(Document, "needs_review")
    rows = session.execute(
        select(Document, Company.name)
        .join(Company, Company.id == Document.company_id)
        .where(
            Company.advisory_id == advisory_id,
            Document.created_at >= start,
            Document.created_at < end,
        )
        .order_by(Document.created_at)
    ).all()
    per_company: dict[str, list[int]] = {}
    failures: list[DigestFailure] = []
    for document, company_name in rows:
        counts = per_company.setdefault(company_name, [0, 0, 0, 0])
        counts[0] += 1
        if document.status == DocumentStatus.INDEXED:
            counts[1] += 1
        elif document.status == DocumentStatus.FAILED:
            counts[2] += 1
            failures.append(DigestFailure(company_name, document.display_name, document.error_code))
        if has_review and getattr(document, "needs_review", False):
            counts[3] += 1
    return Digest(
        day=day,
        advisor_name=advisor.full_name or advisor.username,
        companies=tuple(
            DigestCompany(name, *counts) for name, counts in sorted(per_company.items())
        ),
        failures=tuple(failures),
    )


@app.task(name="papeleo.notifications.daily_digest")
def daily_digest(day: str | None = None) -> int:
    """E-mail every advisor (who has not opted out) yesterday's digest; new e-mails count.

    ``day`` is an ISO date (default: yesterday in Madrid). Empty days send nothing; a second
    run for the same day sends nothing again.
    """
    runtime = get_runtime()
    settings = runtime.settings
    when = date.fromisoformat(day) if day else datetime.now(LOCAL_TZ).date() - timedelta(days=1)
    planned: list[Planned] = []
    with transaction(runtime.sessions) as session:
        advisors = session.scalars(
            select(User)
            .where(User.role == Role.ADVISOR, User.is_active.is_(True), User.email.is_not(None))
            .order_by(User.advisory_id, User.id)
        )
        for advisor in advisors:
            if not channel_enabled(session, advisor.id, NotifyEvent.daily_digest, Channel.EMAIL):
                continue
            digest = build_digest(session, advisor.advisory_id, when, advisor)
            if digest.is_empty:
                continue
            content = digest_email(digest, link=_link(settings, "documents"))
            planned += _tell_user(
                session,
                settings,
                user=advisor,
                event=NotifyEvent.daily_digest,
                key=f"{NotifyEvent.daily_digest}:{when.isoformat()}:user:{advisor.id}",
                company_id=None,
                title=content.subject,
                body=content.text.split("\n\n")[1],
                email=content,
            )
    publish(planned)
    return len(planned)


def _schedule(settings: Settings) -> None:
    app.add_periodic_task(
        crontab(hour=settings.digest_hour, minute=0),
        daily_digest.s(),
        name="papeleo.notifications.daily_digest",
    )
    app.add_periodic_task(
        SWEEP_GRACE.total_seconds(), sweep_deliveries.s(), name="papeleo.notifications.sweep"
    )


_schedule(get_settings())
