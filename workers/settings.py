"""The one settings object: every knob comes from ``PAPELEO_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Papeleo configuration; defaults are the embedded, server-less setup."""

    model_config = SettingsConfigDict(env_prefix="PAPELEO_", env_file=".env", extra="ignore")

    data_dir: Path = Path("papeleo-data")
    database_url: str | None = None
    broker_url: str = "filesystem://"
    result_backend: str | None = None

    storage: Literal["filesystem", "minio"] = "filesystem"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "minioadmin"
    s3_secret_key: str = "minioadmin"  # noqa: S105 - MinIO's documented development default
    s3_bucket: str = "papeleo"
    s3_secure: bool = False
    s3_region: str | None = None

    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = "change-me-in-production"  # noqa: S105 - signs local download links
    download_url_ttl_seconds: int = 300
    token_ttl_hours: int = 12
    max_upload_bytes: int = 50 * 1024 * 1024

    ocr_languages: str = "spa+eng"
    ocr_dpi: int = 300
    max_pages: int = 300
    max_image_pixels: int = 80_000_000

    task_soft_time_limit: int = 240
    task_time_limit: int = 300
    worker_max_tasks_per_child: int = 50

    demo: bool = Field(default=True, description="create a demo advisory, company and user on `up`")

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'papeleo.db').resolve()}"

    @property
    def broker_folder(self) -> Path:
        return (self.data_dir / "broker").resolve()

    @property
    def objects_folder(self) -> Path:
        return (self.data_dir / "objects").resolve()


_installed: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings: read once from the environment unless others were installed."""
    return _installed or _from_environment()


def install_settings(settings: Settings | None) -> None:
    """Use ``settings`` in this process from now on (``papeleo process``, tests); None undoes."""
    global _installed
    _installed = settings


@lru_cache(maxsize=1)
def _from_environment() -> Settings:
    return Settings()
