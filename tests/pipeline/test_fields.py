from __future__ import annotations

import json

import pytest

from pipeline.fields import extract_basic_fields, find_iban, find_tax_ids
from tests.documents import make_invoice, make_ticket, with_wrong_check


@pytest.mark.parametrize(
    "tax_id",
    [
        "12345678Z",
        "54362315K",
        "X5253868R",
        "Y1234567X",
        "B64717838",
        "A13585625",
        "Q2826000H",
        "P2807900B",
    ],
)
def test_reference_ids_are_found(tax_id: str) -> None:
    assert find_tax_ids(f"Emisor: {tax_id}.") == [tax_id]


def test_separators_prefix_and_case_are_tolerated() -> None:
    text = "CIF: B-64717838 · NIF ES A13585625 · DNI 12.345.678-Z · nie x-5253868-r · B 64717838"
    assert find_tax_ids(text) == ["B64717838", "A13585625", "12345678Z", "X5253868R"]


def test_invalid_check_characters_are_rejected() -> None:
    assert find_tax_ids("NIF 12345678A, CIF B64717839, NIE X5253868T") == []
    invoice = make_invoice(61)
    assert find_tax_ids(f"CIF: {with_wrong_check(invoice.issuer_cif)}") == []


def test_ids_inside_longer_codes_are_ignored() -> None:
    assert find_tax_ids("Ref. AB64717838X y pedido 912345678Z9") == []


def test_generated_ids_are_found_in_order() -> None:
    invoice = make_invoice(62)
    text = (
        f"CIF {invoice.issuer_cif}\nCliente NIF {invoice.recipient_nif}\nCIF {invoice.issuer_cif}"
    )
    assert find_tax_ids(text) == [invoice.issuer_cif, invoice.recipient_nif]


def test_ticket_fields() -> None:
    ticket = make_ticket(63)
    text = (
        f"{ticket.merchant}\nCIF: {ticket.cif}\nFACTURA SIMPLIFICADA\nNº: {ticket.number}\n"
        f"Fecha: {ticket.date:%d/%m/%Y} {ticket.time}\nSUBTOTAL 1,00\n"
        f"TOTAL {ticket.total_text} €\nEFECTIVO 500,00\nCAMBIO 1,00\n"
    )
    fields = extract_basic_fields(text)
    assert fields["tax_ids"]["value"] == [ticket.cif]
    assert fields["issue_date"]["value"] == ticket.date.isoformat()
    assert fields["total"]["value"] == str(ticket.total)
    assert fields["invoice_number"]["value"] == ticket.number
    assert "iban" not in fields
    json.dumps(fields)  # what workers store must be JSON


def test_invoice_fields() -> None:
    invoice = make_invoice(64)
    text = (
        f"{invoice.issuer_name}\nCIF: {invoice.issuer_cif}\nFACTURA\n"
        f"Nº factura: {invoice.number}\nFecha vencimiento: 01/01/2030\n"
        f"Fecha: {invoice.date:%d/%m/%Y}\nBase imponible\n1.000,00 €\nIVA 21 %\n210,00 €\n"
        f"TOTAL IVA 210,00 €\nTOTAL\n1.210,00 €\nIBAN: ES91 2100 0418 4502 0005 1332 BIC CAIXESBB"
    )
    fields = extract_basic_fields(text)
    assert fields["issue_date"]["value"] == invoice.date.isoformat()
    assert fields["total"] == {
        "value": "1210.00",
        "confidence": pytest.approx(0.6),
        "source": "text",
    }
    assert fields["invoice_number"]["value"] == invoice.number
    assert fields["iban"]["value"] == "ES9121000418450200051332"


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Fecha: 03/11/2026", "2026-11-03"),
        ("Fecha 3-11-26 12:40", "2026-11-03"),
        ("FECHA: 03.11.2026", "2026-11-03"),
        ("Madrid, 3 de noviembre de 2026", "2026-11-03"),
        ("Fecha de expedición: 1 de Septiembre del 2025", "2025-09-01"),
        ("Fecha: 12/01/2026", "2026-01-12"),  # day first, never US order
    ],
)
def test_spanish_dates(text: str, iso: str) -> None:
    assert extract_basic_fields(text)["issue_date"]["value"] == iso


def test_impossible_dates_are_skipped() -> None:
    assert "issue_date" not in extract_basic_fields("Fecha: 31/02/2026 y 45/13/2026")


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("TOTAL 12,35 €", "12.35"),
        ("TOTAL A PAGAR: 1.234,56 EUR", "1234.56"),
        ("Importe total 1.234.567,89€", "1234567.89"),
        ("TOTAL (€) 7.50", "7.50"),  # OCR read the comma as a dot
        ("TOTAL EUR 3,50", "3.50"),
    ],
)
def test_totals(line: str, value: str) -> None:
    assert extract_basic_fields(f"CAFÉ 1,20\n{line}\nGracias")["total"]["value"] == value


def test_best_total_label_wins_over_plain_total() -> None:
    text = "TOTAL 10,00\nTOTAL A PAGAR 12,10\nTOTAL ARTÍCULOS 3"
    assert extract_basic_fields(text)["total"]["value"] == "12.10"


def test_not_totals_are_ignored() -> None:
    assert "total" not in extract_basic_fields("SUBTOTAL 10,00\nTOTAL IVA 2,10\nTOTAL BASE 8,00")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Factura nº 153 de fecha 03/11/2026", "153"),
        ("Nº factura: F2026/0153", "F2026/0153"),
        ("Núm. A-0042", "A-0042"),
        ("FACTURA SIMPLIFICADA 2345-012-123456", "2345-012-123456"),
        ("Nº FRA.: 77/2026", "77/2026"),
    ],
)
def test_invoice_numbers(text: str, number: str) -> None:
    assert extract_basic_fields(text)["invoice_number"]["value"] == number


def test_invalid_iban_is_ignored() -> None:
    assert find_iban("IBAN ES91 2100 0418 4502 0005 1333") is None
    assert find_iban("ES7921000813610123456789") == "ES7921000813610123456789"


def test_empty_text_has_no_fields() -> None:
    assert extract_basic_fields("") == {}
