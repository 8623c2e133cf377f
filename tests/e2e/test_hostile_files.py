"""Hostile files against a real API and a real worker process (embedded shape): each ends
failed with its code, an encrypted PDF succeeds on retry with its password, and the worker
keeps serving afterwards.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.documents import make_ticket, ticket_photo_bytes
from tests.e2e.conftest import Stack
from tests.e2e.test_document_chain import Portal

HOSTILE = {
    "pillow_decompression_bomb.gif": "image_too_large",
    "pillow_decompression_bomb_extents.gif": "image_too_large",
    "ocrmypdf_hugemono.pdf": "image_too_large",
    "pillow_truncated_jpeg.jpg": "corrupt_file",
    "ocrmypdf_invalid.pdf": "corrupt_file",
    "derived_zero_bytes.pdf": "empty_file",
    "pillow_decompression_bomb_ico.ico": "unsupported_type",
}
ENCRYPTED = "pypdf_r4-aes-user-password.pdf"


def wait_run(portal: Portal, document_id: str, run: int, timeout: float = 240) -> dict:
    """The document once run ``run`` is notified (ended indexed or failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = portal.http.get(f"/v1/documents/{document_id}").json()
        done = [
            h for h in document["history"]
            if h["run"] == run and h["step"] == "notify" and h["status"] in ("succeeded", "failed")
        ]
        if document["status"] in ("indexed", "failed") and done:
            return document
        time.sleep(0.25)
    raise AssertionError(f"document {document_id} stuck in run {run}: {document}")


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_hostile_files_fail_cleanly_and_a_password_retry_succeeds(
    stack: Stack, samples_dir: Path
) -> None:
    stack.papeleo(
        "create-user", "--advisory-code", "6", "--advisory-name", "Asesoría Seis",
        "--username", "ana", "--password", "pw-ana-123", "--role", "client",
        "--company-nif", "B86561412", "--company-name", "Ana Comercial SL",
    )
    ana = Portal(stack, "6", "ana", "pw-ana-123")
    company = ana.company()
    folder = samples_dir / "broken_pdfs"

    ids = {
        name: ana.upload(company, name, (folder / name).read_bytes(), "application/pdf")
        for name in [*HOSTILE, ENCRYPTED]
    }
    for name, code in [*HOSTILE.items(), (ENCRYPTED, "needs_password")]:
        document = wait_run(ana, ids[name], 1)
        assert (document["status"], document["error"]["code"]) == ("failed", code), name

    encrypted = ids[ENCRYPTED]
    password = json.loads((folder / ENCRYPTED).with_suffix(".json").read_text())["password"]
    wrong = ana.http.post(f"/v1/documents/{encrypted}/retry", json={"password": "nope"})
    assert wrong.status_code == 422, wrong.text
    right = ana.http.post(f"/v1/documents/{encrypted}/retry", json={"password": password})
    assert right.status_code == 202, right.text
    document = wait_run(ana, encrypted, 2)
    assert document["status"] == "indexed", document
    assert document["error"] is None
    assert document["pages"] >= 1
    again = ana.http.post(f"/v1/documents/{encrypted}/retry")
    assert again.status_code == 409  # only failed documents are retried

    # Any failed document can be retried without a password: it fails the same way again.
    bomb = ids["pillow_decompression_bomb.gif"]
    assert ana.http.post(f"/v1/documents/{bomb}/retry").status_code == 202
    assert wait_run(ana, bomb, 2)["error"]["code"] == "image_too_large"

    # The worker that met every hostile file still serves.
    ticket = make_ticket(4)
    photo = ana.upload(company, "IMG_1.jpg", ticket_photo_bytes(ticket), "image/jpeg")
    document = wait_run(ana, photo, 1)
    assert document["status"] == "indexed", document
    assert ticket.words[0].casefold() in document["text"].casefold()
    assert password not in stack.log_tail(2000)
