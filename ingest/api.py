"""The HTTP API for portal frontends (OpenAPI at /docs)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import or_, select, text, tuple_
from sqlalchemy.orm import Session

from ingest.auth import (
    authenticate,
    can_read_documents,
    issue_token,
    user_for_token,
    visible_companies,
)
from ingest.limits import BodySizeLimit
from ingest.schemas import (
    CompanyOut,
    DocumentOut,
    DocumentPage,
    DocumentSummary,
    NotificationOut,
    TokenRequest,
    TokenResponse,
    UploadedDocument,
    UploadResponse,
)
from ingest.uploads import display_name_for, store_upload
from storage.history import mark_queued
from storage.models import (
    Activity,
    Company,
    Document,
    DocumentStatus,
    Notification,
    Source,
    Step,
    User,
    utcnow,
)
from storage.objects import FilesystemStore, ObjectNotFound, content_disposition
from storage.search import matches
from workers.documents import CATEGORIES, start_processing
from workers.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False)
NOT_FOUND = HTTPException(status.HTTP_404_NOT_FOUND, "Not found")


def runtime() -> Runtime:
    return get_runtime()


def db(rt: Annotated[Runtime, Depends(runtime)]) -> Iterator[Session]:
    with rt.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(db)]
RuntimeDep = Annotated[Runtime, Depends(runtime)]


def current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    user = user_for_token(session, credentials.credentials) if credentials else None
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing, expired or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


UserDep = Annotated[User, Depends(current_user)]


def readable_company(session: Session, user: User, company_id: int) -> Company:
    """The company if ``user`` may read its documents; 404 otherwise (existence stays hidden)."""
    if not can_read_documents(user):
        raise NOT_FOUND
    company = session.scalar(visible_companies(user).where(Company.id == company_id))
    if company is None:
        raise NOT_FOUND
    return company


def readable_document(session: Session, user: User, document_id: str) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NOT_FOUND
    readable_company(session, user, document.company_id)
    return document


def create_api() -> FastAPI:
    api = FastAPI(
        title="Papeleo",
        version="0.1.0",
        description="Document pipeline for Spanish accounting advisories.",
    )
    api.add_middleware(BodySizeLimit, max_bytes_for=_max_body)

    @api.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", tags=["health"])
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

    @api.post("/v1/auth/token", tags=["auth"])
    def token(body: TokenRequest, session: SessionDep, rt: RuntimeDep) -> TokenResponse:
        """Log in with the advisory's code, user name and password; returns a bearer token."""
        user = authenticate(session, body.advisory_code, body.username, body.password)
        if user is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "Wrong advisory code, user or password"
            )
        value, expires_at = issue_token(session, user, timedelta(hours=rt.settings.token_ttl_hours))
        session.commit()
        return TokenResponse(access_token=value, expires_at=expires_at)

    @api.get("/v1/companies", tags=["companies"])
    def companies(user: UserDep, session: SessionDep) -> list[CompanyOut]:
        """The companies this account may work with."""
        rows = session.scalars(visible_companies(user).order_by(Company.name)).all()
        return [CompanyOut.model_validate(company) for company in rows]

    @api.post(
        "/v1/companies/{company_id}/documents",
        status_code=status.HTTP_202_ACCEPTED,
        tags=["documents"],
    )
    def upload(
        company_id: int,
        user: UserDep,
        session: SessionDep,
        rt: RuntimeDep,
        files: Annotated[list[UploadFile], File(description="one or several files")],
        activity_id: Annotated[int | None, Form()] = None,
        fiscal_year: Annotated[int | None, Form(ge=1990, le=2999)] = None,
        category: Annotated[str | None, Form(description="the folder chosen")] = None,
        name: Annotated[str | None, Form(max_length=200, description="rename on send")] = None,
        source: Annotated[Source, Form()] = Source.API,
    ) -> UploadResponse:
        """Upload documents; each is stored, then processed in the background."""
        company = readable_company(session, user, company_id)
        if category is not None and category not in CATEGORIES:
            raise HTTPException(422, f"Unknown category; use one of: {', '.join(CATEGORIES)}")
        if (
            activity_id is not None
            and session.scalar(
                select(Activity.id).where(
                    Activity.id == activity_id, Activity.company_id == company.id
                )
            )
            is None
        ):
            raise HTTPException(422, "Unknown activity for this company")
        year = fiscal_year or datetime.now(UTC).year
        documents: list[Document] = []
        for index, upload_file in enumerate(files):
            original_name = upload_file.filename or "documento"
            stored = store_upload(
                rt.store,
                upload_file.file,
                company_id=company.id,
                fiscal_year=year,
                file_name=original_name,
                content_type=upload_file.content_type,
                length=upload_file.size if upload_file.size is not None else -1,
            )
            document = Document(
                id=stored.document_id,
                company_id=company.id,
                activity_id=activity_id,
                fiscal_year=year,
                uploaded_by=user.id,
                source=source,
                category=category,
                original_name=original_name[:255],
                display_name=display_name_for(original_name, name, index, len(files)),
                sha256=stored.sha256,
                size=stored.size,
                content_type=upload_file.content_type,
                original_key=stored.key,
                status=DocumentStatus.QUEUED,
            )
            session.add(document)
            session.flush()
            mark_queued(session, document, Step.NORMALIZE)
            documents.append(document)
        session.commit()
        for document in documents:
            try:
                start_processing(document.id)
            except Exception:  # the broker is down: the row is committed, the sweeper re-publishes
                log.exception("could not publish document %s", document.id)
        return UploadResponse(
            documents=[
                UploadedDocument(id=d.id, status=d.status, display_name=d.display_name)
                for d in documents
            ]
        )

    @api.get("/v1/companies/{company_id}/documents", tags=["documents"])
    def list_documents(
        company_id: int,
        user: UserDep,
        session: SessionDep,
        q: Annotated[str | None, Query(max_length=200, description="words to find")] = None,
        fiscal_year: int | None = None,
        activity_id: int | None = None,
        category: str | None = None,
        status_: Annotated[str | None, Query(alias="status")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> DocumentPage:
        """The company's document history, newest first; ``q`` searches the full text."""
        company = readable_company(session, user, company_id)
        query = select(Document).where(Document.company_id == company.id)
        if q and q.strip():
            query = query.where(matches(session, q.strip()))
        if fiscal_year is not None:
            query = query.where(Document.fiscal_year == fiscal_year)
        if activity_id is not None:
            query = query.where(Document.activity_id == activity_id)
        if category is not None:
            query = query.where(
                or_(
                    Document.category == category,
                    Document.category.is_(None) & (Document.predicted_category == category),
                )
            )
        if status_ is not None:
            query = query.where(Document.status == status_)
        if cursor:
            created_at, document_id = _decode_cursor(cursor)
            query = query.where(
                tuple_(Document.created_at, Document.id) < (created_at, document_id)
            )
        rows = session.scalars(
            query.order_by(Document.created_at.desc(), Document.id.desc()).limit(limit + 1)
        ).all()
        page = rows[:limit]
        next_cursor = _encode_cursor(page[-1]) if len(rows) > limit else None
        return DocumentPage(items=[DocumentSummary.of(d) for d in page], next_cursor=next_cursor)

    @api.get("/v1/documents/{document_id}", tags=["documents"])
    def get_document(document_id: str, user: UserDep, session: SessionDep) -> DocumentOut:
        """A document: status, error, categories, fields, text and history."""
        return DocumentOut.of(readable_document(session, user, document_id))

    @api.get("/v1/documents/{document_id}/download", tags=["documents"])
    def download(
        document_id: str,
        user: UserDep,
        session: SessionDep,
        rt: RuntimeDep,
        variant: Annotated[str, Query(pattern="^(original|normalized)$")] = "original",
    ) -> RedirectResponse:
        """Redirect to a short-lived link to the original or the normalized PDF."""
        document = readable_document(session, user, document_id)
        key = document.original_key if variant == "original" else document.normalized_key
        if not key:
            raise NOT_FOUND
        name = document.display_name if variant == "original" else _pdf_name(document.display_name)
        url = rt.store.download_url(
            key, expires=timedelta(seconds=rt.settings.download_url_ttl_seconds), file_name=name
        )
        return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)

    @api.get("/v1/blobs/{key:path}", tags=["documents"], include_in_schema=False)
    def blob(
        key: str, expires: int, signature: str, rt: RuntimeDep, name: str | None = None
    ) -> StreamingResponse:
        """Serves the embedded store's signed download links."""
        store = rt.store
        if not isinstance(store, FilesystemStore) or not store.verify_download(
            key, expires, signature, name
        ):
            raise NOT_FOUND
        try:
            info = store.stat(key)
        except ObjectNotFound:
            raise NOT_FOUND from None
        return StreamingResponse(
            _stream(store, key),
            media_type=info.content_type,
            headers={"Content-Length": str(info.size)}
            | ({"Content-Disposition": content_disposition(name)} if name else {}),
        )

    @api.get("/v1/notifications", tags=["notifications"])
    def notifications(
        user: UserDep,
        session: SessionDep,
        unread: bool = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> list[NotificationOut]:
        """The caller's notifications, newest first."""
        query = select(Notification).where(Notification.user_id == user.id)
        if unread:
            query = query.where(Notification.read_at.is_(None))
        rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit)).all()
        return [NotificationOut.model_validate(n) for n in rows]

    @api.post("/v1/notifications/{notification_id}/read", tags=["notifications"])
    def mark_read(notification_id: int, user: UserDep, session: SessionDep) -> NotificationOut:
        notification = session.get(Notification, notification_id)
        if notification is None or notification.user_id != user.id:
            raise NOT_FOUND
        notification.read_at = notification.read_at or utcnow()
        session.commit()
        return NotificationOut.model_validate(notification)

    return api


def _max_body(request_path: str) -> int | None:
    if request_path.endswith("/documents"):
        return get_runtime().settings.max_upload_bytes + 64 * 1024  # multipart framing
    return 1024 * 1024


def _check_database(rt: Runtime) -> None:
    with rt.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _check_store(rt: Runtime) -> None:
    rt.store.ensure_ready()


def _check_broker(rt: Runtime) -> None:
    from workers.app import app as celery_app

    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)


def _stream(store: FilesystemStore, key: str) -> Iterator[bytes]:
    with store.open(key) as stream:
        while chunk := stream.read(256 * 1024):
            yield chunk


def _pdf_name(name: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem}.pdf"


def _encode_cursor(document: Document) -> str:
    raw = f"{document.created_at.isoformat()}|{document.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, document_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), document_id
    except ValueError:
        raise HTTPException(422, "Invalid cursor") from None
