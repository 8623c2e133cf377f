"""The ``papeleo`` command line."""

from __future__ import annotations

import ctypes
import json
import mimetypes
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import click
from sqlalchemy import select

from ingest.accounts import ensure_account, ensure_demo
from ingest.payroll_cli import payroll, payslips
from ingest.schemas import DocumentOut
from ingest.uploads import clean_name, display_name_for, store_upload
from storage.intake import NewDocument
from storage.migrate import upgrade
from storage.models import Company, Document, Role, Source
from workers.app import app as celery_app
from workers.app import celery_config
from workers.documents import CATEGORIES
from workers.intake import publish, register_document
from workers.queues import QUEUE_NAMES
from workers.runtime import get_runtime, reset_runtime
from workers.settings import Settings, get_settings, install_settings


@click.group()
def main() -> None:
    """Papeleo: the document pipeline of an accounting advisory's client portal."""


main.add_command(payroll)
main.add_command(payslips)


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema (idempotent)."""
    upgrade(get_settings().sqlalchemy_url)
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--concurrency", default=1, show_default=True, help="worker processes")
def up(host: str, port: int, concurrency: int) -> None:
    """Run everything in one process group: SQLite, files on disk, one worker and the API."""
    import uvicorn

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)
    get_runtime().store.ensure_ready()
    if settings.demo:
        with get_runtime().sessions.begin() as session:
            demo = ensure_demo(session)
        click.echo(
            f"Demo login: advisory code {demo.advisory_code}, user {demo.username}, "
            f"password {demo.password} (company {demo.company_name}, id {demo.company_id})"
        )
    # One machine: the API answers first (nice 10 for the worker); documents queue meanwhile.
    worker_args = ["worker", "--concurrency", str(concurrency), "--nice", "10"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli", *worker_args],
        preexec_fn=_die_with_parent,
    )
    click.echo(f"Papeleo API on http://{host}:{port} (OpenAPI: http://{host}:{port}/docs)")
    # uvicorn re-raises SIGTERM after its shutdown; turn it into SystemExit so `finally` runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run("ingest.api:create_api", factory=True, host=host, port=port)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - a server in a container
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True)
def api(host: str, port: int, workers: int) -> None:
    """Run the HTTP API."""
    from ingest.server import serve

    serve(host, port, workers)


@main.command()
@click.option("--queues", default=",".join(QUEUE_NAMES), show_default=True)
@click.option("--concurrency", default=1, show_default=True)
@click.option("--max-tasks-per-child", type=int, default=None)
@click.option("--max-memory-per-child", type=int, default=None, help="KiB")
@click.option("--hostname", default=None)
@click.option("--loglevel", default="INFO", show_default=True)
@click.option(
    "--nice",
    type=click.IntRange(0, 19),
    default=0,
    show_default=True,
    help="lower CPU priority: on a machine shared with the API, uploads never wait behind OCR",
)
def worker(
    queues: str,
    concurrency: int,
    max_tasks_per_child: int | None,
    max_memory_per_child: int | None,
    hostname: str | None,
    loglevel: str,
    nice: int,
) -> None:
    """Run a Celery worker on the given queues."""
    unknown = set(queues.split(",")) - set(QUEUE_NAMES)
    if unknown:
        raise click.BadParameter(f"unknown queues: {', '.join(sorted(unknown))}")
    if nice:
        os.nice(nice)  # inherited by the pool's processes and by tesseract
    argv = ["worker", "-Q", queues, "-c", str(concurrency), "--loglevel", loglevel]
    if max_tasks_per_child:
        argv += ["--max-tasks-per-child", str(max_tasks_per_child)]
    if max_memory_per_child:
        argv += ["--max-memory-per-child", str(max_memory_per_child)]
    if hostname:
        argv += ["--hostname", hostname]
    celery_app.worker_main(argv)


@main.command()
@click.option("--loglevel", default="INFO", show_default=True)
def beat(loglevel: str) -> None:
    """Run Celery beat (scheduled jobs)."""
    schedule = get_settings().data_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", "--loglevel", loglevel, "--schedule", str(schedule)])


@main.group()
def events() -> None:
    """MinIO bucket notifications (direct uploads)."""


@events.command("consume")
@click.option("--loglevel", default="INFO", show_default=True)
def events_consume(loglevel: str) -> None:
    """Register uploaded objects from MinIO's AMQP notifications (until SIGTERM)."""
    import logging

    from ingest.amqp_events import consume, events_queue, stop_all

    logging.basicConfig(level=loglevel, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = get_runtime()
    signal.signal(signal.SIGTERM, lambda *_: stop_all())
    click.echo(f"consuming MinIO notifications from queue {events_queue(runtime.settings).name}")
    consume(runtime)


@events.command("check")
def events_check() -> None:
    """Exit 0 when the bucket-event queue has a consumer (a health check)."""
    from kombu import Connection

    from ingest.amqp_events import events_amqp_url, events_queue

    settings = get_settings()
    with Connection(events_amqp_url(settings), connect_timeout=5) as connection:
        declared = events_queue(settings)(connection.default_channel).queue_declare(passive=True)
    click.echo(f"{declared.consumer_count} consumer(s), {declared.message_count} waiting")
    if declared.consumer_count < 1:
        raise SystemExit(1)


@main.command()
@click.option("--address", default="0.0.0.0", show_default=True)  # noqa: S104 - in a container
@click.option("--port", default=5555, show_default=True)
@click.option("--basic-auth", default=None, help="user:password[,…]; PAPELEO_FLOWER_BASIC_AUTH")
@click.option("--auth", "oauth_allowed", default=None, help="OAuth: regex of allowed e-mails")
@click.option("--auth-provider", default=None, help="OAuth: Flower's login handler class")
@click.option("--broker-api", default=None, help="RabbitMQ management API (queue lengths)")
@click.option("--db", "db_file", default=None, help="state file [DATA_DIR/flower.db]")
@click.option("--persistent/--no-persistent", default=True, show_default=True)
@click.option("--read-only/--read-write", default=True, show_default=True, help="no controls")
@click.option("--dev", is_flag=True, help="allow starting without authentication (development)")
def flower(
    address: str,
    port: int,
    basic_auth: str | None,
    oauth_allowed: str | None,
    auth_provider: str | None,
    broker_api: str | None,
    db_file: str | None,
    persistent: bool,
    read_only: bool,
    dev: bool,
) -> None:
    """Run Flower for advisors: authenticated, persistent, read-only by default."""
    settings = get_settings()
    basic_auth = basic_auth or settings.flower_basic_auth
    oauth = bool(oauth_allowed and auth_provider)
    if not (basic_auth or oauth or dev):
        raise click.UsageError(
            "Flower shows every task and worker: refusing to start without authentication. "
            "Set PAPELEO_FLOWER_BASIC_AUTH=user:password (or --basic-auth), or OAuth with "
            "--auth and --auth-provider, or pass --dev on a development machine."
        )
    if basic_auth and not all(
        user and password
        for user, _, password in (entry.partition(":") for entry in basic_auth.split(","))
    ):
        raise click.BadParameter("use user:password[,user2:password2]", param_hint="--basic-auth")
    db_path = Path(db_file) if db_file else settings.data_dir / "flower.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        "flower",
        f"--address={address}",
        f"--port={port}",
        f"--persistent={persistent}",
        f"--db={db_path}",
        f"--read_only={read_only}",
    ]
    if basic_auth:
        argv.append(f"--basic_auth={basic_auth}")
    if oauth:
        argv += [f"--auth={oauth_allowed}", f"--auth_provider={auth_provider}"]
    if broker_api or settings.flower_broker_api:
        argv.append(f"--broker_api={broker_api or settings.flower_broker_api}")
    celery_app.start(argv)


