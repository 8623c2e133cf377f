"""Facturae 3.2 / 3.2.1 / 3.2.2 e-invoices (plain .xml or XAdES-signed .xsig): fields and errors.

Only the root element is namespaced; children are unqualified, so paths are plain names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Final

from lxml import etree
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from pipeline.amounts import CENT
from pipeline.fields import compact_tax_id, is_valid_tax_id
from pipeline.fonts import font_for
from pipeline.vat import VatLine, is_valid_rate

NAMESPACES: Final[dict[str, str]] = {
    "http://www.facturae.es/Facturae/2009/v3.2/Facturae": "3.2",
    "http://www.facturae.es/Facturae/2014/v3.2.1/Facturae": "3.2.1",
    "http://www.facturae.gob.es/formato/Versiones/Facturaev3_2_2.xml": "3.2.2",
}
DSIG: Final = "http://www.w3.org/2000/09/xmldsig#"
TOLERANCE: Final = Decimal("0.02")
# Where a damaged file is searched for the schema's name: the root element, or the signature
# envelope around it, opens the file.
_DAMAGED_HEAD: Final = 64 * 1024
_IRPF: Final = "04"
_SURCHARGE_TAX: Final = "17"  # REIVA may also come as its own Tax


class FacturaeError(StrEnum):
    """Why a Facturae file is not a valid invoice (stable codes)."""

    not_facturae = "not_facturae"
    schema_invalid = "schema_invalid"  # a mandatory element is missing
    invalid_tax_id = "invalid_tax_id"
    totals_inconsistent = "totals_inconsistent"


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding: a stable code and a sentence saying where and why."""

    code: FacturaeError
    message: str


@dataclass(frozen=True, slots=True)
class FacturaeInvoice:
    """One ``Invoice`` node: identification, dates, taxes and totals."""

    number: str | None
    series: str | None
    document_type: str | None
    invoice_class: str | None
    issue_date: dt.date | None
    operation_date: dt.date | None
    currency: str | None
    vat_lines: tuple[VatLine, ...]
    withholding_rate: Decimal | None
    withholding_amount: Decimal
    total_before_taxes: Decimal | None
    total_tax_outputs: Decimal | None
    total: Decimal | None
    total_executable: Decimal | None
    iban: str | None
    payment_means: str | None


@dataclass(frozen=True, slots=True)
class FacturaeDocument:
    """A parsed Facturae file: parties, invoices, signature presence and validation problems."""

    version: str
    modality: str | None
    issuer_tax_id: str | None
    issuer_name: str | None
    issuer_residence: str | None
    buyer_tax_id: str | None
    buyer_name: str | None
    batch_total: Decimal | None
    invoices: tuple[FacturaeInvoice, ...]
    signed: bool
    errors: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return not self.errors


def is_facturae(data: bytes) -> bool:
    """Whether ``data`` looks like a Facturae file (cheap: namespace sniffing on the head)."""
    head = data[:8192]
    return any(ns.encode() in head for ns in NAMESPACES) or b"<fe:Facturae" in head


def _parser() -> etree.XMLParser:
    # No entities, no network, no huge trees: uploads are hostile until proven otherwise.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
    )


def _text(node: etree._Element | None, path: str) -> str | None:
    if node is None:
        return None
    found = node.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _decimal(node: etree._Element | None, path: str) -> Decimal | None:
    value = _text(node, path)
    try:
        return Decimal(value) if value is not None else None
    except InvalidOperation:
        return None


def _date(node: etree._Element | None, path: str) -> dt.date | None:
    value = _text(node, path)
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _party(party: etree._Element | None) -> tuple[str | None, str | None, str | None]:
    """(tax id, name, residence code R/E/U) of a SellerParty/BuyerParty."""
    tax_id = _text(party, "TaxIdentification/TaxIdentificationNumber")
    residence = _text(party, "TaxIdentification/ResidenceTypeCode")
    name = _text(party, "LegalEntity/CorporateName")
    if name is None and party is not None and party.find("Individual") is not None:
        parts = (_text(party, f"Individual/{p}") for p in ("Name", "FirstSurname", "SecondSurname"))
        name = " ".join(p for p in parts if p) or None
    return tax_id, name, residence


