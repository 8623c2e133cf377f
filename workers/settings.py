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
    # Below this category confidence a document is flagged for an advisor's review.
    review_confidence_threshold: float = 0.5

    task_soft_time_limit: int = 240  # 0 disables the soft limit (the hard one still applies)
    task_time_limit: int = 300
    # A document's chain is five tasks of milliseconds each, and Celery may take up to 5 s to
    # replace a retired process: recycle rarely; the memory ceiling below catches leaks.
    worker_max_tasks_per_child: int = 1000

    payslip_chunk_size: int = Field(default=50, ge=1, le=1000, description="payslips a task draws")
    # KiB of resident memory after which a worker process is replaced once its task ends.
    worker_max_memory_per_child: int = 1_048_576
    # Scans with more OCR pages than this fan out one task per page (workers/ocr_pages.py).
    ocr_fanout_pages: int = 8
    # Seconds poppler or tesseract may spend on one page before the page fails as `timeout`.
    ocr_page_timeout: int = 120

    # Notifications: e-mail is off until smtp_host is set; webhooks never reach private networks.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_from: str = "Papeleo <no-reply@papeleo.invalid>"
    smtp_timeout_seconds: float = 15.0
    webhook_timeout_seconds: float = 10.0
    allow_private_webhook_targets: bool = False
    notify_max_attempts: int = 8
    notify_retry_backoff_seconds: int = 30
    notify_retry_backoff_max_seconds: int = 3600
    digest_hour: int = 7  # local hour (Europe/Madrid) of the advisors' daily digest
    portal_url: str | None = None  # base of links in e-mails, e.g. https://portal.example.es

    # Direct uploads and MinIO bucket events (ingest/events.py, workers/maintenance.py).
    s3_public_endpoint: str | None = None  # what browsers reach, e.g. https://files.example.es
    upload_url_ttl_seconds: int = 900
    upload_allowed_content_types: list[str] = Field(
        default=[
            "application/pdf",
            "image/jpeg",
            "image/png",
            "image/heic",
            "image/heif",
            "image/tiff",
            "image/webp",
        ]
    )
    minio_webhook_token: str | None = None  # webhook refuses every call while unset
    minio_events_amqp_url: str | None = None  # defaults to broker_url
    minio_events_exchange: str = "papeleo-minio-events"
    minio_events_exchange_type: str = "fanout"
    minio_events_queue: str = "papeleo.minio-events"
    reconcile_interval_seconds: int = 300
    reconcile_window_hours: int = 48
    sweep_interval_seconds: int = 60
    sweep_after_seconds: int = 600
    flower_basic_auth: str | None = None  # user:password[,user2:password2]
    flower_broker_api: str | None = None  # RabbitMQ management API, for queue lengths
    worker_send_task_events: bool = False  # Flower needs them

    # Failed logins (ingest/throttle.py): from this many failures a key waits a doubling delay.
    login_max_failures_per_user: int = 5  # per advisory code + user name
    login_max_failures_per_ip: int = 20
    login_failure_window_seconds: int = 900  # an older streak of failures is forgotten
    login_max_delay_seconds: int = 900

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
