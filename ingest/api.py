"""The HTTP API for portal frontends (OpenAPI at /docs)."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from ingest import metrics
from ingest.limits import BodySizeLimit
from ingest.routers import (
    auth,
    corrections,
    documents,
    health,
    minio_events,
    notifications,
    payslips,
    retry,
    tasks,
    tokens,
    uploads,
)
from workers.runtime import get_runtime


def create_api() -> FastAPI:
    api = FastAPI(
        title="Papeleo",
        version="0.1.0",
        description="Document pipeline for Spanish accounting advisories.",
    )
    api.add_middleware(BodySizeLimit, max_bytes_for=_max_body)
    api.add_middleware(metrics.PrometheusMiddleware)
    for module in (health, auth, documents, notifications, uploads, minio_events, metrics, retry):
        api.include_router(module.router)
    for module in (tasks, tokens):  # document history and accounts (issue 5)
        api.include_router(module.router)
    api.include_router(payslips.router)  # payroll and payslips (issue 6)
    api.include_router(corrections.router)  # advisors' corrections (issue 4)
    # What import and set-up made lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise scan it all and stall the requests in flight.
    gc.freeze()
    return api


def _max_body(request_path: str) -> int | None:
    if request_path.endswith(("/documents", "/blob", "/payroll/imports")):
        return get_runtime().settings.max_upload_bytes + 64 * 1024  # multipart framing
    return 1024 * 1024
