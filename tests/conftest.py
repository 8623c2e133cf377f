"""Shared fixtures: real service URLs, fresh databases, in-process settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from storage.migrate import upgrade
from workers.app import app as celery_app
from workers.app import celery_config
from workers.runtime import reset_runtime
from workers.settings import Settings, install_settings

POSTGRES_URL = os.environ.get(
    "PAPELEO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PAPELEO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("PAPELEO_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
SAMPLES = Path(os.environ.get("PAPELEO_SAMPLES", Path(__file__).parents[2] / "shared" / "samples"))


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """../shared/samples; absent on a user's clone (skip), but never under CI (fail)."""
    if not SAMPLES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"sample documents missing at {SAMPLES} (required under CI)")
        pytest.skip(f"sample documents not found at {SAMPLES}; set PAPELEO_SAMPLES")
    return SAMPLES


def _admin_conninfo() -> str:
    url = make_url(POSTGRES_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A brand-new, migrated PostgreSQL database for one test; dropped afterwards."""
    name = f"papeleo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'papeleo.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on SQLite and on PostgreSQL."""
    name = "sqlite_database" if request.param == "sqlite" else "postgres_database"
    return request.getfixturevalue(name)


@pytest.fixture
def embedded(tmp_path: Path, sqlite_database: str) -> Iterator[Settings]:
    """In-process settings: SQLite, filesystem store, an in-memory broker nobody consumes."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_database,
        broker_url="memory://",
        storage="filesystem",
        max_upload_bytes=2 * 1024 * 1024,
    )
    install_settings(settings)
    reset_runtime()
    celery_app.conf.update(celery_config(settings))
    try:
        yield settings
    finally:
        install_settings(None)
        reset_runtime()
