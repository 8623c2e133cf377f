from __future__ import annotations

import pytest

from pipeline.classify import Category, Classification, suggest_category
from tests.documents import make_invoice, make_ticket, ticket_text


def invoice_text(seed: int, **kwargs: str) -> tuple[str, object]:
    invoice = make_invoice(seed, **kwargs)
    lines = [
        invoice.issuer_name,
        f"CIF: {invoice.issuer_cif}",
        "FACTURA",
        f"Nº factura: {invoice.number}",
        f"Fecha: {invoice.date:%d/%m/%Y}",
        "Cliente",
        invoice.recipient_name,
        f"NIF: {invoice.recipient_nif}",
        "Base imponible",
        f"IVA {invoice.vat_rate} %",
        "TOTAL",
    ]
    return "\n".join(lines), invoice


@pytest.mark.parametrize("seed", range(40, 46))
def test_generated_tickets_are_tickets(seed: int) -> None:
    result = suggest_category(ticket_text(make_ticket(seed)))
    assert result.category is Category.ticket
    assert 0.5 <= result.confidence <= 0.9
    assert any("factura simplificada" in reason for reason in result.reasons)


@pytest.mark.parametrize("seed", range(50, 54))
def test_invoice_is_received_unless_the_company_issued_it(seed: int) -> None:
    text, invoice = invoice_text(seed)
    received = suggest_category(text, company_nif=invoice.recipient_nif)
    issued = suggest_category(text, company_nif=invoice.issuer_cif)
    assert received.category is Category.factura_recibida
    assert issued.category is Category.factura_emitida
    assert 0.5 <= issued.confidence <= 0.9


def test_company_nif_is_compared_in_compact_form() -> None:
    text, _ = invoice_text(55, issuer_cif="B64717838")
    result = suggest_category(text, company_nif="ES B-64717838")
    assert result.category is Category.factura_emitida


def test_nifs_found_by_the_caller_take_precedence() -> None:
    text, invoice = invoice_text(56)
    result = suggest_category(
        text, company_nif=invoice.recipient_nif, nifs_found=[invoice.recipient_nif]
    )
    assert result.category is Category.factura_emitida


def test_without_company_nif_an_invoice_is_received() -> None:
    text, _ = invoice_text(57)
    result = suggest_category(text)
    assert result.category is Category.factura_recibida
    assert any("assumed received" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RECIBO DE SALARIOS\nDEVENGOS\nLÍQUIDO A PERCIBIR 1.523,40", Category.nomina),
        ("Agencia Tributaria\nModelo 303 IVA Autoliquidación 2026 3T", Category.modelo_aeat),
        (
            "Tesorería General de la Seguridad Social\nRelación Nominal de Trabajadores (RNT)",
            Category.seguros_sociales,
        ),
        (
            "EXTRACTO DE CUENTA\nSaldo anterior 1.200,00\nMovimientos del periodo",
            Category.extracto_bancario,
        ),
        ("CONTRATO DE ARRENDAMIENTO\nREUNIDOS\nde una parte...\nCLÁUSULAS", Category.contrato),
    ],
)
def test_other_categories(text: str, expected: Category) -> None:
    assert suggest_category(text).category is expected


def test_accents_and_case_do_not_matter() -> None:
    assert suggest_category("nomina\nliquido a percibir").category is Category.nomina
    assert suggest_category("NÓMINA\nLÍQUIDO A PERCIBIR").category is Category.nomina


def test_keywords_match_whole_words_only() -> None:
    # "iva" inside "activa" or "ticket" inside "tickets2" is no evidence.
    assert suggest_category("La cuenta activa del cliente").category is Category.otros


@pytest.mark.parametrize("text", ["", "   \n\f ", "Lorem ipsum dolor sit amet"])
def test_empty_or_unmatched_text_is_otros_with_low_confidence(text: str) -> None:
    result = suggest_category(text)
    assert result == Classification(result.category, result.confidence, result.reasons)
    assert result.category is Category.otros
    assert result.confidence <= 0.1
    assert result.reasons


def test_confidence_drops_when_categories_compete() -> None:
    clear = suggest_category("NÓMINA\nDEVENGOS\nLÍQUIDO A PERCIBIR")
    mixed = suggest_category("NÓMINA\nDEVENGOS\nLÍQUIDO A PERCIBIR\nEXTRACTO\nSALDO\nMOVIMIENTOS")
    assert mixed.category is Category.nomina
    assert mixed.confidence < clear.confidence


@pytest.mark.parametrize(
    "text",
    [
        # OCR of receipt photos: "FACTURA" lost or mangled, specks at line starts.
        "¡GRANJA SAN ROQUE\n: NIF. A46606315\n| Í E SIMPLIFICADA: 013-986712.\n"
        "| MESA: 24 PAX: 2\n| SUBTOTAL 9,22\n| | IMPORTE TOTAL € 9,22\n| MASTERCARD 9,22\n"
        "IVA BASE CUOTA\n] 10% 8,38 0,84",
        "ELECTRO HOGAR CENTRO\nNIF. 629241502\nF, SIMPLIFICADA: 021-642068\nTOTAL 373,79 €\n"
        "TARJETA BANCARIA 373,79\n** COPIA CLIENTE ***\nIVA% BASE CUOTA IMPORTE",
        "RESTAURANTE EL OLIVO\nFRA. SIMPLIFICADA\nNUM: 025-733146\nMESA: 29 PAX: 1\n"
        "IMPORTE TOTAL 7,86 €\nIVA BASE CUOTA\n10% 7,15 0,71\nMASTERCARD 7,86",
    ],
)
def test_photographed_receipts_with_damaged_words_are_tickets(text: str) -> None:
    assert suggest_category(text).category is Category.ticket
