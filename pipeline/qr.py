"""Verifactu (AEAT) and TicketBAI (País Vasco) QR codes: decode from page images, parse.

Their issuer NIF, number, date and total are exact (no OCR error): they win over text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final
from urllib.parse import parse_qs, urlsplit

import zxingcpp
from PIL import Image

from pipeline.fields import compact_tax_id, is_valid_tax_id


class QrKind(StrEnum):
    """Which fiscal QR a code is."""

    verifactu = "verifactu"
    ticketbai = "ticketbai"


VERIFACTU_HOSTS: Final = frozenset({"www2.agenciatributaria.gob.es", "prewww2.aeat.es"})
VERIFACTU_PATHS: Final = ("/ValidarQR", "/ValidarQRNoVerifactu")
TICKETBAI_HOSTS: Final = frozenset(
    {
        "batuz.eus",
        "tbai.egoitza.gipuzkoa.eus",
        "tbai.prep.gipuzkoa.eus",
        "ticketbai.araba.eus",
    }
)


@dataclass(frozen=True, slots=True)
class FiscalQr:
    """What a fiscal QR says; ``problems`` lists what did not check out."""

    kind: QrKind
    url: str
    nif: str
    number: str
    series: str
    date: dt.date | None
    total: Decimal | None
    problems: tuple[str, ...] = ()


def crc8(data: bytes) -> int:
    """CRC-8, polynomial 0x07, initial value 0 (the TicketBAI check)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def parse_fiscal_qr(text: str) -> FiscalQr | None:
    """A FiscalQr when ``text`` is a Verifactu or TicketBAI URL, else None."""
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return None
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    if parts.hostname in VERIFACTU_HOSTS and parts.path.endswith(VERIFACTU_PATHS):
        return _verifactu(text, query)
    if parts.hostname in TICKETBAI_HOSTS and "id" in query:
        return _ticketbai(text, query)
    return None


def _amount(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def _verifactu(url: str, query: dict[str, str]) -> FiscalQr:
    problems: list[str] = []
    nif = compact_tax_id(query.get("nif", ""))
    if not is_valid_tax_id(nif):
        problems.append(f"QR NIF {nif!r} fails its check")
    try:
        date = dt.datetime.strptime(query.get("fecha", ""), "%d-%m-%Y").date()
    except ValueError:
        date = None
        problems.append(f"QR date {query.get('fecha')!r} is not DD-MM-AAAA")
    total = _amount(query.get("importe"))
    if total is None:
        problems.append("QR amount missing or unreadable")
    return FiscalQr(
        QrKind.verifactu, url, nif, query.get("numserie", ""), "", date, total, tuple(problems)
    )


def _ticketbai(url: str, query: dict[str, str]) -> FiscalQr:
    problems: list[str] = []
    identifier = query.get("id", "")
    parts = identifier.split("-")
    nif = compact_tax_id(parts[1]) if len(parts) == 5 else ""
    date = None
    if len(parts) == 5:
        try:
            date = dt.datetime.strptime(parts[2], "%d%m%y").date()
        except ValueError:
            problems.append(f"TicketBAI id date {parts[2]!r} unreadable")
        if parts[4] != f"{crc8(identifier[:36].encode()):03d}":
            problems.append("TicketBAI id CRC does not match")
    else:
        problems.append("TicketBAI id malformed")
    if nif and not is_valid_tax_id(nif):
        problems.append(f"QR NIF {nif!r} fails its check")
    cut = url.rfind("&cr=")
    if cut < 0 or query.get("cr") != f"{crc8(url[:cut].encode()):03d}":
        problems.append("TicketBAI URL CRC does not match")
    total = _amount(query.get("i"))
    return FiscalQr(
        QrKind.ticketbai,
        url,
        nif,
        query.get("nf", ""),
        query.get("s", ""),
        date,
        total,
        tuple(problems),
    )


def decode_fiscal_qrs(images: Iterable[Image.Image]) -> list[FiscalQr]:
    """Every Verifactu/TicketBAI QR found on ``images`` (page renders or photos), in order."""
    found: list[FiscalQr] = []
    for image in images:
        for barcode in zxingcpp.read_barcodes(
            image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
        ):
            parsed = parse_fiscal_qr(barcode.text)
            if parsed is not None and parsed not in found:
                found.append(parsed)
    return found
