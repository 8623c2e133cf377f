"""Prometheus metrics of the API: requests by route template, their latency, and `/metrics`.

Each API process keeps its own counters (scrape every process, or run one per container).
"""

from __future__ import annotations

import time
from typing import Final

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS: Final = Counter(
    "papeleo_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
LATENCY: Final = Histogram(
    "papeleo_http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

router = APIRouter()


@router.get("/metrics", tags=["health"], include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class PrometheusMiddleware:
    """Counts and times every request under its route template (bounded label values)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = _route_template(scope)
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
            REQUESTS.labels(method, route, str(status)).inc()


def _route_template(scope: Scope) -> str:
    # Templates, not paths: ids in paths would make one time series per document. The
    # router records the matched route in the (shared) scope while handling the request.
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")
