"""Object keys: the one place where object-storage keys are built.

Layout: ``companies/{company_id}/{fiscal_year}/{document_id}/{role}/{file_name}``.
Every part is validated or sanitised here, so no user input reaches a key unsanitised.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Final

MAX_FILE_NAME_LENGTH: Final = 120
MIN_FISCAL_YEAR: Final = 1900
MAX_FISCAL_YEAR: Final = 2999

_UNSAFE_RUN: Final = re.compile(r"[^A-Za-z0-9._-]+")
_UNDERSCORE_RUN: Final = re.compile(r"_{2,}")
_DIRECTORY_SEPARATORS: Final = re.compile(r"[/\\]")
# An extension is short and alphanumeric; anything longer is part of the name.
_WITH_EXTENSION: Final = re.compile(r"(.*)\.([A-Za-z0-9]{1,16})")
_SAFE_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DOCUMENT_ID: Final = re.compile(r"[0-9a-f]{32}")
_EDGE_PUNCTUATION: Final = "._-"


class ObjectRole(StrEnum):
    """What an object is to its document; the folder under the document id."""

    ORIGINAL = "original"
    NORMALIZED = "normalized"
    ARCHIVE = "archive"
    PAYSLIP = "payslip"
    BUNDLE = "bundle"
    DECRYPTED = "decrypted"  # an encrypted original opened with the uploader's password
    OCR_PAGE = "ocr-pages"  # per-page OCR results of a fanned-out scan


def safe_file_name(name: str, *, default: str = "document") -> str:
    """Turn any user-supplied name into a safe last path segment.

    Accents are dropped, anything outside ``[A-Za-z0-9._-]`` becomes ``_``, directory parts
    and leading dots/dashes go, the extension is lower-cased and kept when the name is cut
    to 120 characters; ``default`` stands in for a name that sanitises to nothing.
    """
    if not _SAFE_NAME.fullmatch(default) or len(default) > MAX_FILE_NAME_LENGTH:
        raise ValueError(f"default file name {default!r} is not itself a safe name")
    # Normalise before splitting: NFKD turns e.g. FULLWIDTH SOLIDUS into a real "/".
    decomposed = unicodedata.normalize("NFKD", name)
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    last_segment = _DIRECTORY_SEPARATORS.split(without_accents)[-1].strip()
    cleaned = _UNDERSCORE_RUN.sub("_", _UNSAFE_RUN.sub("_", last_segment))

    match = _WITH_EXTENSION.fullmatch(cleaned)
    # A bare dotfile (".bashrc") has no stem: its "extension" is its name.
    if match and match.group(1):
        stem = match.group(1).strip(_EDGE_PUNCTUATION) or default
        extension = match.group(2).lower()
    else:
        stem = cleaned.strip(_EDGE_PUNCTUATION)
        extension = ""
        if not stem:
            return default

    room = MAX_FILE_NAME_LENGTH - (len(extension) + 1 if extension else 0)
    # The stem starts with an alphanumeric character, so cutting never empties it.
    stem = stem[:room].rstrip(_EDGE_PUNCTUATION)
    return f"{stem}.{extension}" if extension else stem


def _check_company_id(company_id: int) -> None:
    # bool is an int subclass; True must not pass as company 1.
    if not isinstance(company_id, int) or isinstance(company_id, bool) or company_id <= 0:
        raise ValueError(f"company_id must be a positive integer, got {company_id!r}")


def object_key(
    company_id: int,
    fiscal_year: int,
    document_id: str,
    role: ObjectRole,
    file_name: str,
) -> str:
    """Build the object key of one file of a document; ValueError on an invalid part."""
    _check_company_id(company_id)
    if (
        not isinstance(fiscal_year, int)
        or isinstance(fiscal_year, bool)
        or not MIN_FISCAL_YEAR <= fiscal_year <= MAX_FISCAL_YEAR
    ):
        raise ValueError(
            f"fiscal_year must be between {MIN_FISCAL_YEAR} and {MAX_FISCAL_YEAR}, "
            f"got {fiscal_year!r}"
        )
    if not isinstance(document_id, str) or not _DOCUMENT_ID.fullmatch(document_id):
        raise ValueError(f"document_id must be a uuid4 hex string, got {document_id!r}")
    # ObjectRole(...) rejects a plain string that is not one of the roles.
    checked_role = ObjectRole(role)
    return (
        f"companies/{company_id}/{fiscal_year}/{document_id}/{checked_role}/"
        f"{safe_file_name(file_name)}"
    )


def company_prefix(company_id: int) -> str:
    """Prefix under which every object of a company lives (ends with ``/``)."""
    _check_company_id(company_id)
    return f"companies/{company_id}/"
