"""Merging: one page and one bookmark per employee, in order, fonts stored once."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

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


def two_page_pdf() -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True)
    for text in ("Hoja uno", "Hoja dos"):
        canvas.drawString(72, 720, text)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def test_streams_from_a_generator_and_keeps_every_page_of_a_longer_file(tmp_path: Path):
    single = render_payslip(replace(HEADER, employee_name="Núñez Peña, Íñigo"), FIGURES)
    sources = [("Núñez Peña, Íñigo", single), ("Anexo «dos» — hojas", two_page_pdf())]
    opened: list[str] = []

    def items():  # each file is opened only when the merge reaches it
        for title, data in sources:
            opened.append(title)
            yield title, io.BytesIO(data)

    merged = merge_payslips(items(), tmp_path / "bundle.pdf")
    assert (merged.pages, merged.bookmarks) == (3, 2)
    assert merged.size == (tmp_path / "bundle.pdf").stat().st_size
    assert opened == [title for title, _ in sources]
    reader = PdfReader(tmp_path / "bundle.pdf", strict=True)
    assert reader.page_mode == "/UseOutlines"
    assert [item.title for item in reader.outline] == [title for title, _ in sources]
    assert [reader.get_destination_page_number(item) for item in reader.outline] == [0, 1]
    assert "Íñigo" in reader.pages[0].extract_text()
    assert "Hoja uno" in reader.pages[1].extract_text()
    assert "Hoja dos" in reader.pages[2].extract_text()


def test_same_payslips_give_the_same_bytes(tmp_path: Path):
    data = render_payslip(HEADER, FIGURES)
    for name in ("a.pdf", "b.pdf"):
        merge_payslips([("Uno", io.BytesIO(data)), ("Dos", io.BytesIO(data))], tmp_path / name)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    reader = PdfReader(tmp_path / "a.pdf", strict=True)
    # The same content stream is stored once, yet each page stays its own page object.
    assert len({page.indirect_reference.idnum for page in reader.pages}) == 2
    assert len({page["/Contents"].indirect_reference.idnum for page in reader.pages}) == 1


def test_a_file_without_pages_is_refused(tmp_path: Path):
    empty = io.BytesIO()
    PdfWriter().write(empty)
    empty.seek(0)
    with pytest.raises(ValueError, match="no page"):
        merge_payslips([("Vacío", empty)], tmp_path / "bundle.pdf")
