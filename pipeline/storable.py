"""Text from the wild made storable: databases refuse lone UTF-16 surrogates and NUL."""

from __future__ import annotations


def storable(text: str) -> str:
    """``text`` as valid Unicode: surrogate pairs joined, lone surrogates and NULs dropped.

    pypdf gives UTF-16 halves for characters outside the BMP (the phone and mail icons of a
    letterhead) when a font's ToUnicode map splits them; databases refuse them, and NUL bytes.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        text = joined.replace("\ufffd", "")
    return text.replace("\x00", "")
