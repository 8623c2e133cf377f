"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ingest.deps import RuntimeDep
from workers.runtime import Runtime

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"])
def readyz(rt: RuntimeDep) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, check in (
        ("database", _check_database),
        ("store", _check_store),
        ("broker", _check_broker),
    ):
        try:
            check(rt)
            checks[name] = "ok"
        except Exception as error:  # readiness reports every failure, it never raises
            checks[name] = f"unavailable: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(checks, status_code=200 if ready else 503)


def _check_database(rt: Runtime) -> None:
    with rt.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _check_store(rt: Runtime) -> None:
    rt.store.ensure_ready()


def _check_broker(rt: Runtime) -> None:
    from workers.app import app as celery_app

    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
