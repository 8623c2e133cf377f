"""Merging one-page payslips into ONE PDF with a bookmark (outline item) per employee.

In: (bookmark title, PDF file) pairs, already in the order wanted. Out: the merged PDF written
to a path. Objects that are byte-identical across payslips (the fonts, resources) are stored
once, so 1,000 payslips do not carry 1,000 copies of the same font dictionaries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader, PdfWriter


@dataclass(frozen=True, slots=True)
class MergedBundle:
    pages: int
    bookmarks: int
    size: int


def merge_payslips(items: Iterable[tuple[str, Path]], output: Path) -> MergedBundle:
    """Concatenate every page of each file, one bookmark per file at its first page."""
    writer = PdfWriter()
    bookmarks = 0
    for title, path in items:
        first_page = len(writer.pages)
        reader = PdfReader(path)
        for page in reader.pages:
            writer.add_page(page)
        writer.add_outline_item(title=title, page_number=first_page)
        bookmarks += 1
    writer.page_mode = "/UseOutlines"  # open with the bookmark panel: one line per employee
    # pypdf 7: the keyword-only form (remove_identicals/remove_orphans are gone).
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    with output.open("wb") as stream:
        writer.write(stream)
    return MergedBundle(pages=len(writer.pages), bookmarks=bookmarks, size=output.stat().st_size)
