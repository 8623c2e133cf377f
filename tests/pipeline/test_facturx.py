"""Factur-X / ZUGFeRD PDFs: fields from the embedded XML, exactly as the JSON says."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, NullObject

from pipeline.extract import analyze_document
from pipeline.facturx import embedded_invoice_xml, read_facturx
from tests.documents import invoice_pdf_bytes, make_invoice


def test_every_sample_pdf_gives_its_embedded_fields(samples_dir: Path) -> None:
    paths = sorted((samples_dir / "invoices").glob("*.pdf"))
    assert len(paths) >= 18
    for path in paths:
        truth = json.loads(path.with_suffix(".json").read_text())
        xml = read_facturx(path.read_bytes())
        assert xml is not None, path.name
        assert xml.invoice_number == truth["invoice_number"], path.name
        assert str(xml.issue_date) == truth["date"], path.name
        assert xml.issuer_tax_id == truth["issuer_tax_id"], path.name
        assert xml.total == Decimal(str(truth["total"])), path.name
        assert xml.tax_total == Decimal(str(truth["tax_total"])), path.name
        assert xml.currency == truth["currency"], path.name
        assert [(v.rate, v.base, v.amount) for v in xml.vat_lines] == [
            (Decimal(str(v["rate"])), Decimal(str(v["base"])), Decimal(str(v["amount"])))
            for v in truth["vat"]
        ] or not truth["vat"], path.name


def test_xml_fields_override_the_text_layer(samples_dir: Path) -> None:
    path = samples_dir / "invoices" / "zugferd_Facture_FR_BASICWL.pdf"
    analysis = analyze_document("FACTURE FA-2017-0010 Total 1,00", pdf=path.read_bytes())
    assert analysis.fields["total"] == {
        **analysis.fields["total"],
        "value": "671.15",
        "source": "xml",
    }
    assert analysis.fields["issuer_name"]["value"] == "Au bon moulin"


def test_a_plain_pdf_has_no_embedded_invoice() -> None:
    assert read_facturx(invoice_pdf_bytes(make_invoice(3))) is None
    assert read_facturx(b"%PDF-1.4 garbage") is None


@pytest.mark.parametrize("damage", ["no /EF entry", "/EF pointing at null"])
def test_a_damaged_attachment_counts_as_no_embedded_invoice(
    samples_dir: Path, damage: str
) -> None:
    source = samples_dir / "invoices" / "zugferd_Facture_FR_BASICWL.pdf"
    found = embedded_invoice_xml(source)
    assert found is not None
    name, xml = found
    writer = PdfWriter(clone_from=io.BytesIO(invoice_pdf_bytes(make_invoice(3))))
    writer.add_attachment(name, xml)
    spec = writer.root_object["/Names"]["/EmbeddedFiles"]["/Names"][1].get_object()
    if damage == "no /EF entry":
        del spec["/EF"]
    else:
        spec[NameObject("/EF")] = DictionaryObject({NameObject("/F"): NullObject()})
    damaged = io.BytesIO()
    writer.write(damaged)
    assert embedded_invoice_xml(damaged.getvalue()) is None
    analysis = analyze_document("FACTURA F-1 Total 12,10 EUR", pdf=damaged.getvalue())
    assert analysis.fields["total"]["source"] != "xml"
