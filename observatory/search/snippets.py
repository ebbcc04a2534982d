"""Snippets: pieces of a result's text around the searched words, the words in <mark>."""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

from observatory.search.index import TEXT_FIELDS

#: Snippets are cut from the start of a text, up to this many characters.
SNIPPET_SOURCE_CHARS = 4_000
#: Each vowel and its accented forms in Italian (and its acute accent, often typed for the grave).
_ACCENTED = {"a": "aàá", "e": "eèé", "i": "iìí", "o": "oòó", "u": "uùú"}


def _letters(stem: str) -> str:
    """A pattern for ``stem`` that also matches its last vowel accented (montu: mont[uùú]): Italian
    accents a word's last vowel, which a stem ends with when nothing was cut off."""
    last = stem[-1:]
    if last in _ACCENTED:
        return re.escape(stem[:-1]) + f"[{_ACCENTED[last]}]"
    return re.escape(stem)


@lru_cache(maxsize=256)
def words_pattern(stems: frozenset[str]) -> re.Pattern:
    """The words a set of stems stands for, in a text as written: a stem is the start of its words
    ("amministr" → "Amministrazione"), whatever their case and a final accent (Cantù, città)."""
    alternatives = "|".join(_letters(stem) for stem in sorted(stems, key=len, reverse=True))
    return re.compile(r"\b(?:" + alternatives + r")\w*", re.IGNORECASE)


def highlights(stored: dict[int, dict], query) -> dict[int, str]:
    """Snippets of the bodies of the documents ``stored`` (docnum → stored fields) around the words
    of ``query``, by docnum."""
    stems = frozenset(text for fieldname, text in query.iter_all_terms() if fieldname in TEXT_FIELDS)
    if not stems:
        return {}
    pattern = words_pattern(stems)
    result = {}
    for docnum, fields in stored.items():
        snippet = make_snippet((fields.get("body") or "")[:SNIPPET_SOURCE_CHARS], pattern)
        if snippet:
            result[docnum] = snippet
    return result


def make_snippet(text: str, pattern: re.Pattern, width: int = 110, fragments: int = 2) -> str | None:
    """Up to ``fragments`` pieces of ``text`` around matches of ``pattern``, matches in <mark>, escaped."""
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    pieces, end_of_last = [], -1
    for match in matches:
        if len(pieces) == fragments:
            break
        if match.start() < end_of_last:
            continue
        start = max(0, match.start() - width // 2)
        end = min(len(text), match.end() + width)
        inside = [m for m in matches if m.start() >= start and m.end() <= end]
        html, cursor = [], start
        for m in inside:
            html += [escape(text[cursor : m.start()]), "<mark>", escape(text[m.start() : m.end()]), "</mark>"]
            cursor = m.end()
        html.append(escape(text[cursor:end]))
        prefix = "… " if start > 0 else ""
        suffix = " …" if end < len(text) else ""
        pieces.append(prefix + "".join(html).strip() + suffix)
        end_of_last = end
    return " ".join(pieces)
