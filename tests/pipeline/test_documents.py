"""The generators other tests rely on: deterministic, varied, with valid identifiers."""

from __future__ import annotations

import io

from PIL import Image
from stdnum import iban
from stdnum.es import nif

from tests.documents import (
    invoice_pdf_bytes,
    make_invoice,
    make_ticket,
    ticket_image,
    ticket_photo_bytes,
    with_wrong_check,
)


def test_same_seed_same_document() -> None:
    assert make_ticket(7) == make_ticket(7)
    assert ticket_photo_bytes(make_ticket(7)) == ticket_photo_bytes(make_ticket(7))
    assert invoice_pdf_bytes(make_invoice(7)) == invoice_pdf_bytes(make_invoice(7))


def test_seeds_vary_the_documents() -> None:
    tickets = [make_ticket(seed) for seed in range(30)]
    assert len({t.merchant for t in tickets}) >= 5
    assert {t.vat_rate for t in tickets} == {4, 10, 21}
    assert len({t.date for t in tickets}) >= 25
    assert len({ticket_image(t, photo=False).width for t in tickets[:8]}) >= 4


def test_identifiers_are_valid() -> None:
    for seed in range(30):
        ticket, invoice = make_ticket(seed), make_invoice(seed)
        assert nif.is_valid(ticket.cif)
        assert nif.is_valid(invoice.issuer_cif)
        assert nif.is_valid(invoice.recipient_nif)
        assert iban.is_valid(invoice.iban)
        assert not nif.is_valid(with_wrong_check(invoice.issuer_cif))


def test_amounts_add_up() -> None:
    for seed in range(30):
        ticket, invoice = make_ticket(seed), make_invoice(seed)
        assert ticket.total == sum(qty * price for _, qty, price in ticket.lines)
        assert ticket.base + ticket.vat_amount == ticket.total
        assert invoice.base + invoice.vat_amount == invoice.total


def test_photo_options() -> None:
    ticket = make_ticket(3)
    upright = Image.open(io.BytesIO(ticket_photo_bytes(ticket)))
    turned = Image.open(io.BytesIO(ticket_photo_bytes(ticket, rotate=90)))
    assert upright.height > upright.width
    assert turned.size == (upright.height, upright.width)
    with_dpi = Image.open(io.BytesIO(ticket_photo_bytes(ticket, dpi=300)))
    assert with_dpi.info["dpi"] == (300, 300)
    exif = Image.open(io.BytesIO(ticket_photo_bytes(ticket, exif_orientation=8)))
    assert exif.getexif()[0x0112] == 8


def test_receipts_are_deterministic_varied_and_add_up() -> None:
    from decimal import Decimal

    from tests.receipts import make_receipt, receipt_photo_bytes

    assert make_receipt(5).lines == make_receipt(5).lines
    assert receipt_photo_bytes(make_receipt(5)) == receipt_photo_bytes(make_receipt(5))
    receipts = [make_receipt(seed) for seed in range(60)]
    assert {r.extra["columns"] for r in receipts} == {32, 42, 48}
    assert len({r.kind for r in receipts}) == 7
    assert len({r.truth["payment_method"] for r in receipts}) == 2
    texts = "\n".join(r.text for r in receipts)
    for wording in (
        "TOTAL A PAGAR",
        "IMPORTE TOTAL",
        "TOTAL EUR",
        "CAMBIO",
        "ENTREGADO",
        "TARJETA",
        "BASE IMPONIBLE",
        "IVA",
        "EUR",
        "€",
    ):
        assert wording in texts, wording
    for receipt in receipts:
        truth = receipt.truth
        assert nif.is_valid(truth["issuer_tax_id"])
        vat = sum(
            (Decimal(v["base"]) + Decimal(v["amount"]) for v in truth["vat_lines"]), Decimal(0)
        )
        assert vat == Decimal(truth["total"])
        assert truth["issuer_tax_id"] in receipt.text.replace("-", "")