def _invoice(node: etree._Element) -> FacturaeInvoice:
    header, issue, totals = node.find("InvoiceHeader"), node.find("InvoiceIssueData"), None
    totals = node.find("InvoiceTotals")
    lines: list[VatLine] = []
    for tax in node.findall("TaxesOutputs/Tax"):
        if _text(tax, "TaxTypeCode") not in {"01", "02", "03"}:
            continue
        lines.append(
            VatLine(
                rate=_decimal(tax, "TaxRate") or Decimal(0),
                base=_decimal(tax, "TaxableBase/TotalAmount") or Decimal(0),
                amount=_decimal(tax, "TaxAmount/TotalAmount") or Decimal(0),
                surcharge_rate=_decimal(tax, "EquivalenceSurcharge"),
                surcharge_amount=_decimal(tax, "EquivalenceSurchargeAmount/TotalAmount"),
            )
        )
    withheld = [t for t in node.findall("TaxesWithheld/Tax") if _text(t, "TaxTypeCode") == _IRPF]
    return FacturaeInvoice(
        number=_text(header, "InvoiceNumber"),
        series=_text(header, "InvoiceSeriesCode"),
        document_type=_text(header, "InvoiceDocumentType"),
        invoice_class=_text(header, "InvoiceClass"),
        issue_date=_date(issue, "IssueDate"),
        operation_date=_date(issue, "OperationDate"),
        currency=_text(issue, "InvoiceCurrencyCode"),
        vat_lines=tuple(lines),
        withholding_rate=_decimal(withheld[0], "TaxRate") if withheld else None,
        withholding_amount=sum(
            (_decimal(t, "TaxAmount/TotalAmount") or Decimal(0) for t in withheld), Decimal(0)
        ),
        total_before_taxes=_decimal(totals, "TotalGrossAmountBeforeTaxes"),
        total_tax_outputs=_decimal(totals, "TotalTaxOutputs"),
        total=_decimal(totals, "InvoiceTotal"),
        total_executable=_decimal(totals, "TotalExecutableAmount"),
        iban=_text(node, "PaymentDetails/Installment/AccountToBeCredited/IBAN"),
        payment_means=_text(node, "PaymentDetails/Installment/PaymentMeans"),
    )


def _check_invoice(invoice: FacturaeInvoice, position: int) -> tuple[list[Problem], list[str]]:
    where = f"invoice {position}" + (f" ({invoice.number})" if invoice.number else "")
    errors: list[Problem] = []
    warnings: list[str] = []
    for name, value in (
        ("InvoiceNumber", invoice.number),
        ("IssueDate", invoice.issue_date),
        ("InvoiceTotal", invoice.total),
    ):
        if value is None:
            errors.append(Problem(FacturaeError.schema_invalid, f"{where}: {name} is missing"))
    parts = (invoice.total_before_taxes, invoice.total_tax_outputs, invoice.total)
    if all(p is not None for p in parts):
        before, taxes, total = parts  # type: ignore[misc]
        expected = before + taxes - invoice.withholding_amount
        executable = invoice.total_executable
        if (
            abs(expected - total) > TOLERANCE
            and invoice.withholding_amount
            and abs(before + taxes - total) <= TOLERANCE
            and executable is not None
            and abs(executable - expected) <= TOLERANCE
        ):
            # Some producers put the withholding in TotalExecutableAmount only: lenient.
            warnings.append(
                f"{where}: InvoiceTotal excludes the withholding; "
                f"TotalExecutableAmount {executable} carries it"
            )
        elif abs(expected - total) > TOLERANCE:
            errors.append(
                Problem(
                    FacturaeError.totals_inconsistent,
                    f"{where}: InvoiceTotal {total} ≠ {before} + {taxes} − "
                    f"{invoice.withholding_amount} = {expected}",
                )
            )
        lines_tax = sum(
            (ln.amount + (ln.surcharge_amount or 0) for ln in invoice.vat_lines), Decimal(0)
        )
        if invoice.vat_lines and abs(lines_tax - taxes) > TOLERANCE:
            errors.append(
                Problem(
                    FacturaeError.totals_inconsistent,
                    f"{where}: taxes add up to {lines_tax}, TotalTaxOutputs is {taxes}",
                )
            )
    for line in invoice.vat_lines:
        expected = (line.base * line.rate / 100).quantize(CENT)
        if abs(expected - line.amount) > TOLERANCE:
            errors.append(
                Problem(
                    FacturaeError.totals_inconsistent,
                    f"{where}: {line.rate}% of {line.base} is {expected}, not {line.amount}",
                )
            )
        if line.rate and not is_valid_rate(line.rate, invoice.issue_date):
            # Old or foreign-regime rates happen in real files: a warning, not an error.
            warnings.append(
                f"{where}: VAT rate {line.rate}% was not in force on {invoice.issue_date}"
            )
    return errors, warnings


class DamagedFacturae(ValueError):
    """Not well-formed XML that names Facturae: an e-invoice cut short or damaged in transit."""


