"""The MinIO webhook notification target: `POST /v1/minio/events` with a bearer token.

Configure MinIO with ``MINIO_NOTIFY_WEBHOOK_ENDPOINT_<ID>=http://api:8000/v1/minio/events``
and ``MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_<ID>`` = ``PAPELEO_MINIO_WEBHOOK_TOKEN`` (MinIO sends it
as ``Authorization: Bearer …``). A 2xx answer means every record is committed; any other
answer makes MinIO deliver again from its queue directory (handling is idempotent).
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool

from ingest.deps import RuntimeDep, bearer
from ingest.events import MalformedEvent, handle_notification
from storage.objects import StoreUnavailable

log = logging.getLogger(__name__)
router = APIRouter()


def _authorized(
    rt: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    token = rt.settings.minio_webhook_token
    # No token configured: the endpoint is closed, never open.
    if (
        not token
        or credentials is None
        or not hmac.compare_digest(credentials.credentials.encode(), token.encode())
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing or wrong webhook token",
            headers={"WWW-Authenticate": "Bearer"},
        )


@router.post("/v1/minio/events", tags=["events"], dependencies=[Depends(_authorized)])
async def minio_events(request: Request, rt: RuntimeDep) -> dict[str, list[dict[str, str]]]:
    """Register the objects of one MinIO notification; 2xx only after the database commit."""
    payload = await request.body()
    try:
        registrations = await run_in_threadpool(handle_notification, rt, payload)
    except MalformedEvent as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"Not a bucket event: {error}") from None
    except (StoreUnavailable, sa_exc.OperationalError, sa_exc.InterfaceError) as error:
        log.warning("bucket event not handled, MinIO will retry: %r", error)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Try again later") from None
    return {
        "records": [
            {"key": r.key, "outcome": r.outcome.value, "document_id": r.document_id or ""}
            for r in registrations
        ]
    }
