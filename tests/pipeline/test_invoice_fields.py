"""Every field of invoices, tickets, payslips and AEAT receipts, with validation notes."""

from __future__ import annotations

import pytest

from pipeline.invoice_fields import (
    FieldSource,
    extract_document_fields,
    find_tax_id_hits,
    read_vat_lines,
)
from tests.extraction_documents import (
    make_aeat_receipt,
    make_fuel_ticket,
    make_parking_ticket,
    make_payslip,
    make_professional_invoice,
    make_restaurant_ticket,
    make_supermarket_ticket,
)

COMPANY = "B12345674"


def values(fields: dict) -> dict:
    return {name: field["value"] for name, field in fields.items()}


@pytest.mark.parametrize(
    "make", [make_supermarket_ticket, make_restaurant_ticket, make_fuel_ticket, make_parking_ticket]
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ticket_fields(make, seed: int) -> None:
    document = make(seed)
    truth = document.truth
    fields = extract_document_fields(document.text, category="ticket")
    found = values(fields)
    for name in ("issuer_tax_id", "issue_date", "total", "invoice_number", "payment_method"):
        assert found[name] == truth[name], (name, document.text)
    assert found["simplified_invoice"] is True
    assert found["currency"] == "EUR"
    assert found["recipient_tax_id_present"] is (truth["recipient_tax_id"] is not None)
    assert found["vat_deductible"] is (truth["recipient_tax_id"] is not None)
    if truth["recipient_tax_id"]:
        assert found["recipient_tax_id"] == truth["recipient_tax_id"]
    assert found["vat_lines"], document.text
    assert all(f["source"] == "text" for f in fields.values())
    # The breakdown adds up, so the total is corroborated.
    assert fields["total"]["confidence"] >= 0.9
    assert "notes" not in fields["vat_lines"]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_professional_invoice_fields_with_irpf(seed: int) -> None:
    document = make_professional_invoice(seed, company_nif=COMPANY)
    truth = document.truth
    found = values(
        extract_document_fields(document.text, category="factura_recibida", company_nif=COMPANY)
    )
    for name in (
        "issuer_tax_id",
        "recipient_tax_id",
        "issue_date",
        "total",
        "invoice_number",
        "irpf_rate",
        "irpf_amount",
        "iban",
    ):
        assert found[name] == truth[name], (name, document.text)
    assert found["payment_method"] == "transferencia"
    assert found["simplified_invoice"] is False
    (vat,) = found["vat_lines"]
    assert vat["rate"] == "21"
    assert found["issuer_name"]
    assert found["recipient_name"]
    assert "series" in found  # "2026-041" → series "2026"


def test_issued_invoice_puts_the_company_as_issuer() -> None:
    document = make_professional_invoice(9, company_nif=COMPANY, issued=True)
    found = values(
        extract_document_fields(document.text, category="factura_emitida", company_nif=COMPANY)
    )
    assert found["issuer_tax_id"] == COMPANY
    assert found["recipient_tax_id"] == document.truth["recipient_tax_id"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_payslip_fields(seed: int) -> None:
    document = make_payslip(seed)
    found = values(extract_document_fields(document.text, category="nomina"))
    for name in ("issuer_tax_id", "employee_tax_id", "period", "gross", "net"):
        assert found[name] == document.truth[name], name


@pytest.mark.parametrize("model", ["303", "111", "130"])
def test_aeat_receipt_fields(model: str) -> None:
    document = make_aeat_receipt(5, model)
    found = values(extract_document_fields(document.text, category="modelo_aeat"))
    for name in ("model", "fiscal_year", "period", "csv", "receipt_number", "result"):
        assert found[name] == document.truth[name], name


def test_operation_date_and_equivalence_surcharge() -> None:
    text = "\n".join(
        [
            "Distribuciones Cantábrico S.L.",
            "CIF: B64717838",
            "FACTURA Nº 2026/77",
            "Fecha: 02/03/2026",
            "Fecha de operación: 27/02/2026",
            "Cliente:",
            "Tienda Ana",
            f"NIF: {COMPANY}",
            "Base imponible 100,00 €",
            "IVA 21 % 21,00 €",
            "Recargo de equivalencia 5,2 % 5,20 €",
            "TOTAL 126,20 €",
        ]
    )
    fields = extract_document_fields(text, category="factura_recibida", company_nif=COMPANY)
    found = values(fields)
    assert found["operation_date"] == "2026-02-27"
    assert found["issue_date"] == "2026-03-02"
    assert found["vat_lines"] == [
        {
            "rate": "21",
            "base": "100.00",
            "amount": "21.00",
            "surcharge_rate": "5.2",
            "surcharge_amount": "5.20",
        }
    ]
    assert "notes" not in fields["vat_lines"]
    assert found["total"] == "126.20"


def test_arithmetic_that_does_not_add_up_lowers_confidence_and_says_why() -> None:
    text = "\n".join(
        [
            "ACME S.L.",
            "CIF: B64717838",
            "FACTURA Nº 1",
            "Fecha: 02/03/2026",
            "Base imponible 100,00",
            "IVA 21 % 25,00",
            "TOTAL 130,00",
        ]
    )
    fields = extract_document_fields(text, category="factura_recibida")
    assert any("should be 21.00" in n for n in fields["vat_lines"]["notes"])
    assert fields["total"]["confidence"] < 0.7
    assert any("add up to" in n for n in fields["total"]["notes"])


def test_a_rate_not_in_force_on_the_date_is_explained() -> None:
    text = "\n".join(
        [
            "FRUTAS S.L.",
            "CIF: B64717838",
            "FACTURA SIMPLIFICADA Nº A-1",
            "Fecha: 02/03/2026",
            "5% 10,00 0,50",
            "TOTAL 10,50",
        ]
    )
    fields = extract_document_fields(text, category="ticket")
    assert any("not in force" in n for n in fields["vat_lines"]["notes"])
    assert fields["issue_date"]["confidence"] < 0.9


def test_ocr_confusions_in_tax_ids_are_repaired_by_checksum() -> None:
    # B64717838 read with 8→B at the start, 1→l and 0→O confusions in the middle.
    (hit,) = find_tax_id_hits("CIF: 864717838")
    assert (hit.value, hit.repaired) == ("B64717838", True)
    (hit,) = find_tax_id_hits("NIF 5436231SK")
    assert hit.value == "54362315K"
    fields = extract_document_fields(
        "BAR PACO\nCIF: 864717838\nTOTAL 3,00", category="ticket", source=FieldSource.ocr
    )
    assert fields["issuer_tax_id"]["value"] == "B64717838"
    assert fields["issuer_tax_id"]["source"] == "ocr"
    assert fields["issuer_tax_id"]["notes"] == ["OCR letter/digit confusion repaired by checksum"]
    assert find_tax_id_hits("Tel. 912345678 · CIF B64717830") == []  # phone; bad check digit


def test_vat_table_rows_with_several_rates() -> None:
    lines = ["iva   base   cuota", "4%  9,12  0,36", "10%  1,27  0,13", "21%  9,35  1,96"]
    assert [(str(v.rate), str(v.base), str(v.amount)) for v in read_vat_lines(lines, None)] == [
        ("4", "9.12", "0.36"),
        ("10", "1.27", "0.13"),
        ("21", "9.35", "1.96"),
    ]
