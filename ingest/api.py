"""The HTTP API for portal frontends (OpenAPI at /docs)."""

from __future__ import annotations

from fastapi import FastAPI

from ingest.limits import BodySizeLimit
from ingest.routers import auth, documents, health, notifications
from workers.runtime import get_runtime


def create_api() -> FastAPI:
    api = FastAPI(
        title="Papeleo",
        version="0.1.0",
        description="Document pipeline for Spanish accounting advisories.",
    )
    api.add_middleware(BodySizeLimit, max_bytes_for=_max_body)
    for module in (health, auth, documents, notifications):
        api.include_router(module.router)
    return api


def _max_body(request_path: str) -> int | None:
    if request_path.endswith("/documents"):
        return get_runtime().settings.max_upload_bytes + 64 * 1024  # multipart framing
    return 1024 * 1024
