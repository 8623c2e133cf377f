"""Damaged copies of realistic documents through the whole chain (in-process, eager): each
ends indexed, or failed with a code a person can act on, never as an internal error.

The damage is seeded, so a failure here reproduces. Runs like this one over the shared
samples found a Factur-X attachment without /EF and a poster-sized page in the QR search
(both internal errors), and scans whose JPEG tesseract could not decode (ocr_failed).
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from pipeline.errors import ErrorCode
from storage.models import Document
from tests.documents import (
    DAMAGE_KINDS,
    damaged_copy,
    invoice_pdf_bytes,
    invoice_scan_image,
    make_invoice,
    make_ticket,
    scanned_pdf_bytes,
    ticket_photo_bytes,
)
from tests.workers.in_process import worker_runtime
from tests.workers.test_documents import new_document
from workers import documents as tasks
from workers.runtime import get_runtime
from workers.settings import Settings


@pytest.fixture
def runtime(tmp_path: Path, sqlite_database: str) -> Iterator[None]:
    # The chain's handling of a bad file does not depend on the database: SQLite only.
    settings = Settings(data_dir=tmp_path, database_url=sqlite_database, broker_url="memory://")
    with worker_runtime(settings):
        yield


def originals() -> dict[str, bytes]:
    photo = ticket_photo_bytes(make_ticket(71))
    webp = io.BytesIO()
    Image.open(io.BytesIO(photo)).save(webp, "WEBP", quality=60)
    return {
        "factura.pdf": invoice_pdf_bytes(make_invoice(72)),
        "escaneo.pdf": scanned_pdf_bytes(invoice_scan_image(make_invoice(73), dpi=120), dpi=120),
        "ticket.jpg": photo,
        "ticket.webp": webp.getvalue(),
    }


ACTIONABLE = {code.value for code in ErrorCode} - {ErrorCode.internal_error.value}


@pytest.mark.parametrize("kind", DAMAGE_KINDS)
def test_damaged_documents_end_indexed_or_failed_with_a_reason(runtime, kind: str) -> None:
    rng = random.Random(f"damage {kind}")
    files = originals()
    donors = list(files.values())
    outcomes = []
    for name, data in files.items():
        for copy in range(2):
            damaged = damaged_copy(data, kind, rng, donor=rng.choice(donors))
            document_id = new_document(damaged, f"{copy}-{name}")
            tasks.start_processing(document_id)
            with get_runtime().sessions() as session:
                document = session.get_one(Document, document_id)
                outcome = (name, copy, document.status, document.error_code)
            outcomes.append(outcome)
            assert document.status in ("indexed", "failed"), outcome
            if document.status == "failed":
                assert document.error_code in ACTIONABLE, outcome
            assert get_runtime().store.exists(document.original_key), outcome
    print(f"{kind}: {outcomes}")
