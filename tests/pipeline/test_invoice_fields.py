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


# --- photographed receipts: OCR text as tesseract returned it from generated photos ---------

OCR_RECEIPT = """| HIPER AHORRO 7
| Hiper Ahorro S.L.U. q
| N.I.F. B08111650 E
We TICKET N®: 038-923753 q
POLLO ENTERO KG 5,87 B E
2 x 9,57 19,14 A E
| 2 x 5,68 11,36 C E
TOTAL ARTICULOS: 9 i
| TOTAL EUR 49,01 |
| “IVA BASE CUOTA
| A 4,00% 2165 0,87
B 10,0% 5,34 653
] C 21,00% 1704. 3,58
| TARJETA 49,01
| IMPORTE: 49,01 EUR
Fecha 22/05/25 11:51"""


def test_ocr_vat_table_with_specks_codes_lost_commas_and_misread_digits() -> None:
    fields = extract_document_fields(OCR_RECEIPT, category="ticket", source=FieldSource.ocr)
    assert [(v["rate"], v["base"], v["amount"]) for v in fields["vat_lines"]["value"]] == [
        ("4", "21.65", "0.87"),
        ("10", "5.34", "0.53"),
        ("21", "17.04", "3.58"),
    ]
    assert "OCR slips repaired" in fields["vat_lines"]["notes"][0]
    assert fields["total"]["value"] == "49.01"
    # A text layer is what was printed: nothing is repaired there.
    text = extract_document_fields(OCR_RECEIPT, category="ticket")
    assert not any("repaired" in note for note in text["vat_lines"].get("notes", []))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # "Base imponible r%" and "Cuota IVA r%" pairs, one pair per rate.
        (
            [
                "BASE IMPONIBLE 4% 4,12",
                "CUOTA IVA 4% 0,16",
                "BASE IMPONIBLE 21% 17,91",
                "CUOTA IVA 21% 3,76",
            ],
            [("4", "4.12", "0.16"), ("21", "17.91", "3.76")],
        ),
        # "IVA 10% INCLUIDO" lost: the rate is the one that turns this base into this amount.
        (["TOTAL COMPRA 15,35", "BASE 13,95 CUOTA 1,40"], [("10", "13.95", "1.40")]),
        # A header OCR damaged, rows behind a mangled "IVA" and a rate code.
        (
            ["VA BASE CUOTA", "| WA4% 15,59 0,62", "C IWA21% 1,40 0,29"],
            [("4", "15.59", "0.62"), ("21", "1.40", "0.29")],
        ),
        # A total column after base and amount; the table's own TOTAL row is not a rate.
        (
            ["TIPO BASE IVA TOTAL", "10,00% 16,29 1,63 17,92", "TOTAL 16,29 1,63"],
            [("10", "16.29", "1.63")],
        ),
    ],
)
def test_receipt_vat_layouts(lines: list[str], expected: list[tuple[str, str, str]]) -> None:
    fields = extract_document_fields("\n".join(lines), category="ticket", source=FieldSource.ocr)
    assert [(v["rate"], v["base"], v["amount"]) for v in fields["vat_lines"]["value"]] == expected


def test_card_payment_and_vat_give_the_total_when_the_total_line_is_lost() -> None:
    # The TOTAL line fell off the photo; the card line and the breakdown agree.
    text = "\n".join(["BAR CENTRAL", "CIF: B64717838", "TARJETA 41,95", "BASE 38,14 CUOTA 3,81"])
    fields = extract_document_fields(text, category="ticket", source=FieldSource.ocr)
    assert fields["total"]["value"] == "41.95"
    assert fields["total"]["notes"] == ["from the card payment and the VAT breakdown"]
    assert [(v["rate"], v["base"]) for v in fields["vat_lines"]["value"]] == [("10", "38.14")]


def test_a_misread_total_is_outvoted_by_the_card_payment_and_the_vat() -> None:
    text = "\n".join(
        [
            "PARAFARMACIA SALUD",
            "LECHE INFANTIL 800G 15,35€",
            "TOTAL COMPRA 5,85",  # "15,35" as OCR read it
            "TARJETA BANCARIA 15,35",
            "IVA 10% INCLUIDO",
            "BASE 13,95 CUOTA 1,40",
        ]
    )
    fields = extract_document_fields(text, category="ticket", source=FieldSource.ocr)
    assert fields["total"]["value"] == "15.35"
    assert "the TOTAL line says 5.85, not 15.35" in fields["total"]["notes"]
    agreed = extract_document_fields(
        text.replace("5,85", "15,35"), category="ticket", source=FieldSource.ocr
    )
    assert fields["total"]["confidence"] < agreed["total"]["confidence"]


