"""Direct uploads: a presigned POST straight to object storage, registered by its event.

`POST /v1/companies/{id}/uploads` keeps the upload's fields server-side under an upload id
(which becomes the document id) and answers a browser-form upload: with MinIO an S3 POST
policy (key fixed under the company's prefix, exact content type, size range, short expiry);
with the embedded filesystem store an equivalent signed form posted to this API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from ingest.deps import NOT_FOUND, RuntimeDep, SessionDep, UserDep, readable_company
from ingest.uploads import clean_name, display_name_for
from storage.keys import ObjectRole, object_key
from storage.models import Activity, Source, new_id, utcnow
from storage.objects import FilesystemStore, MinioStore
from storage.uploads import PendingUpload, UploadState
from workers.documents import CATEGORIES
from workers.runtime import Runtime
from workers.uploads import ObjectCreated, register_object

router = APIRouter()

FILE_FIELD: Final = "file"
_SIGNATURE_CONTEXT: Final = "papeleo-direct-upload-v1"


class UploadRequest(BaseModel):
    file_name: str = Field(min_length=1, max_length=255, examples=["factura-0042.pdf"])
    content_type: str = Field(max_length=100, examples=["application/pdf"])
    size: int | None = Field(default=None, ge=1, description="declared size, checked early")
    category: str | None = Field(default=None, description="the folder chosen")
    activity_id: int | None = None
    fiscal_year: int | None = Field(default=None, ge=1990, le=2999)
    name: str | None = Field(default=None, max_length=200, description="rename on send")
    source: Source = Source.API


class UploadTicket(BaseModel):
    """Post `fields` then the file (form field `file`, last) as multipart/form-data to `url`."""

    upload_id: str = Field(description="also the id of the document it becomes")
    method: str = "POST"
    url: str
    fields: dict[str, str]
    file_field: str = FILE_FIELD
    key: str
    content_type: str
    max_bytes: int
    expires_at: datetime


@router.post(
    "/v1/companies/{company_id}/uploads",
    status_code=status.HTTP_201_CREATED,
    tags=["uploads"],
)
def create_upload(
    company_id: int, body: UploadRequest, user: UserDep, session: SessionDep, rt: RuntimeDep
) -> UploadTicket:
    """A presigned upload straight to storage; the document appears once the object lands."""
    company = readable_company(session, user, company_id)
    settings = rt.settings
    if body.category is not None and body.category not in CATEGORIES:
        raise HTTPException(422, f"Unknown category; use one of: {', '.join(CATEGORIES)}")
    if body.activity_id is not None and (
        session.scalar(
            select(Activity.id).where(
                Activity.id == body.activity_id, Activity.company_id == company.id
            )
        )
        is None
    ):
        raise HTTPException(422, "Unknown activity for this company")
    content_type = body.content_type.split(";")[0].strip().lower()
    if content_type not in settings.upload_allowed_content_types:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Unsupported type; use one of: {', '.join(settings.upload_allowed_content_types)}",
        )
    if body.size is not None and body.size > settings.max_upload_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"Larger than {settings.max_upload_bytes} bytes"
        )
    upload_id = new_id()
    year = body.fiscal_year or datetime.now(UTC).year
    key = object_key(company.id, year, upload_id, ObjectRole.ORIGINAL, body.file_name)
    ttl = timedelta(seconds=settings.upload_url_ttl_seconds)
    expires_at = utcnow() + ttl
    session.add(
        PendingUpload(
            id=upload_id,
            company_id=company.id,
            key=key,
            activity_id=body.activity_id,
            fiscal_year=year,
            category=body.category,
            original_name=clean_name(body.file_name) or "documento",
            display_name=display_name_for(body.file_name, body.name, 0, 1),
            content_type=content_type,
            max_bytes=settings.max_upload_bytes,
            source=body.source,
            uploaded_by=user.id,
            state=UploadState.PENDING,
            expires_at=expires_at,
        )
    )
    session.commit()
    url, fields = _upload_form(rt, upload_id, key, content_type, ttl, expires_at)
    return UploadTicket(
        upload_id=upload_id,
        url=url,
        fields=fields,
        key=key,
        content_type=content_type,
        max_bytes=settings.max_upload_bytes,
        expires_at=expires_at,
    )


def _upload_form(
    rt: Runtime,
    upload_id: str,
    key: str,
    content_type: str,
    ttl: timedelta,
    expires_at: datetime,
) -> tuple[str, dict[str, str]]:
    store = rt.store
    if isinstance(store, MinioStore):
        return store.upload_form(
            key, expires=ttl, content_type=content_type, max_bytes=rt.settings.max_upload_bytes
        )
    expires = int(expires_at.timestamp())
    signature = _signature(rt.settings.secret_key, upload_id, key, expires)
    url = f"{rt.settings.public_url.rstrip('/')}/v1/uploads/{upload_id}/blob"
    return url, {"expires": str(expires), "signature": signature}


def _signature(secret: str, upload_id: str, key: str, expires: int) -> str:
    # JSON keeps the fields unambiguous whatever characters they contain.
    message = json.dumps([_SIGNATURE_CONTEXT, upload_id, key, expires])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@router.post(
    "/v1/uploads/{upload_id}/blob",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["uploads"],
    include_in_schema=False,
)
def receive_blob(
    upload_id: str,
    rt: RuntimeDep,
    session: SessionDep,
    expires: Annotated[int, Form()],
    signature: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
) -> Response:
    """The embedded store's stand-in for an S3 POST upload, registered like a bucket event."""
    store = rt.store
    upload = session.get(PendingUpload, upload_id)
    if not isinstance(store, FilesystemStore) or upload is None:
        raise NOT_FOUND
    expected = _signature(rt.settings.secret_key, upload.id, upload.key, expires)
    if not hmac.compare_digest(expected, signature) or expires < time.time():
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Invalid or expired upload signature")
    declared = (file.content_type or "").split(";")[0].strip().lower()
    if declared != upload.content_type:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Content type differs from the policy's")
    if file.size is not None and not 1 <= file.size <= upload.max_bytes:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Size outside the allowed range")
    key = upload.key
    session.close()  # no connection held while the file streams into the store
    info = store.put(key, file.file, length=file.size or -1, content_type=declared)
    if not 1 <= info.size <= upload.max_bytes:
        store.delete(key)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Size outside the allowed range")
    register_object(
        rt,
        ObjectCreated(
            bucket=rt.settings.s3_bucket,
            key=key,
            revision=info.etag,
            event_name="s3:ObjectCreated:Post",
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
