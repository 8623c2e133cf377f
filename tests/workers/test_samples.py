"""Every sample e-invoice (Factur-X/ZUGFeRD PDFs, Facturae XML) through the real tasks and a
real database ends ``indexed`` with its total: text from the wild must reach the tables.
"""

from __future__ import annotations

from pathlib import Path

from storage.models import Document
from tests.workers.test_documents import new_document, runtime  # noqa: F401 - fixture
from workers import documents as tasks
from workers.runtime import get_runtime


def test_every_sample_invoice_is_indexed_with_its_total(runtime, samples_dir: Path):  # noqa: F811
    samples = sorted(
        path
        for folder in ("invoices", "facturae")
        for path in (samples_dir / folder).iterdir()
        if path.suffix in (".pdf", ".xml")
    )
    assert len(samples) > 20
    outcomes = {}
    for path in samples:
        document_id = new_document(path.read_bytes(), path.name)
        tasks.start_processing(document_id)
        with get_runtime().sessions() as session:
            document = session.get_one(Document, document_id)
            outcomes[path.name] = (document.status, document.error_code)
            if document.status == "indexed":
                assert document.fields.get("total", {}).get("value"), path.name
    assert {name: o for name, o in outcomes.items() if o != ("indexed", None)} == {}
