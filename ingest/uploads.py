"""Receiving uploaded files: streamed into object storage while hashed and measured."""

from __future__ import annotations

import hashlib
import io
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO, Final, cast

from storage.keys import ObjectRole, object_key
from storage.models import new_id
from storage.objects import ObjectStore


class HashingReader(io.RawIOBase):
    """Wraps a stream: counts and hashes what the store reads from it.

    Stores only call ``read(n)``, so it passes reads straight through: no buffer in between.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(-1 if size is None else size)
        self.sha256.update(data)
        self.size += len(data)
        return data


# Unicode categories dropped from names: controls, format characters, surrogates.
_UNPRINTABLE: Final = frozenset({"Cc", "Cf", "Cs"})


@dataclass(frozen=True, slots=True)
class StoredUpload:
    document_id: str
    key: str
    size: int
    sha256: str


def store_upload(
    store: ObjectStore,
    stream: BinaryIO,
    *,
    company_id: int,
    fiscal_year: int,
    file_name: str,
    content_type: str | None,
    length: int = -1,
) -> StoredUpload:
    """Stream one uploaded file into the store under a new document id."""
    document_id = new_id()
    key = object_key(company_id, fiscal_year, document_id, ObjectRole.ORIGINAL, file_name)
    reader = HashingReader(stream)
    store.put(
        key,
        cast(BinaryIO, reader),
        length=length,
        content_type=content_type or "application/octet-stream",
    )
    return StoredUpload(document_id, key, reader.size, reader.sha256.hexdigest())


def clean_name(name: str) -> str:
    """A file name as people and databases can take it: NFC, without control or format
    characters (NUL, which PostgreSQL refuses; bidi overrides, which can disguise an
    extension: "factura\u202efdp.exe"), lone surrogates, or surrounding blanks; at most 255."""
    composed = unicodedata.normalize("NFC", name)
    kept = "".join(c for c in composed if unicodedata.category(c) not in _UNPRINTABLE)
    return kept.strip()[:255]


def display_name_for(original_name: str, chosen: str | None, index: int, count: int) -> str:
    """The name shown in the history: the uploader's rename, numbered when several files."""
    original = clean_name(PurePath(original_name.replace("\\", "/")).name) or "documento"
    chosen = clean_name(chosen or "")
    if not chosen:
        return original
    name = chosen
    suffix = PurePath(original).suffix
    if suffix and not name.lower().endswith(suffix.lower()):
        name = f"{name}{' ' + str(index + 1) if count > 1 else ''}{suffix.lower()}"
    elif count > 1:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem} {index + 1}.{ext}" if dot else f"{name} {index + 1}"
    return name[:255]
