"""Verifactu and TicketBAI QR codes: parsing, decoding from page images, and their authority."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import segno
from PIL import Image

from pipeline.extract import analyze_document
from pipeline.qr import QrKind, crc8, decode_fiscal_qrs, parse_fiscal_qr
from tests.extraction_documents import document_paper, make_supermarket_ticket, verifactu_url

AEAT_EXAMPLE = (
    "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR?nif=89890001K"
    "&numserie=12345678%26G33&fecha=01-01-2024&importe=241.4"
)
TBAI_EXAMPLE = (
    "https://batuz.eus/QRTBAI/?id=TBAI-A99805061-251222-DSI1XA1ErCoqa-159"
    "&s=&nf=FAC23&i=7561.00&cr=073"
)


def test_the_aeat_example_parses_exactly() -> None:
    qr = parse_fiscal_qr(AEAT_EXAMPLE)
    assert qr is not None
    assert qr.kind is QrKind.verifactu
    assert (qr.nif, qr.number, qr.date, qr.total) == (
        "89890001K",
        "12345678&G33",
        dt.date(2024, 1, 1),
        Decimal("241.4"),
    )
    assert qr.problems == ()


def test_ticketbai_crc_and_fields() -> None:
    assert crc8(b"TBAI-00000006Y-251019-btFpwP8dcLGAF-") == 237
    qr = parse_fiscal_qr(TBAI_EXAMPLE)
    assert qr is not None
    assert qr.kind is QrKind.ticketbai
    assert (qr.nif, qr.number, qr.total, qr.problems) == (
        "A99805061",
        "FAC23",
        Decimal("7561.00"),
        (),
    )
    tampered = parse_fiscal_qr(TBAI_EXAMPLE.replace("7561.00", "7661.00"))
    assert tampered is not None
    assert "TicketBAI URL CRC does not match" in tampered.problems


def test_other_urls_and_bad_nifs() -> None:
    assert parse_fiscal_qr("https://example.com/?nif=89890001K") is None
    assert parse_fiscal_qr("not a url at all") is None
    wrong = parse_fiscal_qr(AEAT_EXAMPLE.replace("89890001K", "89890001A"))
    assert wrong is not None
    assert any("fails its check" in p for p in wrong.problems)


def _png(url: str) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=5)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_qr_is_decoded_from_a_rotated_ticket_image() -> None:
    ticket = make_supermarket_ticket(7)
    ticket.qr_url = verifactu_url(
        ticket.truth["issuer_tax_id"],
        ticket.truth["invoice_number"],
        dt.date.fromisoformat(ticket.truth["issue_date"]),
        Decimal(ticket.truth["total"]),
    )
    page = document_paper(ticket).rotate(7, expand=True, fillcolor="white")
    (qr,) = decode_fiscal_qrs([page])
    assert qr.nif == ticket.truth["issuer_tax_id"]
    assert qr.total == Decimal(ticket.truth["total"])


def test_qr_values_win_over_misread_text_and_say_so() -> None:
    ticket = make_supermarket_ticket(11)
    truth = ticket.truth
    url = verifactu_url(
        truth["issuer_tax_id"],
        truth["invoice_number"],
        dt.date.fromisoformat(truth["issue_date"]),
        Decimal(truth["total"]),
    )
    # OCR got the total wrong (a 7 read as 1): the QR is authoritative.
    wrong_total = truth["total"].replace(".", ",")
    garbled = (
        ticket.text.replace(wrong_total, "1" + wrong_total[1:])
        if wrong_total[0] != "1"
        else ticket.text.replace(wrong_total, "7" + wrong_total[1:])
    )
    analysis = analyze_document(garbled, from_ocr=True, page_images=[_png(url)])
    fields = analysis.fields
    assert fields["total"]["value"] == truth["total"]
    assert fields["total"]["source"] == "qr"
    assert any("ocr read" in note for note in fields["total"]["notes"])
    assert fields["issuer_tax_id"] == {
        **fields["issuer_tax_id"],
        "value": truth["issuer_tax_id"],
        "source": "qr",
    }
    assert fields["issue_date"]["value"] == truth["issue_date"]
    assert str(analysis.classification.category) == "ticket"
