"""Text helpers shared by every part: folding names for matching, and slugs."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "‛": "'"})
_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lowercase, accent-free, punctuation-free form of ``text`` ("Città di Torino" → "citta di torino")."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text).strip()


def slugify(text: str, max_length: int = 80) -> str:
    """URL slug of ``text``: ASCII, lowercase, words joined by hyphens, at most ``max_length``."""
    slug = fold(text).replace(" ", "-")[:max_length].strip("-")
    return slug or "voce"


def clean(text: str | None) -> str | None:
    """Trim ``text``, collapse runs of blanks inside lines, and turn an empty result into None."""
    if text is None:
        return None
    lines = [" ".join(line.split()) for line in str(text).replace("\r\n", "\n").split("\n")]
    joined = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return joined or None
