"""Payslip fields from the layouts of the common payroll programs, and hard text snippets."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader

from pipeline.classify import Category, suggest_category
from pipeline.extract import analyze_document
from pipeline.invoice_fields import extract_document_fields, find_tax_id_hits
from pipeline.normalize import normalize_upload
from pipeline.ocr import ocr_pdf_pages
from pipeline.payslip_fields import read_payslip
from tests.documents import make_cif, make_dni
from tests.payslip_documents import (
    LAYOUTS,
    make_nie,
    make_payslip_document,
    payslip_scan_bytes,
)

FIELDS = ("issuer_tax_id", "employee_tax_id", "period", "gross", "net", "irpf_rate")


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _read(text: str) -> dict[str, str]:
    return {f.name: f.value for f in read_payslip(text, find_tax_id_hits(text))}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("seed", [3, 58, 411])
def test_generated_layouts(layout: str, seed: int) -> None:
    document = make_payslip_document(seed, layout)
    text = _pdf_text(document.pdf)
    assert suggest_category(text).category is Category.nomina
    fields = extract_document_fields(text, category="nomina")
    found = {name: fields.get(name, {}).get("value") for name in FIELDS}
    assert found == {name: document.truth[name] for name in FIELDS}


@pytest.mark.parametrize(("layout", "seed"), [("spreadsheet", 12), ("a3", 40)])
def test_scanned_payslip(
    layout: str, seed: int, upload: Callable[[bytes, str], Path], out_pdf: Path
) -> None:
    # Amounts in a column far from their labels, read through normalize and OCR.
    document = make_payslip_document(seed, layout)
    normalized = normalize_upload(upload(payslip_scan_bytes(document), "scan.jpg"), out_pdf)
    text = ocr_pdf_pages(out_pdf, normalized.pages_needing_ocr).text
    analysis = analyze_document(text, from_ocr=True)
    assert analysis.classification.category is Category.nomina
    found = {name: analysis.fields.get(name, {}).get("value") for name in FIELDS}
    assert found == {name: document.truth[name] for name in FIELDS}


def test_generated_layouts_differ() -> None:
    # The layouts must really differ: each prints its totals with its own words.
    texts = {layout: _pdf_text(make_payslip_document(7, layout).pdf) for layout in LAYOUTS}
    assert len({t.splitlines()[0] for t in texts.values()}) == len(LAYOUTS)


def test_label_strip_above_amount_strip() -> None:
    # OCR of an A3-style totals strip: the labels on one line, their amounts on the next.
    text = (
        "PERIODO MENSUAL 01 JUL 26 a 31 JUL 26\n"
        "REM. TOTAL P.P. EXTRAS BASE S.S. BASE I.R.P.F. T. DEVENGADO T. A DEDUCIR\n"
        "2.154,82 359,14 2.513,96 2.154,82 2.294,21 379,93\n"
        "Sevilla, 31 JUL 2026 LIQUIDO A PERCIBIR\n"
        "1.914,28\n"
    )
    found = _read(text)
    assert (found["gross"], found["net"], found["period"]) == ("2294.21", "1914.28", "2026-07")


def test_labels_then_amounts_lines() -> None:
    # pypdf order of a Nominasol foot: both labels, then both amounts, then the net.
    text = "TOTAL DEVENGADO\nTOTAL A DEDUCIR\n3.636,87\n634,02\nLÍQUIDO TOTAL A PERCIBIR\n3.002,85"
    found = _read(text)
    assert (found["gross"], found["net"]) == ("3636.87", "3002.85")


def test_arithmetic_rejects_a_base_next_to_the_label() -> None:
    # "Base IRPF" right after "Total devengado" on the line: A − B = líquido picks the total.
    text = (
        "Total devengado Base IRPF 1.800,00 2.100,00\n"
        "Total a deducir 300,00\n"
        "Neto a percibir 1.800,00\n"
    )
    assert (_read(text)["gross"], _read(text)["net"]) == ("2100.00", "1800.00")


def test_totals_column_read_as_a_block_of_its_own() -> None:
    # OCR of the official model: the TOTALES column comes after every label, and the line
    # items (4.107,48 + 30,53 = 4.138,01) must not pass for total, deductions and net.
    text = (
        "A. TOTAL DEVENGADO\nII. DEDUCCIONES\nCotización MEI 0,15 %\nB. TOTAL A DEDUCIR\n"
        "LÍQUIDO TOTAL A PERCIBIR (A-B)\nImporte remuneración mensual\n"
        "4.138,01\n689,67\nIMPORTE\n4.107,48\n30,53\n7,24\nTOTALES\n"
        "4.138,01\n313,80\n1.126,01\n3.012,00\n"
    )
    found = {f.name: f for f in read_payslip(text, [])}
    assert (found["gross"].value, found["net"].value) == ("4138.01", "3012.00")
    assert found["gross"].confidence == 0.6


def test_person_employer_told_apart_by_labels() -> None:
    rng = random.Random(5)
    employer, worker = make_dni(rng), make_dni(rng)
    text = f"TRABAJADOR: Ana Ruiz\nDNI: {worker}\nEMPRESA: Juan Pérez García\nNIF: {employer}\n"
    found = _read(text)
    assert (found["issuer_tax_id"], found["employee_tax_id"]) == (employer, worker)


def test_ids_under_a_row_of_labels() -> None:
    # A header read by OCR: labels on one row, values on the next, the worker first, so
    # only the label above each id (not the order) tells the two people apart.
    rng = random.Random(21)
    employer, worker = make_dni(rng), make_dni(rng)
    text = (
        "TRABAJADOR            D.N.I.      C.C.C.         PERIODO   C.I.F. EMPRESA\n"
        f"ANA RUIZ SOTO         {worker}   28123456789    06/2026   {employer}\n"
    )
    found = _read(text)
    assert (found["issuer_tax_id"], found["employee_tax_id"]) == (employer, worker)


def test_company_and_nie() -> None:
    rng = random.Random(9)
    company, worker = make_cif(rng), make_nie(rng)
    text = f"D.N.I./N.I.E. {worker}\nC.I.F. empresa {company}\nPeriodo 11/2026\n"
    found = _read(text)
    assert (found["issuer_tax_id"], found["employee_tax_id"]) == (company, worker)
    assert found["period"] == "2026-11"


def test_period_ignores_seniority_and_payment_dates() -> None:
    text = (
        "Fecha antigüedad 15/03/2019\n"
        "Fecha de pago 05/12/2026\n"
        "PERIODO DE LIQUIDACIÓN: del 1 de noviembre al 30 de noviembre de 2026\n"
        "Madrid, a 2 de diciembre de 2026\n"
    )
    assert _read(text)["period"] == "2026-11"


@pytest.mark.parametrize(
    ("line", "period"),
    [
        ("NOMINA MES DE DICIEMBRE DE 2026", "2026-12"),
        ("Nómina de agosto 2026", "2026-08"),
        ("NÓMINA\nOctubre 2026", "2026-10"),
        ("PERIODO\nTOT. DIAS\nMENSUAL 01 NOV 26 a 30 NOV 26", "2026-11"),
        ("Periodo: 01/02/2025 - 28/02/2025", "2025-02"),
        ("NOMINA MES DE J UNIO DE 2026", "2026-06"),  # OCR split the capital off
    ],
)
def test_period_wordings(line: str, period: str) -> None:
    assert _read(line)["period"] == period


def test_irpf_rate_in_a_column_before_the_concept() -> None:
    # A3 grid read by pypdf: CUANTÍA (the rate) on the line above the concept; the rate is
    # confirmed by base × rate = withheld, so the MEI 0,15 above is not taken.
    text = (
        "0,15\nCOTIZACION MEI\n7,12\n13,54\nTRIBUTACION I.R.P.F.\n561,70\nBASE I.R.P.F.\n4.148,45"
    )
    assert _read(text)["irpf_rate"] == "13.54"


def test_irpf_rate_beside_its_label_beats_a_coincidence_above() -> None:
    # No IRPF base is printed; 2.441,06 × 4,70 % (the overtime line above) happens to be
    # 114,73, the amount withheld. The "2,89%" under the label is the rate.
    text = (
        "SALARIO BASE 2441,06\nCOTIZACION HORAS EXTRA\n4,70%\n7,93\nRETENCION IRPF\n2,89%\n114,73\n"
    )
    rate = next(f for f in read_payslip(text, []) if f.name == "irpf_rate")
    assert (rate.value, rate.confidence) == ("2.89", 0.5)


def test_irpf_rate_from_ocr_spelling() -> None:
    text = "LR.P.F. 16, 28% 332,75\nBase sujeta a retención del IRPF 2.043,92"
    found = read_payslip(text, [])
    rate = next(f for f in found if f.name == "irpf_rate")
    assert (rate.value, rate.confidence) == ("16.28", 0.85)


def test_unconfirmed_irpf_rate_is_less_sure() -> None:
    rate = next(f for f in read_payslip("Retención IRPF 12,00 %", []) if f.name == "irpf_rate")
    assert rate.value == "12.00"
    assert rate.confidence < 0.6
    assert rate.notes


@pytest.mark.parametrize(("remainder", "misread"), [(0, "1"), (16, "0")])
def test_dni_letter_read_as_digit_is_restored(remainder: int, misread: str) -> None:
    # number % 23 picks the letter: 0 is "T" (read as 1), 16 is "Q" (read as 0).
    number = f"{23 * 543_210 + remainder:08d}"
    found = {f.name: f.value for f in read_payslip(f"DNI TRABAJADOR {number}{misread}\n", [])}
    assert found["employee_tax_id"] == number + "TRWAGMYFPDXBNJZSQVHLCKE"[remainder]
    # "J" read as a bracket, or the letter lost: the digits decide it.
    assert _read(f"D.N.I./N.I.E. {number})\n")["employee_tax_id"] == found["employee_tax_id"]
    # A digit that looks like no letter of the alphabet is left alone.
    assert "employee_tax_id" not in _read(f"DNI TRABAJADOR {number}3\n")


def test_net_above_gross_is_flagged() -> None:
    found = {
        f.name: f for f in read_payslip("TOTAL DEVENGADO 900,00\nLIQUIDO A PERCIBIR 1.200,00", [])
    }
    assert found["net"].confidence < 0.5
    assert "net exceeds gross" in found["net"].notes


def test_plain_number_format() -> None:
    text = "TOTAL DEVENGOS\n 5959,50\nTOTAL DEDUCCIONES\n954,76\nNETO A PERCIBIR\n 5004,74"
    found = _read(text)
    assert (found["gross"], found["net"]) == ("5959.50", "5004.74")
