"""A real stack for the event bridge: PostgreSQL, a RabbitMQ vhost of its own, moto S3, and
the API, a worker and the bucket-event consumer as separate processes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
from kombu import Connection, Producer

from ingest.amqp_events import events_exchange, events_queue
from tests.e2e.conftest import Stack, server_stack
from workers.settings import Settings

WEBHOOK_TOKEN = "webhook-token-for-tests"


def minio_event(
    bucket: str, key: str, etag: str, size: int, name: str = "s3:ObjectCreated:Post"
) -> dict[str, Any]:
    """A notification exactly as MinIO sends it (webhook body and AMQP message alike)."""
    return {
        "EventName": name,
        "Key": f"{bucket}/{key}",
        "Records": [
            {
                "eventVersion": "2.0",
                "eventSource": "minio:s3",
                "awsRegion": "",
                "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "eventName": name,
                "userIdentity": {"principalId": "papeleo-app"},
                "requestParameters": {
                    "principalId": "papeleo-app",
                    "region": "",
                    "sourceIPAddress": "172.18.0.1",
                },
                "responseElements": {
                    "x-amz-id-2": "dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af92511",
                    "x-amz-request-id": "18B3A2C41E5A1C9F",
                    "x-minio-deployment-id": "6f0b7b5e-5c1c-4b9e-9d3e-2b3c4d5e6f70",
                    "x-minio-origin-endpoint": "http://172.18.0.4:9000",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "Config",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "papeleo-app"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key),  # MinIO URL-encodes keys
                        "size": size,
                        "eTag": etag,
                        "contentType": "application/pdf",
                        "userMetadata": {"content-type": "application/pdf"},
                        "sequencer": "18B3A2C41E6D2F10",
                    },
                },
                "source": {"host": "172.18.0.1", "port": "", "userAgent": "Mozilla/5.0"},
            }
        ],
    }


def publish_to_exchange(amqp_url: str, payload: dict[str, Any], times: int = 1) -> None:
    """What MinIO's AMQP target does: publish the JSON to the configured exchange."""
    settings = Settings(minio_events_amqp_url=amqp_url)
    with Connection(amqp_url) as connection:
        channel = connection.channel()
        events_queue(settings)(channel).declare()  # bound before the first publish
        producer = Producer(channel, exchange=events_exchange(settings))
        for _ in range(times):
            producer.publish(
                json.dumps(payload),
                routing_key=settings.minio_events_queue,
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
            )


def start_bridge_stack(
    tmp: Path, database: str, amqp_url: str, s3: str, *, consumer: bool = True
) -> Stack:
    stack = server_stack("bridge", tmp, database, amqp_url, s3, minio_webhook_token=WEBHOOK_TOKEN)
    stack.start_api()
    stack.start("worker", "worker", "--concurrency", "2", "--hostname", "bridge@%h")
    if consumer:
        stack.start("events", "events", "consume")
    return stack


def running(stack: Stack) -> Iterator[Stack]:
    try:
        stack.wait_until_healthy()
        yield stack
    except BaseException:
        print(stack.log_tail())
        raise
    finally:
        stack.stop()


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def post_form(ticket: dict[str, Any], body: bytes, content_type: str) -> httpx.Response:
    files = {ticket["file_field"]: ("upload.pdf", body, content_type)}
    return httpx.post(ticket["url"], data=ticket["fields"], files=files, timeout=30)