def test_cash_and_the_total_line_disagreeing_lower_confidence() -> None:
    text = "\n".join(["TOTAL 24,43", "EFECTIVO 50,00", "CAMBIO 25,75"])
    fields = extract_document_fields(text, category="ticket", source=FieldSource.ocr)
    assert fields["total"]["value"] == "24.43"
    assert fields["total"]["notes"] == ["cash tendered minus change says 24.25, not 24.43"]
    assert fields["total"]["confidence"] < 0.6


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("N.1.F. 828085686", "B28085686"),  # "I" read as 1 in the label, "B" as 8
        ("N.I.F. 646337218", "G46337218"),
        # First or last character misread: both readings pass a checksum; a shop's is a CIF.
        ("NIF. 629241502", "G29241502"),
    ],
)
def test_labelled_tax_ids_with_ocr_slips(line: str, value: str) -> None:
    (hit,) = find_tax_id_hits(line)
    assert (hit.value, hit.repaired) == (value, True)


def test_a_zero_lookalike_in_a_tax_id_is_repaired_only_when_one_reading_fits() -> None:
    # B37104726 printed with a slashed zero and read as 8; only one 8 -> 0 passes the check.
    (hit,) = find_tax_id_hits("C.I.F.: B37184726")
    assert (hit.value, hit.repaired) == ("B37104726", True)
    # Unlabelled, an 8 is an 8: no repair.
    assert find_tax_id_hits("Ref B37184726") == []
    # B15028381: B15028301 and B15020381 both pass the CIF check: no guess.
    assert find_tax_id_hits("C.I.F.: B15028381") == []


def test_the_buyers_nif_line_is_never_the_issuer() -> None:
    text = "\n".join(["GASOLINERA RUTA 66", "CIF B4689O2", "NIF CLIENTE: B15208739", "TOTAL 5,00"])
    fields = extract_document_fields(text, category="ticket", source=FieldSource.ocr)
    assert "issuer_tax_id" not in fields
    assert fields["recipient_tax_id"]["value"] == "B15208739"


@pytest.mark.parametrize(
    ("lines", "method"),
    [
        (["TOTAL 17,91", "ENTREGAEFECTIVO 20,00", "CAMBIO 2,09"], "efectivo"),  # glued words
        (["TOTAL 241,25", "CAMBIO 258,75"], "efectivo"),  # the cash line was lost
        (["TOTAL 9,22", "MASTERCARD 9,22"], "tarjeta"),
    ],
)
def test_payment_method_from_damaged_lines(lines: list[str], method: str) -> None:
    fields = extract_document_fields("\n".join(lines), category="ticket", source=FieldSource.ocr)
    assert fields["payment_method"]["value"] == method


def test_receipt_dates_and_a_repaired_one_is_less_sure() -> None:
    def issue(text: str) -> dict:
        return extract_document_fields(text, category="ticket", source=FieldSource.ocr)[
            "issue_date"
        ]

    assert issue("FECHA: 11 MAR 2025 HORA: 08:25")["value"] == "2025-03-11"
    clean = issue("2026-08-21 08:58")
    slip = issue("21.08.2826 08:58")
    assert slip["value"] == clean["value"] == "2026-08-21"
    assert slip["confidence"] < clean["confidence"]
    # The returns deadline is not the issue date.
    assert issue("DEVOLUCIONES HASTA 04/06/2026\n20-05-2026 21:17")["value"] == "2026-05-20"


def test_base_with_its_rate_then_the_vat_line_is_one_pair() -> None:
    lines = ["base imponible 21% 100,00 €", "iva 21% 21,00 €", "total 121,00 €"]  # folded
    assert [(str(v.rate), str(v.base), str(v.amount)) for v in read_vat_lines(lines, None)] == [
        ("21", "100.00", "21.00")
    ]
