"""Text from the wild becomes storable Unicode (PostgreSQL and SQLite refuse some code points)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.normalize import normalize_upload
from pipeline.storable import storable


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Teléfono \ud83d\udcde 91 555 00 00", "Teléfono 📞 91 555 00 00"),  # a split pair joined
        ("+33\ud83d  4 50 44 68 99 \ud83c\n", "+33  4 50 44 68 99 \n"),  # lone halves dropped
        ("\udcdeFactura\x00 nº 7", "Factura nº 7"),
        ("Panadería Ñandú, 12,50 €", "Panadería Ñandú, 12,50 €"),  # valid text is untouched
        ("", ""),
    ],
)
def test_storable_text(raw: str, clean: str) -> None:
    assert storable(raw) == clean
    storable(raw).encode("utf-8")  # what a database driver does


def test_every_sample_pdf_gives_text_a_database_accepts(samples_dir: Path, tmp_path: Path):
    pdfs = sorted((samples_dir / "invoices").glob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        text = normalize_upload(pdf, tmp_path / "out.pdf", fix_rotation=False).text
        assert text.strip(), pdf.name
        text.encode("utf-8")  # raises on a lone surrogate
        assert "\x00" not in text
