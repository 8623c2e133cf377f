"""Factur-X / ZUGFeRD PDFs: the CII XML embedded in the PDF is the invoice; read it first."""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

from lxml import etree
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from pipeline.vat import VatLine

log = logging.getLogger(__name__)

# Attachment names the standards use (Factur-X, ZUGFeRD 2.x, ZUGFeRD 1.0, XRechnung).
XML_NAMES: Final = (
    "factur-x.xml",
    "zugferd-invoice.xml",
    "zugferd-invoice.xml".upper(),
    "ZUGFeRD-invoice.xml",
    "xrechnung.xml",
)


@dataclass(frozen=True, slots=True)
class CrossIndustryInvoice:
    """The header fields of a CII invoice (D16B or ZUGFeRD 1.0)."""

    attachment: str
    invoice_number: str | None
    type_code: str | None
    issue_date: dt.date | None
    issuer_name: str | None
    issuer_tax_id: str | None
    buyer_name: str | None
    buyer_tax_id: str | None
    currency: str | None
    total: Decimal | None
    tax_total: Decimal | None
    tax_basis_total: Decimal | None
    due_payable: Decimal | None
    vat_lines: tuple[VatLine, ...]
    iban: str | None


def embedded_invoice_xml(pdf: Path | bytes) -> tuple[str, bytes] | None:
    """(attachment name, XML bytes) of the invoice embedded in ``pdf``, or None.

    A damaged attachment counts as none: the invoice is then read from the page text.
    """
    try:
        reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)
        attachments = reader.attachments
        names = list(attachments.keys())
    except (PyPdfError, ValueError, KeyError, TypeError):
        return None
    wanted = {n.lower() for n in XML_NAMES}
    for name in names:
        if name.lower() in wanted or name.lower().endswith(".xml"):
            try:
                content = attachments[name]
            # A broken file tree trips pypdf anywhere (a missing /EF, a null stream, a bad
            # filter), each with its own exception type.
            except Exception as error:
                log.warning("unreadable attachment %r: %r", name, error)
                continue
            if content and b"CrossIndustry" in content[0][:4000]:
                return name, content[0]
    return None


def _local(path: str) -> str:
    """A namespace-agnostic XPath ("a/b" → "*[local-name()='a']/*[local-name()='b']")."""
    return "/".join(f"*[local-name()='{step}']" for step in path.split("/"))


def _first(node: etree._Element, path: str) -> etree._Element | None:
    found = node.xpath(".//" + _local(path))
    return found[0] if found else None


def _either(node: etree._Element, *paths: str) -> etree._Element | None:
    for path in paths:
        if (found := _first(node, path)) is not None:
            return found
    return None


def _text(node: etree._Element | None, path: str) -> str | None:
    if node is None:
        return None
    found = _first(node, path)
    return found.text.strip() if found is not None and found.text else None


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def _party_tax_id(party: etree._Element | None) -> str | None:
    if party is None:
        return None
    ids = {
        node.get("schemeID"): (node.text or "").strip()
        for node in party.xpath(_local("SpecifiedTaxRegistration/ID"))
    }
    return ids.get("VA") or ids.get("FC") or next(iter(ids.values()), None)


def parse_cii(name: str, data: bytes) -> CrossIndustryInvoice:
    """Fields of a CII XML (``name`` is the attachment name). Raises ValueError if not XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise ValueError(f"embedded XML not well-formed: {error}") from error
    document = _either(root, "ExchangedDocument", "HeaderExchangedDocument")
    seller, buyer = _first(root, "SellerTradeParty"), _first(root, "BuyerTradeParty")
    settlement = _either(
        root, "ApplicableHeaderTradeSettlement", "ApplicableSupplyChainTradeSettlement"
    )
    currency = _text(settlement, "InvoiceCurrencyCode")
    raw_date = _text(document, "IssueDateTime/DateTimeString")
    try:
        issue_date = dt.datetime.strptime(raw_date or "", "%Y%m%d").date()
    except ValueError:
        issue_date = None
    summation = None
    lines: list[VatLine] = []
    if settlement is not None:
        # D16B says "Header"; ZUGFeRD 1.0 does not.
        summation = _either(
            settlement,
            "SpecifiedTradeSettlementHeaderMonetarySummation",
            "SpecifiedTradeSettlementMonetarySummation",
        )
        for tax in settlement.xpath(_local("ApplicableTradeTax")):
            rate = _text(tax, "RateApplicablePercent") or _text(tax, "ApplicablePercent")
            lines.append(
                VatLine(
                    rate=_decimal(rate) or Decimal(0),
                    base=_decimal(_text(tax, "BasisAmount")) or Decimal(0),
                    amount=_decimal(_text(tax, "CalculatedAmount")) or Decimal(0),
                )
            )

    def amount(label: str) -> Decimal | None:
        if summation is None:
            return None
        nodes = summation.xpath(_local(label))
        # Foreign-currency invoices repeat the tax total in the tax currency: take the invoice's.
        chosen = next((n for n in nodes if n.get("currencyID") in {None, currency}), None)
        chosen = chosen if chosen is not None else (nodes[0] if nodes else None)
        return _decimal((chosen.text or "").strip()) if chosen is not None else None

    return CrossIndustryInvoice(
        attachment=name,
        invoice_number=_text(document, "ID"),
        type_code=_text(document, "TypeCode"),
        issue_date=issue_date,
        issuer_name=_text(seller, "Name"),
        issuer_tax_id=_party_tax_id(seller),
        buyer_name=_text(buyer, "Name"),
        buyer_tax_id=_party_tax_id(buyer),
        currency=currency,
        total=amount("GrandTotalAmount"),
        tax_total=amount("TaxTotalAmount"),
        tax_basis_total=amount("TaxBasisTotalAmount"),
        due_payable=amount("DuePayableAmount"),
        vat_lines=tuple(lines),
        iban=_text(settlement, "IBANID"),
    )


def read_facturx(pdf: Path | bytes) -> CrossIndustryInvoice | None:
    """The embedded invoice of a Factur-X/ZUGFeRD PDF, or None for a plain PDF."""
    found = embedded_invoice_xml(pdf)
    if found is None:
        return None
    try:
        return parse_cii(*found)
    except ValueError:
        return None
