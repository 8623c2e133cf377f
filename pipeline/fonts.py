"""Fonts for the PDFs Papeleo draws (payslips, Facturae copies).

Helvetica, built into every PDF reader, has only Western European letters (Windows-1252): a
Romanian "Ștefan Rădulescu" or a Polish "Łukasz" came out as black squares. Text outside it
is drawn in DejaVu Sans Condensed (Debian's fonts-dejavu-extra), Helvetica's widths with every
European alphabet, embedded as a subset: only the PDFs that need it grow (about 15 KB).
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Final

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT: Final = "Helvetica"
BOLD: Final = "Helvetica-Bold"
WIDE_FONT: Final = "PapeleoSans"
WIDE_BOLD: Final = "PapeleoSans-Bold"
WIDE_FILES: Final = {
    WIDE_FONT: "DejaVuSansCondensed.ttf",
    WIDE_BOLD: "DejaVuSansCondensed-Bold.ttf",
}
FONT_FOLDERS: Final = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))

log = logging.getLogger(__name__)


def font_for(text: str, *, bold: bool = False) -> str:
    """Helvetica where it has every letter of ``text``, else the wide font (if installed)."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        if _wide_font_registered():
            return WIDE_BOLD if bold else WIDE_FONT
    return BOLD if bold else FONT


@cache
def _wide_font_registered() -> bool:
    for folder in FONT_FOLDERS:
        if all((folder / name).is_file() for name in WIDE_FILES.values()):
            for font, name in WIDE_FILES.items():
                pdfmetrics.registerFont(TTFont(font, str(folder / name)))
            return True
    log.warning("DejaVu Sans Condensed not found: letters outside Windows-1252 print as boxes")
    return False
