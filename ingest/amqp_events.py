"""The AMQP receiver of MinIO bucket notifications (`papeleo events consume`).

MinIO's AMQP target publishes each notification (the same JSON as the webhook's) to an
exchange; this consumer binds a durable queue of its own to it and acknowledges a message
only after `handle_notification` committed every record, so a crash delivers it again
(handling is idempotent). Configure MinIO with the same exchange name, type and durability:
``MINIO_NOTIFY_AMQP_EXCHANGE_<ID>``, ``…_EXCHANGE_TYPE_<ID>``, ``…_DURABLE_<ID>=on``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from kombu import Connection, Exchange, Queue
from kombu.message import Message
from kombu.mixins import ConsumerMixin
from sqlalchemy import exc as sa_exc

from ingest.events import MalformedEvent, handle_notification
from storage.objects import StoreUnavailable
from workers.runtime import Runtime
from workers.settings import Settings

log = logging.getLogger(__name__)

TRANSIENT: Final = (StoreUnavailable, sa_exc.OperationalError, sa_exc.InterfaceError)
RETRY_PAUSE_SECONDS: Final = 2.0


def events_exchange(settings: Settings) -> Exchange:
    return Exchange(
        settings.minio_events_exchange, type=settings.minio_events_exchange_type, durable=True
    )


def events_queue(settings: Settings) -> Queue:
    """Our durable queue, bound with the routing key MinIO is told to use (the queue name)."""
    return Queue(
        settings.minio_events_queue,
        exchange=events_exchange(settings),
        routing_key=settings.minio_events_queue,
        durable=True,
    )


def events_amqp_url(settings: Settings) -> str:
    return settings.minio_events_amqp_url or settings.broker_url


class BucketEventConsumer(ConsumerMixin):
    """Consumes MinIO notifications; acks after the commit, requeues transient failures."""

    def __init__(self, connection: Connection, runtime: Runtime, *, prefetch: int = 8) -> None:
        self.connection = connection
        self.runtime = runtime
        self.queue = events_queue(runtime.settings)
        self.prefetch = prefetch

    def get_consumers(self, consumer_class: Any, channel: Any) -> list[Any]:
        # on_message: the raw body, whatever content type MinIO declared.
        return [
            consumer_class(
                queues=[self.queue], on_message=self.on_message, prefetch_count=self.prefetch
            )
        ]

    def on_message(self, message: Message) -> None:
        try:
            handle_notification(self.runtime, message.body)
        except MalformedEvent as error:
            log.error("dropping a message that is not a bucket event: %s", error)
            message.reject(requeue=False)
        except TRANSIENT as error:
            log.warning("bucket event not handled yet (%r); delivered again shortly", error)
            time.sleep(RETRY_PAUSE_SECONDS)
            message.requeue()
        except Exception:
            # Unknown faults: keep the message (the reconciler also covers the upload).
            log.exception("bucket event failed; delivered again shortly")
            time.sleep(RETRY_PAUSE_SECONDS)
            message.requeue()
        else:
            message.ack()


def consume(runtime: Runtime) -> None:
    """Run the consumer until SIGTERM / Ctrl-C (the caller installs the stop handler)."""
    with Connection(events_amqp_url(runtime.settings), heartbeat=30) as connection:
        consumer = BucketEventConsumer(connection, runtime)
        _running.append(consumer)
        try:
            consumer.run()
        finally:
            _running.remove(consumer)


_running: list[BucketEventConsumer] = []


def stop_all() -> None:
    """Ask every running consumer to stop after its current message."""
    for consumer in _running:
        consumer.should_stop = True
