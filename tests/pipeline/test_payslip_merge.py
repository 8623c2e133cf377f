"""Merging: one page and one bookmark per employee, in order, fonts stored once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pypdf import PdfReader

from pipeline.payslip_merge import merge_payslips
from pipeline.payslip_pdf import render_payslip
from tests.pipeline.test_payslip_pdf import FIGURES, HEADER


def test_merge_has_a_page_and_a_bookmark_per_payslip_in_order(tmp_path: Path):
    names = ["Álvarez Ruiz, Eva", "Benítez Sol, Juan", "Zamora Gil, Pau"]
    items = []
    for i, name in enumerate(names):
        path = tmp_path / f"{i}.pdf"
        path.write_bytes(render_payslip(replace(HEADER, employee_name=name), FIGURES))
        items.append((name, path))
    merged = merge_payslips(items, tmp_path / "bundle.pdf")
    assert (merged.pages, merged.bookmarks) == (3, 3)
    reader = PdfReader(tmp_path / "bundle.pdf")
    assert [item.title for item in reader.outline] == names
    assert [reader.get_destination_page_number(item) for item in reader.outline] == [0, 1, 2]
    for page, name in zip(reader.pages, names, strict=True):
        assert name in page.extract_text()


def test_identical_fonts_are_stored_once(tmp_path: Path):
    items = []
    for i in range(40):
        path = tmp_path / f"{i}.pdf"
        path.write_bytes(render_payslip(replace(HEADER, employee_name=f"Persona {i:02d}"), FIGURES))
        items.append((f"Persona {i:02d}", path))
    merge_payslips(items, tmp_path / "bundle.pdf")
    reader = PdfReader(tmp_path / "bundle.pdf")
    fonts = {
        font.idnum
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
        if hasattr(font, "idnum")
    }
    assert len(fonts) <= 2  # Helvetica and Helvetica-Bold, shared by every page
    single = (tmp_path / "0.pdf").stat().st_size
    assert (tmp_path / "bundle.pdf").stat().st_size < 40 * single
