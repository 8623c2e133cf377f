"""Merging one-page payslips into ONE PDF with a bookmark (outline item) per employee.

In: (bookmark title, PDF file) pairs, already in the order wanted. Out: the merged PDF written
to a path. Streamed: each file is read with pypdf, its pages' objects are written out at once
and the file is let go, so memory stays flat however many payslips a bundle has. Objects that
are byte-identical across payslips (the fonts, resources) are written once and shared, so
1,000 payslips do not carry 1,000 copies of the same font dictionaries.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)

HEADER: Final = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"  # the binary comment marks the file as binary
# Not copied from a page: its place in the source's page tree, and links into a structure
# tree this file does not have.
PAGE_KEYS_LEFT_OUT: Final = frozenset({"/Parent", "/StructParents"})


@dataclass(frozen=True, slots=True)
class MergedBundle:
    pages: int
    bookmarks: int
    size: int


def merge_payslips(
    items: Iterable[tuple[str, Path | BinaryIO]], output: Path
) -> MergedBundle:
    """Concatenate every page of each file, one bookmark per file at its first page.

    A file is a path or a seekable binary stream; ``items`` may be a generator, so no more
    than one payslip need be in memory at a time.
    """
    with output.open("wb") as stream:
        pdf = _PdfStream(stream)
        pages_ref, outlines_ref, catalog_ref = pdf.reserve(), pdf.reserve(), pdf.reserve()
        kids: list[IndirectObject] = []
        bookmarks: list[tuple[str, IndirectObject]] = []
        for title, source in items:
            copier = _Copier(pdf)
            reader = PdfReader(source)
            first = len(kids)
            for page in reader.pages:
                kids.append(pdf.write(copier.page(page, pages_ref)))  # a page is never shared
            if len(kids) == first:
                raise ValueError(f"the PDF of {title!r} has no page to merge")
            bookmarks.append((title, kids[first]))
        pdf.write(
            _dictionary(Type=NameObject("/Pages"), Kids=ArrayObject(kids), Count=len(kids)),
            at=pages_ref,
        )
        _write_outline(pdf, outlines_ref, bookmarks)
        pdf.write(
            _dictionary(
                Type=NameObject("/Catalog"),
                Pages=pages_ref,
                Outlines=outlines_ref,
                PageMode=NameObject("/UseOutlines"),  # open with one line per employee shown
            ),
            at=catalog_ref,
        )
        pdf.finish(catalog_ref)
    return MergedBundle(pages=len(kids), bookmarks=len(bookmarks), size=output.stat().st_size)


def _write_outline(
    pdf: _PdfStream, outlines_ref: IndirectObject, bookmarks: list[tuple[str, IndirectObject]]
) -> None:
    """The bookmark panel: one top-level item per file, each opening its first page."""
    refs = [pdf.reserve() for _ in bookmarks]
    for index, ((title, page), ref) in enumerate(zip(bookmarks, refs, strict=True)):
        item = _dictionary(
            Title=TextStringObject(title),
            Parent=outlines_ref,
            Dest=ArrayObject([page, NameObject("/Fit")]),
        )
        if index > 0:
            item[NameObject("/Prev")] = refs[index - 1]
        if index + 1 < len(refs):
            item[NameObject("/Next")] = refs[index + 1]
        pdf.write(item, at=ref)
    outlines = _dictionary(Type=NameObject("/Outlines"), Count=len(refs))
    if refs:
        outlines[NameObject("/First")] = refs[0]
        outlines[NameObject("/Last")] = refs[-1]
    pdf.write(outlines, at=outlines_ref)


def _dictionary(**entries: PdfObject | int) -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject(f"/{key}"): NumberObject(value) if isinstance(value, int) else value
            for key, value in entries.items()
        }
    )


class _PdfStream:
    """Writes numbered objects straight to the file and the cross-reference table at the end.

    `write(..., shared=True)` stores an object once: a later byte-identical one gets the
    number of the first.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._offsets: dict[int, int] = {}
        self._by_digest: dict[bytes, IndirectObject] = {}
        self._next = 1
        self._id = hashlib.md5(usedforsecurity=False)  # the file identifier: same bytes, same id
        self._emit(HEADER)

    def _emit(self, data: bytes) -> None:
        self._stream.write(data)
        self._id.update(data)

    def reserve(self) -> IndirectObject:
        """A number for an object written later (one that others refer to first)."""
        number, self._next = self._next, self._next + 1
        return IndirectObject(number, 0, None)

    def write(
        self, obj: PdfObject, *, at: IndirectObject | None = None, shared: bool = False
    ) -> IndirectObject:
        buffer = io.BytesIO()
        obj.write_to_stream(buffer)
        body = buffer.getvalue()
        digest = hashlib.sha256(body).digest() if shared else b""
        if shared and digest in self._by_digest:
            return self._by_digest[digest]
        ref = at if at is not None else self.reserve()
        self._offsets[ref.idnum] = self._stream.tell()
        self._emit(b"%d 0 obj\n%b\nendobj\n" % (ref.idnum, body))
        if shared:
            self._by_digest[digest] = ref
        return ref

    def finish(self, root: IndirectObject) -> None:
        """The cross-reference table and the trailer; every reserved number must be written."""
        missing = set(range(1, self._next)) - self._offsets.keys()
        if missing:
            raise RuntimeError(f"objects reserved and never written: {sorted(missing)}")
        start = self._stream.tell()
        file_id = self._id.hexdigest().encode()
        lines = [b"xref\n0 %d\n0000000000 65535 f \n" % self._next]
        lines += [b"%010d 00000 n \n" % self._offsets[n] for n in range(1, self._next)]
        lines.append(
            b"trailer\n<< /Size %d /Root %d 0 R /ID [<%b> <%b>] >>\nstartxref\n%d\n%%%%EOF\n"
            % (self._next, root.idnum, file_id, file_id, start)
        )
        self._stream.write(b"".join(lines))


