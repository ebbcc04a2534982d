"""Snippets: pieces of a result's text around the searched words, the words in <mark>."""

from __future__ import annotations

import re
from html import escape

from whoosh.support.charset import accent_map

from observatory.search.index import TEXT_FIELDS

#: Snippets are cut from the start of a text, up to this many characters.
SNIPPET_SOURCE_CHARS = 4_000
#: Accented letters → plain ones, one character for one, so positions stay those of the text.
_FOLD_SAME_LENGTH = {k: v for k, v in accent_map.items() if isinstance(v, str) and len(v) == 1}


def highlights(searcher, docnums: list[int], query) -> dict[int, str]:
    """Snippets of the bodies of ``docnums`` around the words of ``query``, by docnum."""
    stems = {text for fieldname, text in query.iter_all_terms() if fieldname in TEXT_FIELDS}
    if not stems:
        return {}
    # A stem is the start of the words it stands for ("amministr" → "amministrazione"), so the
    # words are found with one expression on the lower-cased, accent-free text.
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(stems, key=len, reverse=True))) + r")\w*")
    result = {}
    for docnum in docnums:
        text = (searcher.stored_fields(docnum).get("body") or "")[:SNIPPET_SOURCE_CHARS]
        snippet = make_snippet(text, pattern)
        if snippet:
            result[docnum] = snippet
    return result


def make_snippet(text: str, pattern: re.Pattern, width: int = 110, fragments: int = 2) -> str | None:
    """Up to ``fragments`` pieces of ``text`` around matches of ``pattern``, matches in <mark>, escaped."""
    folded = text.lower().translate(_FOLD_SAME_LENGTH)
    matches = list(pattern.finditer(folded))
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
