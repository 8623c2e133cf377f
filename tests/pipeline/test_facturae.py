"""Facturae 3.2 / 3.2.1 / 3.2.2 samples: fields exact, invalid ones rejected with their reason."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from pipeline.extract import analyze_document
from pipeline.facturae import (
    DamagedFacturae,
    FacturaeError,
    facturae_pdf,
    is_facturae,
    parse_facturae,
)


def _samples(samples_dir: Path) -> list[Path]:
    found = sorted((samples_dir / "facturae").glob("*.xml"))
    assert len(found) >= 14
    return found


def test_every_sample_matches_its_json(samples_dir: Path) -> None:
    for path in _samples(samples_dir):
        truth = json.loads(path.with_suffix(".json").read_text())
        assert is_facturae(path.read_bytes())
        doc = parse_facturae(path.read_bytes())
        assert doc.version == truth["schema_version"], path.name
        assert doc.issuer_tax_id == truth["issuer_tax_id"], path.name
        assert doc.issuer_name == truth["issuer_name"], path.name
        assert doc.buyer_tax_id == truth["buyer_tax_id"], path.name
        assert doc.signed is truth["signed_xades"], path.name
        assert doc.valid is truth["valid"], (path.name, doc.errors)
        assert [(i.number, i.series, str(i.issue_date), i.total) for i in doc.invoices] == [
            (i["invoice_number"], i["series"], i["date"], Decimal(str(i["total"])))
            for i in truth["invoices"]
        ], path.name
        if truth.get("expected_error"):
            assert truth["expected_error"].lower() in {str(p.code) for p in doc.errors}


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        (
            "viewer_Facturae-3.2.2-totales-incorrectos.xml",
            FacturaeError.totals_inconsistent,
            "InvoiceTotal 99.99",
        ),
        ("viewer_Facturae-3.2.2-nif-invalido.xml", FacturaeError.invalid_tax_id, "B28015866"),
        (
            "viewer_Facturae-3.2.2-esquema-invalido.xml",
            FacturaeError.schema_invalid,
            "InvoiceNumber is missing",
        ),
    ],
)
def test_invalid_samples_explain_themselves_and_flag_review(
    samples_dir: Path, name: str, code: FacturaeError, words: str
) -> None:
    doc = parse_facturae((samples_dir / "facturae" / name).read_bytes())
    assert [p.code for p in doc.errors] == [code]
    assert words in doc.errors[0].message
    analysis = analyze_document("", facturae=doc, company_nif="B12345674")
    assert analysis.needs_review
    assert analysis.fields["facturae"]["value"]["errors"][0]["code"] == str(code)
    assert analysis.fields["total"]["confidence"] < 0.9


def test_valid_sample_fields_come_from_the_xml(samples_dir: Path) -> None:
    doc = parse_facturae((samples_dir / "facturae" / "gobl_invoice-vat-irpf.xml").read_bytes())
    analysis = analyze_document("", facturae=doc, company_nif="B77436020")
    fields = {k: v["value"] for k, v in analysis.fields.items()}
    assert str(analysis.classification.category) == "factura_recibida"  # the company is the buyer
    assert fields["issuer_tax_id"] == "37221735F"
    assert fields["total"] == "5080.92"
    assert (fields["irpf_rate"], fields["irpf_amount"]) == ("15", "600.30")
    assert [v["rate"] for v in fields["vat_lines"]] == ["21", "10"]
    assert {v["source"] for v in analysis.fields.values()} == {"xml"}
    assert not analysis.needs_review
    issued = analyze_document("", facturae=doc, company_nif="37221735F")
    assert str(issued.classification.category) == "factura_emitida"


def test_hostile_xml_is_refused_without_expanding_entities() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>'
    )
    with pytest.raises(ValueError, match="no Facturae"):
        parse_facturae(bomb)
    with pytest.raises(ValueError, match="well-formed") as refused:
        parse_facturae(b"<invoice><total>12")
    assert not isinstance(refused.value, DamagedFacturae)


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_a_facturae_cut_short_is_damaged_not_foreign(samples_dir: Path, cut: float) -> None:
    for path in sorted((samples_dir / "facturae").glob("*.xml")):
        data = path.read_bytes()
        with pytest.raises(DamagedFacturae, match="well-formed"):
            parse_facturae(data[: int(len(data) * cut)])


def test_the_readable_copy_spells_names_beyond_western_europe(
    samples_dir: Path, tmp_path: Path
) -> None:
    parsed = parse_facturae(
        (samples_dir / "facturae" / "viewer_Facturae-3.2.2-valid.xml").read_bytes()
    )
    polish = replace(parsed, issuer_name="Łódzkie Zakłady Włókiennicze Sp. z o.o.")
    facturae_pdf(polish, tmp_path / "copy.pdf")
    assert (
        "Łódzkie Zakłady Włókiennicze" in PdfReader(tmp_path / "copy.pdf").pages[0].extract_text()
    )
