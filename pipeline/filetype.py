"""Detect an upload's real type from its first bytes (never from its name)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pipeline.errors import DocumentError, ErrorCode


class FileType(StrEnum):
    """Accepted upload types, valued by MIME type."""

    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"
    TIFF = "image/tiff"
    WEBP = "image/webp"
    HEIC = "image/heic"
    BMP = "image/bmp"
    GIF = "image/gif"
    XML = "application/xml"  # Facturae e-invoices (.xml, signed .xsig)


HEAD_SIZE: Final = 4096
# Some scanners and mail gateways prepend junk before the header; readers tolerate 1 KiB.
_PDF_SEARCH: Final = 1024
_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis",
                                 b"mif1", b"msf1"})
_PREFIXES: Final[tuple[tuple[bytes, FileType], ...]] = (
    (b"\xff\xd8\xff", FileType.JPEG),
    (b"\x89PNG\r\n\x1a\n", FileType.PNG),
    (b"II*\x00", FileType.TIFF),
    (b"MM\x00*", FileType.TIFF),
    (b"II+\x00", FileType.TIFF),  # BigTIFF
    (b"MM\x00+", FileType.TIFF),
    (b"GIF87a", FileType.GIF),
    (b"GIF89a", FileType.GIF),
    (b"BM", FileType.BMP),
)


def _is_heif(head: bytes) -> bool:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return False
    box_size = int.from_bytes(head[0:4], "big")
    # The major brand sits at 8..12, compatible brands follow up to the end of the box.
    end = min(box_size if box_size >= 16 else 12, len(head))
    brands = [head[8:12], *(head[i:i + 4] for i in range(16, end - 3, 4))]
    return any(brand in _HEIF_BRANDS for brand in brands)


def detect_type(head: bytes) -> FileType:
    """Return the FileType of a file from its first bytes (``head``, up to 4096 bytes).

    Raises DocumentError(empty_file) for no bytes, DocumentError(unsupported_type) otherwise.
    """
    if not head:
        raise DocumentError(ErrorCode.empty_file, "zero bytes")
    if b"%PDF-" in head[:_PDF_SEARCH]:
        return FileType.PDF
    for prefix, file_type in _PREFIXES:
        if head.startswith(prefix):
            # "BM" alone is weak evidence; a BMP header is at least 26 bytes with a DIB size.
            if file_type is FileType.BMP and not _is_bmp(head):
                continue
            return file_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileType.WEBP
    if _is_heif(head):
        return FileType.HEIC
    if _is_xml(head):
        return FileType.XML
    raise DocumentError(ErrorCode.unsupported_type, f"unknown magic {head[:16]!r}")


def _is_bmp(head: bytes) -> bool:
    if len(head) < 18:
        return False
    dib_size = int.from_bytes(head[14:18], "little")
    return dib_size in {12, 40, 52, 56, 64, 108, 124}


def _is_xml(head: bytes) -> bool:
    """An XML document: optional BOM and whitespace, then a declaration or a root element."""
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return body.startswith(b"<?xml") or (
        body.startswith(b"<") and body[1:2].isalpha() and b">" in body
    )
