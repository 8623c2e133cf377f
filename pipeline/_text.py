"""Text folding shared by the keyword and field matchers (private to the package)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    lowered = bare.lower()
    if len(lowered) == 1:
        return lowered  # "É" -> "e", "º" -> "o"
    # Characters that would expand ("ß", "ﬁ") or vanish keep their place as they are.
    return char.lower() if len(char.lower()) == 1 else char


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents, one output character per input character.

    Keeping positions aligned lets a match found in the folded text be cut from the original.
    """
    return "".join(_fold_char(char) for char in text)

