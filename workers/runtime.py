"""The process's connections: database sessions and the object store, built from settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_session_factory
from storage.objects import FilesystemStore, MinioStore, ObjectStore
from workers.settings import Settings, get_settings


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore


def build_store(settings: Settings) -> ObjectStore:
    if settings.storage == "minio":
        return MinioStore.from_endpoint(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
            public_endpoint=settings.s3_public_endpoint,
        )
    return FilesystemStore(
        settings.objects_folder, url_base=settings.public_url, secret=settings.secret_key
    )


@lru_cache(maxsize=1)
def get_runtime() -> Runtime:
    """This process's runtime, built on first use (after a worker's fork)."""
    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    return Runtime(settings, engine, make_session_factory(engine), build_store(settings))


def reset_runtime() -> None:
    if get_runtime.cache_info().currsize:
        get_runtime().engine.dispose(close=False)
    get_runtime.cache_clear()
