"""Shared fixtures: real service URLs, fresh databases, in-process settings."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
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


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """One migrated database per test session; each test gets a copy (fast, and migrations run
    once instead of once per test)."""
    name = f"papeleo_tpl_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    upgrade(make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
    try:
        yield name
    finally:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_database(postgres_template: str) -> Iterator[str]:
    """A brand-new, migrated PostgreSQL database for one test; dropped afterwards."""
    name = f"papeleo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "papeleo.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite database file for one test (a copy of the session's template)."""
    path = tmp_path / "papeleo.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1: no MinIO server can run on these machines."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def rabbitmq_vhost() -> Iterator[str]:
    """A vhost of our own, so no stale message of another run reaches our worker."""
    vhost = f"papeleo-test-{uuid.uuid4().hex[:8]}"
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        yield AMQP_URL
        return
    subprocess.run([ctl, "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    subprocess.run(
        [ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    yield AMQP_URL.rstrip("/") + "/" + vhost
    subprocess.run([ctl, "delete_vhost", vhost], capture_output=True, timeout=60)
