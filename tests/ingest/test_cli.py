"""`papeleo process FILE`: the whole chain in one process, no server (README, first command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.documents import invoice_pdf_bytes, make_invoice
from tests.e2e.conftest import ROOT, base_env


def test_process_runs_every_step_of_the_chain_on_one_file(tmp_path: Path) -> None:
    invoice = make_invoice(7)
    path = tmp_path / "factura.pdf"
    path.write_bytes(invoice_pdf_bytes(invoice))
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "process", str(path), "--json"],
        env=base_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    document = json.loads(result.stdout)
    assert document["status"] == "indexed", result.stderr[-2000:]
    assert document["predicted_category"] == "factura_recibida"
    assert document["display_name"] == "factura.pdf"
    assert invoice.number in document["text"]
