"""A portal's view of the API on SQLite or PostgreSQL: two advisories, their clients, tokens.

advisory 6: companies "Ana SL" (client ana, employee empleado) and "Luis SL" (client luis),
advisor asesora. advisory 9: company "Bea SL" (client bea), advisor otra.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.accounts import ensure_account
from ingest.api import create_api
from ingest.auth import issue_token
from storage.models import Company, Document, DocumentStatus, Role, User, utcnow
from storage.search import index_document
from workers.app import app as celery_app
from workers.app import celery_config
from workers.runtime import get_runtime, reset_runtime
from workers.settings import Settings, install_settings

PASSWORDS = {
    "ana": ("6", "pw-ana-123"),
    "luis": ("6", "pw-luis-123"),
    "asesora": ("6", "pw-ase-123"),
    "empleado": ("6", "pw-emp-123"),
    "otra": ("9", "pw-otra-123"),
    "bea": ("9", "pw-bea-123"),
}


@dataclass
class Portal:
    client: TestClient
    settings: Settings
    companies: dict[str, int]  # "ana", "luis", "bea" -> company id
    users: dict[str, int]
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, path: str, **kwargs: Any):
        return self.client.get(path, headers=self.headers(user), **kwargs)

    def post(self, user: str, path: str, **kwargs: Any):
        return self.client.post(path, headers=self.headers(user), **kwargs)

    def delete(self, user: str, path: str, **kwargs: Any):
        return self.client.delete(path, headers=self.headers(user), **kwargs)

    def fresh_token(self, user: str) -> str:
        with get_runtime().sessions.begin() as session:
            owner = session.get_one(User, self.users[user])
            token, _ = issue_token(session, owner, timedelta(hours=1))
        return token

    def add_document(
        self,
        company: str,
        name: str,
        text: str = "",
        *,
        fields: dict[str, Any] | None = None,
        category: str | None = None,
        predicted: str | None = None,
        status: str = DocumentStatus.INDEXED,
        uploaded_by: str | None = None,
        created_at: datetime | None = None,
        fiscal_year: int = 2026,
        folder: str | None = None,
    ) -> str:
        """A document as the chain leaves it (indexed with its text and fields), no worker."""
        with get_runtime().sessions.begin() as session:
            document = Document(
                company_id=self.companies[company],
                fiscal_year=fiscal_year,
                uploaded_by=self.users[uploaded_by or company],
                category=category,
                predicted_category=predicted,
                original_name=name,
                display_name=name,
                sha256=hashlib.sha256(f"{name}{text}".encode()).hexdigest(),
                size=len(text),
                original_key=f"k/{name}",
                status=status,
                text=text,
                fields=fields or {},
                folder=folder,
                created_at=created_at or utcnow(),
            )
            session.add(document)
            session.flush()
            index_document(session, document)
            return document.id


def field_of(value: Any) -> dict[str, Any]:
    return {"value": value, "confidence": 0.9, "source": "text"}


@pytest.fixture(name="portal")
def portal_fixture(database_url: str, tmp_path: Path) -> Iterator[Portal]:
    """The API in-process on SQLite and on PostgreSQL; memory broker nobody consumes."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        broker_url="memory://",
        storage="filesystem",
        max_upload_bytes=2 * 1024 * 1024,
    )
    install_settings(settings)
    reset_runtime()
    celery_app.conf.update(celery_config(settings))
    companies: dict[str, int] = {}
    users: dict[str, int] = {}
    with get_runtime().sessions.begin() as session:
        for name, nif, role, code in (
            ("ana", "B12345674", Role.CLIENT, "6"),
            ("luis", "B86561412", Role.CLIENT, "6"),
            ("asesora", None, Role.ADVISOR, "6"),
            ("empleado", "B12345674", Role.EMPLOYEE, "6"),
            ("otra", None, Role.ADVISOR, "9"),
            ("bea", "B12345674", Role.CLIENT, "9"),  # same NIF, another advisory's client
        ):
            user = ensure_account(
                session,
                advisory_code=code,
                username=name,
                password=PASSWORDS[name][1],
                role=role,
                full_name=name.capitalize(),
                company_nifs=[nif] if nif else [],
                company_name=f"{name.capitalize()} SL",
            )
            users[name] = user.id
            if role == Role.CLIENT:
                companies[name] = session.query(Company).filter_by(
                    advisory_id=user.advisory_id, nif=nif
                ).one().id
    portal = Portal(TestClient(create_api()), settings, companies, users)
    portal.tokens = {name: portal.fresh_token(name) for name in PASSWORDS}
    try:
        with portal.client:
            yield portal
    finally:
        install_settings(None)
        reset_runtime()
