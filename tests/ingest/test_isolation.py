"""Every route of the app, called with another tenant's ids and with no token: 404 / 401.

The routes come from ``create_api()`` itself, so a route added by anyone is covered the day
it is added. Path parameters are filled with ids that belong to tenant A (company "Ana SL"
of advisory 6); the callers are outsiders: a client of another company of the same advisory,
an advisor of another advisory and that advisory's client. Request bodies are generated from
the route's OpenAPI schema, so validation never answers before the tenant check does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute

from ingest.deps import current_user
from storage.audit import AuditAction, audit
from storage.db import transaction
from storage.models import Document, Notification
from storage.tasks import TaskStatus, record_finished, record_published
from tests.ingest.portal import Portal, portal_fixture  # noqa: F401 - the fixture
from workers.runtime import get_runtime

# Routes anyone may call, each with the reason. Nothing else may answer without a token.
PUBLIC: dict[str, str] = {
    "/healthz": "liveness: answers 'ok', no data",
    "/readyz": "readiness: which services are up, no tenant data",
    "/metrics": "Prometheus counters: no tenant data (keep it on the internal network)",
    "/v1/auth/token": "the login itself",
    "/v1/blobs/{key:path}": "authenticated by its own HMAC-signed, expiring link",
    "/v1/uploads/{upload_id}/blob": "the embedded store's upload target: its own signed policy",
    "/openapi.json": "the public API description",
    "/docs": "the public API description",
    "/docs/oauth2-redirect": "the public API description",
    "/redoc": "the public API description",
}
# Routes authenticated by their own token instead of a user's: 401 to everyone else.
OWN_TOKEN: dict[str, str] = {
    "/v1/minio/events": "MinIO's webhook target, bearer PAPELEO_MINIO_WEBHOOK_TOKEN",
}
# Routes that check the user's token themselves (`deps.reader_of_company`), not via `current_user`.
CHECKS_USER_TOKEN_ITSELF: dict[str, str] = {
    "/v1/companies/{company_id}/documents": "uploads: one thread-pool hop for all of it",
}
OUTSIDERS = ("luis", "otra", "bea")  # same advisory other company; other advisory; its client


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    route: APIRoute


def operations(app: Any) -> Iterator[Operation]:
    """Every (method, path) the app answers, through included routers of any depth."""

    def walk(routes: list[Any]) -> Iterator[tuple[str, Any]]:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):  # FastAPI >= 0.16x included routers
                for context in route.effective_route_contexts():
                    yield context.path, context.original_route
            elif hasattr(route, "routes") and not hasattr(route, "methods"):
                yield from walk(route.routes)
            else:
                yield route.path, route

    for path, route in walk(app.routes):
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method != "HEAD":
                yield Operation(method, path, route)


def uses_user_token(route: Any) -> bool:
    def calls(dependant: Any) -> bool:
        return any(d.call is current_user or calls(d) for d in dependant.dependencies)

    return isinstance(route, APIRoute) and calls(route.dependant)


@dataclass
class TenantA:
    company_id: int
    document_id: str
    deleted_document_id: str
    notification_id: int
    task_id: str
    user_id: int
    markers: tuple[str, ...]  # strings only tenant A's data contains


def seed_tenant_a(p: Portal) -> TenantA:
    document_id = p.add_document("ana", "secreto-ana.pdf", "Factura confidencial de Ana SL")
    deleted_id = p.add_document("ana", "borrado-ana.pdf", "Documento borrado de Ana")
    task_id = uuid.uuid4().hex
    with transaction(get_runtime().sessions) as session:
        session.get_one(Document, deleted_id).deleted_at = session.get_one(
            Document, document_id
        ).created_at
        record_published(
            session, task_id, "papeleo.documents.normalize", queue="normalize",
            document_id=document_id,
        )
        record_finished(
            session, task_id, "papeleo.documents.normalize", TaskStatus.FAILED,
            error_type="corrupt_file", error_message="secreto",
        )
        session.get_one(Document, document_id).status = "failed"
        audit(session, document_id, p.users["ana"], AuditAction.RENAME, {}, {})
        notification = Notification(
            user_id=p.users["ana"], company_id=p.companies["ana"], document_id=document_id,
            run=1, kind="document_processed", title="Aviso-de-Ana", body="secreto",
        )
        session.add(notification)
        session.flush()
        notification_id = notification.id
    return TenantA(
        p.companies["ana"], document_id, deleted_id, notification_id, task_id, p.users["ana"],
        markers=(document_id, deleted_id, task_id, "Ana SL", "secreto-ana", "Aviso-de-Ana"),
    )


def path_value(name: str, a: TenantA) -> Any:
    """An id of tenant A for a path or query parameter; None when the name is unknown."""
    known = {
        "company_id": a.company_id,
        "company": a.company_id,
        "document_id": a.document_id,
        "document": a.document_id,
        "notification_id": a.notification_id,
        "task_id": a.task_id,
        "user_id": a.user_id,
    }
    return known.get(name)


def fill_path(op: Operation, a: TenantA) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        known = path_value(name, a)
        if known is not None:
            return str(known)
        # Not (yet) seeded here: in a fresh database id 1 of a table is the first row created,
        # and tenant A's rows are created first; strings get an id nobody has.
        param = next(p for p in op.route.dependant.path_params if p.name == name)
        return "1" if param.field_info.annotation is int else uuid.uuid4().hex

    return re.sub(r"\{([^}]+)\}", value, op.path)


def example(schema: dict[str, Any], spec: dict[str, Any], a: TenantA, name: str = "") -> Any:
    """A value valid for ``schema``; tenant ids where a field names one."""
    if "$ref" in schema:
        target: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return example(target, spec, a, name)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return example(options[0], spec, a, name)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if (known := path_value(name, a)) is not None:
        return known
    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {
            key: example(value, spec, a, key)
            for key, value in properties.items()
            if key in schema.get("required", []) or "default" not in value
        }
    if kind == "array":
        return [example(schema.get("items", {}), spec, a, name)]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2026-01-15"
    if schema.get("format") == "date-time":
        return "2026-01-15T10:00:00+00:00"
    if schema.get("format") in ("binary", "byte") or schema.get("contentMediaType"):
        return b"%PDF-1.4 isolation"
    if name in ("category",):
        return "otros"
    return "https://example.com/x" if "url" in name else "2026-01"


def request_for(op: Operation, spec: dict[str, Any], a: TenantA) -> dict[str, Any]:
    """httpx arguments: query parameters naming tenants, and a valid body."""
    kwargs: dict[str, Any] = {}
    operation = spec["paths"].get(op.path, {}).get(op.method.lower(), {})
    query = {
        p["name"]: path_value(p["name"], a)
        for p in operation.get("parameters", [])
        if p["in"] == "query" and path_value(p["name"], a) is not None
    }
    if query or "{" in op.path:  # required query parameters, so validation passes
        query |= {
            p["name"]: example(p.get("schema", {}), spec, a, p["name"])
            for p in operation.get("parameters", [])
            if p["in"] == "query" and p.get("required") and p["name"] not in query
        }
    if query:
        kwargs["params"] = query
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        kwargs["json"] = example(content["application/json"]["schema"], spec, a)
    elif "multipart/form-data" in content or "application/x-www-form-urlencoded" in content:
        schema = next(iter(content.values()))["schema"]
        body = example(schema, spec, a)
        pdf = "application/pdf"
        files = {k: ("a.pdf", v, pdf) for k, v in body.items() if isinstance(v, bytes)}
        files |= {
            k: ("a.pdf", v[0], "application/pdf")
            for k, v in body.items()
            if isinstance(v, list) and v and isinstance(v[0], bytes)
        }
        data = {k: str(v) for k, v in body.items() if k not in files and not isinstance(v, list)}
        kwargs["data"] = data
        if files:
            kwargs["files"] = files
    return kwargs


def names_a_tenant(op: Operation, kwargs: dict[str, Any]) -> bool:
    return "{" in op.path or bool(kwargs.get("params"))


def test_every_route_hides_other_tenants_and_needs_a_token(portal: Portal):
    p = portal
    a = seed_tenant_a(p)
    spec = p.client.get("/openapi.json").json()
    ops = list(operations(p.client.app))
    assert len(ops) > 20  # the enumeration itself works
    problems: list[str] = []
    for op in ops:
        if op.path in PUBLIC:
            continue
        url = fill_path(op, a)
        kwargs = request_for(op, spec, a)
        anonymous = p.client.request(op.method, url, **kwargs)
        if anonymous.status_code != 401:
            problems.append(f"{op.method} {op.path} without a token: {anonymous.status_code}")
        own_auth = not uses_user_token(op.route) and not (
            op.method == "POST" and op.path in CHECKS_USER_TOKEN_ITSELF
        )
        if own_auth and op.path not in OWN_TOKEN:
            problems.append(f"{op.method} {op.path} does not use the user's token: add a reason")
        for outsider in OUTSIDERS:
            headers = {"Authorization": f"Bearer {p.fresh_token(outsider)}"}
            response = p.client.request(op.method, url, headers=headers, **kwargs)
            code = response.status_code
            allowed = {401, 404} if own_auth else {404}
            if names_a_tenant(op, kwargs) or own_auth:
                if code not in allowed:
                    problems.append(
                        f"{op.method} {url} by {outsider}: {code} {response.text[:200]}"
                    )
            elif code >= 500 or any(m in response.text for m in a.markers):
                problems.append(f"{op.method} {url} by {outsider} leaks or fails: {code}")
    assert not problems, "\n".join(problems)

    # Nothing the outsiders did changed tenant A.
    with get_runtime().sessions() as session:
        document = session.get_one(Document, a.document_id)
        assert document.display_name == "secreto-ana.pdf"
        assert document.deleted_at is None
        assert document.run == 1
        assert session.get_one(Document, a.deleted_document_id).deleted_at is not None
        assert session.get_one(Notification, a.notification_id).read_at is None
    assert p.get("ana", "/v1/companies").status_code == 200  # ana's token was not revoked
