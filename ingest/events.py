"""MinIO bucket notifications → documents: the parser and handler shared by both receivers.

The webhook (`ingest/routers/minio_events.py`) and the AMQP consumer (`ingest/amqp_events.py`)
hand the raw notification to `handle_notification`; every created object goes through
`workers.uploads.register_object`, which is idempotent on (bucket, key, eTag/version).

MinIO's format (AWS S3 event structure, version 2.0)::

    {"EventName": "s3:ObjectCreated:Post", "Key": "papeleo/companies/1/…",
     "Records": [{"eventName": "s3:ObjectCreated:Post",
                  "s3": {"bucket": {"name": "papeleo"},
                         "object": {"key": "companies%2F1%2F…", "size": 1234,
                                    "eTag": "…", "versionId": "…", "sequencer": "…"}}}]}

Object keys arrive URL-encoded (spaces as ``+``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import unquote_plus

from prometheus_client import Counter

from workers.runtime import Runtime
from workers.uploads import ObjectCreated, Registration, register_object

log = logging.getLogger(__name__)

CREATED_EVENTS: Final = frozenset(
    {
        "s3:ObjectCreated:Put",
        "s3:ObjectCreated:Post",
        "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload",
    }
)

BUCKET_EVENTS = Counter(
    "papeleo_bucket_events_total",
    "Object-created notifications handled, by outcome",
    ["outcome"],
)


class MalformedEvent(ValueError):
    """The payload is not a MinIO / S3 event notification."""


def parse_notification(payload: bytes | str | Mapping[str, Any]) -> list[ObjectCreated]:
    """The object-created records of one notification; other event kinds are skipped."""
    if isinstance(payload, bytes | str):
        try:
            payload = json.loads(payload)
        except ValueError as error:
            raise MalformedEvent(f"not JSON: {error}") from None
    if not isinstance(payload, Mapping):
        raise MalformedEvent("the notification is not a JSON object")
    records = payload.get("Records")
    if not isinstance(records, list):
        raise MalformedEvent("no Records list")
    created: list[ObjectCreated] = []
    for record in records:
        try:
            name = str(record["eventName"])
            if name not in CREATED_EVENTS:
                continue
            s3 = record["s3"]
            obj = s3["object"]
            bucket = str(s3["bucket"]["name"])
            key = unquote_plus(str(obj["key"]))
        except (KeyError, TypeError) as error:
            raise MalformedEvent(f"record without {error}") from None
        version = str(obj.get("versionId") or "")
        # Unversioned buckets: no version id (AWS writes "null"); the eTag identifies the write.
        revision = version if version and version != "null" else str(obj.get("eTag") or "")
        revision = revision.strip('"')
        if not bucket or not key or not revision:
            raise MalformedEvent("record without bucket, key or eTag")
        created.append(ObjectCreated(bucket=bucket, key=key, revision=revision, event_name=name))
    return created


def handle_notification(
    runtime: Runtime, payload: bytes | str | Mapping[str, Any]
) -> list[Registration]:
    """Register every created object of the notification; returns after each commit.

    `MalformedEvent` for a payload that is not an event; transient store and database
    errors propagate so the sender delivers again (every step is idempotent).
    """
    registrations = []
    for created in parse_notification(payload):
        registration = register_object(runtime, created)
        BUCKET_EVENTS.labels(registration.outcome.value).inc()
        log.info(
            "%s %s/%s → %s %s",
            created.event_name,
            created.bucket,
            created.key,
            registration.outcome,
            registration.document_id or "",
        )
        registrations.append(registration)
    return registrations