class _Copier:
    """Copies the objects one source file's pages use, renumbered, each written once."""

    def __init__(self, pdf: _PdfStream) -> None:
        self._pdf = pdf
        self._copied: dict[int, IndirectObject] = {}  # source object number → ours
        self._copying: set[int] = set()

    def page(self, page: DictionaryObject, parent: IndirectObject) -> DictionaryObject:
        """The page dictionary (inherited attributes included) under its new parent."""
        copied = DictionaryObject(
            {
                NameObject(key): self.copy(value)
                for key, value in page.items()
                if key not in PAGE_KEYS_LEFT_OUT
            }
        )
        copied[NameObject("/Parent")] = parent
        return copied

    def copy(self, value: PdfObject) -> PdfObject:
        if isinstance(value, IndirectObject):
            return self._copy_reference(value)
        if isinstance(value, StreamObject):
            stream = DecodedStreamObject()
            for key, item in value.items():
                if key != "/Length":  # rewritten from the data (it may be a reference)
                    stream[NameObject(key)] = self.copy(item)
            # The bytes as stored, still encoded: copied, never decoded and encoded again.
            stream.set_data(value._data)
            return stream
        if isinstance(value, DictionaryObject):
            return DictionaryObject({NameObject(k): self.copy(v) for k, v in value.items()})
        if isinstance(value, ArrayObject):
            return ArrayObject(self.copy(item) for item in value)
        return value  # names, numbers, strings, booleans, null: immutable, shared as they are

    def _copy_reference(self, ref: IndirectObject) -> IndirectObject:
        number = ref.idnum
        if number in self._copied:
            return self._copied[number]
        if number in self._copying:
            # Objects pointing back at their page (annotations): payslips have none.
            raise ValueError(f"object {number} refers back to itself; cannot stream it")
        self._copying.add(number)
        target = ref.get_object()
        copied = self._pdf.write(self.copy(NullObject() if target is None else target), shared=True)
        self._copying.discard(number)
        self._copied[number] = copied
        return copied