def parse_facturae(data: bytes) -> FacturaeDocument:
    """Parse a Facturae file (``.xml`` or enveloped/enveloping signed ``.xsig``).

    Returns every field it finds and the validation problems (missing mandatory elements,
    invalid Spanish tax ids, totals that do not add up). Raises ValueError when ``data`` is
    not well-formed XML (DamagedFacturae where it names Facturae) or holds no Facturae root.
    The XAdES signature is detected, not verified (that needs the signer's certificate chain).
    """
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        if b"facturae" in data[:_DAMAGED_HEAD].lower():
            raise DamagedFacturae(f"not well-formed XML: {error}") from error
        raise ValueError(f"not well-formed XML: {error}") from error
    facturae = (
        root
        if etree.QName(root).localname == "Facturae"
        else next(
            (
                n
                for n in root.iter()
                if isinstance(n.tag, str) and etree.QName(n).localname == "Facturae"
            ),
            None,
        )
    )
    if facturae is None:
        raise ValueError("no Facturae element")
    namespace = etree.QName(facturae).namespace or ""
    declared = _text(facturae, "FileHeader/SchemaVersion")
    version = declared or NAMESPACES.get(namespace, "unknown")
    seller, buyer = facturae.find("Parties/SellerParty"), facturae.find("Parties/BuyerParty")
    issuer_id, issuer_name, residence = _party(seller)
    buyer_id, buyer_name, buyer_residence = _party(buyer)
    invoices = tuple(_invoice(node) for node in facturae.findall("Invoices/Invoice"))
    errors: list[Problem] = []
    warnings: list[str] = []
    if declared and namespace in NAMESPACES and NAMESPACES[namespace] != declared:
        warnings.append(f"SchemaVersion {declared} under the {NAMESPACES[namespace]} namespace")
    if not invoices:
        errors.append(Problem(FacturaeError.schema_invalid, "no Invoices/Invoice element"))
    for label, tax_id, residence_code in (
        ("seller", issuer_id, residence),
        ("buyer", buyer_id, buyer_residence),
    ):
        if tax_id is None:
            errors.append(Problem(FacturaeError.schema_invalid, f"{label} tax id is missing"))
        elif residence_code in {None, "R"} and not is_valid_tax_id(tax_id):
            # Only Spanish residents carry a checkable NIF; foreign ids have other schemes.
            errors.append(
                Problem(
                    FacturaeError.invalid_tax_id, f"{label} NIF {tax_id} fails its check character"
                )
            )
    for position, invoice in enumerate(invoices, start=1):
        found, notes = _check_invoice(invoice, position)
        errors += found
        warnings += notes
    batch_total = _decimal(facturae, "FileHeader/Batch/TotalInvoicesAmount/TotalAmount")
    summed = sum((i.total or Decimal(0) for i in invoices), Decimal(0))
    if batch_total is not None and invoices and abs(summed - batch_total) > TOLERANCE:
        errors.append(
            Problem(
                FacturaeError.totals_inconsistent,
                f"batch total {batch_total} ≠ sum of invoices {summed}",
            )
        )
    return FacturaeDocument(
        version=version,
        modality=_text(facturae, "FileHeader/Modality"),
        issuer_tax_id=compact_tax_id(issuer_id)
        if issuer_id and residence in {None, "R"}
        else issuer_id,
        issuer_name=issuer_name,
        issuer_residence=residence,
        buyer_tax_id=compact_tax_id(buyer_id)
        if buyer_id and buyer_residence in {None, "R"}
        else buyer_id,
        buyer_name=buyer_name,
        batch_total=batch_total,
        invoices=invoices,
        signed=root.find(f".//{{{DSIG}}}Signature") is not None,
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def facturae_summary_text(document: FacturaeDocument) -> str:
    """A readable text of the e-invoice, for search and for the document's ``text``."""
    lines = [
        f"FACTURA ELECTRÓNICA Facturae {document.version}",
        f"Emisor: {document.issuer_name or ''} NIF: {document.issuer_tax_id or ''}",
        f"Receptor: {document.buyer_name or ''} NIF: {document.buyer_tax_id or ''}",
    ]
    for invoice in document.invoices:
        number = "/".join(p for p in (invoice.series, invoice.number) if p)
        lines.append(f"Factura nº {number} Fecha {invoice.issue_date or ''}")
        for vat in invoice.vat_lines:
            lines.append(f"IVA {vat.rate}% base {vat.base} cuota {vat.amount}")
        lines.append(f"Total {invoice.total}")
    return "\n".join(lines)


def facturae_pdf(document: FacturaeDocument, out_pdf: Path) -> None:
    """Write a plain one-page PDF of the e-invoice (for viewing and the "normalized" copy)."""
    pdf = canvas.Canvas(str(out_pdf), pagesize=A4, invariant=1)
    y = A4[1] - 56
    for line in facturae_summary_text(document).splitlines():
        pdf.setFont(font_for(line), 10)
        pdf.drawString(56, y, line[:110])
        y -= 14
        if y < 56:
            pdf.showPage()
            y = A4[1] - 56
    pdf.showPage()
    pdf.save()