@main.command("create-user")
@click.option("--advisory-code", required=True, help="e.g. 6")
@click.option("--advisory-name", default=None, help="creates the advisory when new")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.CLIENT.value)
@click.option("--email", default=None)
@click.option("--full-name", default="")
@click.option("--company-nif", multiple=True, help="company the user belongs to (repeatable)")
@click.option("--company-name", default=None, help="creates the company when new")
def create_user(
    advisory_code: str,
    advisory_name: str | None,
    username: str,
    password: str,
    role: str,
    email: str | None,
    full_name: str,
    company_nif: tuple[str, ...],
    company_name: str | None,
) -> None:
    """Create or update a user (and, if asked, its advisory and companies)."""
    with get_runtime().sessions.begin() as session:
        user = ensure_account(
            session,
            advisory_code=advisory_code,
            advisory_name=advisory_name,
            username=username,
            password=password,
            role=Role(role),
            email=email,
            full_name=full_name,
            company_nifs=company_nif,
            company_name=company_name,
        )
        click.echo(f"user {user.username} (id {user.id}, {user.role}) is ready")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--category", type=click.Choice(CATEGORIES), default=None)
@click.option("--json", "as_json", is_flag=True, help="print the document as JSON")
def process(file: Path, category: str | None, as_json: bool) -> None:
    """Run the whole chain on FILE in this process and print the resulting document."""
    with tempfile.TemporaryDirectory(prefix="papeleo-process-") as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            database_url=None,
            storage="filesystem",
            broker_url="memory://",
            result_backend=None,
        )
        install_settings(settings)
        reset_runtime()
        celery_app.conf.update(celery_config(settings), task_always_eager=True)
        try:
            document = _process_in_process(file, category)
        finally:
            install_settings(None)
            reset_runtime()
    if as_json:
        click.echo(document.model_dump_json(indent=2))
        return
    click.echo(f"{document.display_name}: {document.status}")
    if document.error:
        click.echo(f"  error {document.error.code}: {document.error.message}")
    click.echo(f"  category: {document.category or '-'} (predicted {document.predicted_category})")
    click.echo(f"  fields: {json.dumps(document.fields, ensure_ascii=False)}")
    click.echo(f"  text:\n{document.text or ''}")


def _process_in_process(file: Path, category: str | None) -> DocumentOut:
    runtime = get_runtime()
    upgrade(runtime.settings.sqlalchemy_url)
    runtime.store.ensure_ready()
    with runtime.sessions.begin() as session:
        demo = ensure_demo(session)
    with runtime.sessions() as session:
        company = session.get_one(Company, demo.company_id)
        with file.open("rb") as stream:
            stored = store_upload(
                runtime.store,
                stream,
                company_id=company.id,
                fiscal_year=_this_year(),
                file_name=file.name,
                content_type=mimetypes.guess_type(file.name)[0],
            )
        document = NewDocument(
            id=stored.document_id,
            company_id=company.id,
            fiscal_year=_this_year(),
            uploaded_by=demo.user_id,
            source=Source.CLI,
            category=category,
            original_name=clean_name(file.name) or "documento",
            display_name=display_name_for(file.name, None, 0, 1),
            sha256=stored.sha256,
            size=stored.size,
            original_key=stored.key,
        )
        registered = register_document(session, document)
        session.commit()
    publish(registered)
    with runtime.sessions() as session:
        saved = session.scalar(select(Document).where(Document.id == stored.document_id))
        assert saved is not None
        return DocumentOut.of(saved)


def _die_with_parent() -> None:
    """In the worker child: get SIGTERM when `papeleo up` dies, even by SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _this_year() -> int:
    from datetime import UTC, datetime

    return datetime.now(UTC).year


if __name__ == "__main__":
    main()
