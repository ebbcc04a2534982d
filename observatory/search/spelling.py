"""Spelling: "Forse cercavi", a much more frequent close word for rare or unknown ones."""

from __future__ import annotations

import rapidfuzz
from rapidfuzz.distance import Levenshtein

from observatory.search.analysis import italian_analyzer, spelling_analyzer

#: A word found in fewer documents than this may be a typo worth a "Forse cercavi".
RARE_WORD = 3
_ANALYZER = italian_analyzer()  # one instance: its stem cache then serves every search
_SPELLING = spelling_analyzer()


def correction(searcher, arrays, text: str) -> str | None:
    """The text with rare or unknown words replaced by a much more frequent close word, if any.

    ``arrays`` are the searcher's facets.FacetArrays, whose ``spelling`` holds the candidates.
    """
    reader = searcher.reader()
    words = [token.text for token in _SPELLING(text)]  # tokens are reused: copy the text
    out = []
    for word in words:
        frequency = reader.doc_frequency("spell", word)
        replacement = word
        stems = [token.text for token in _ANALYZER(word)]
        known_in_text = any(reader.doc_frequency("body", stem) >= RARE_WORD for stem in stems)
        if not word.isdigit() and frequency < RARE_WORD and not known_in_text:
            replacement = arrays.spelling.closest(word, at_least=3 * max(1, frequency)) or word
        out.append(replacement)
    return " ".join(out) if out != words else None


class SpellingWords:
    """The words readers may have meant: those of the spelling field found in several processes.

    Grouped by first letter (a typo rarely touches it); edit distances come from rapidfuzz.
    """

    def __init__(self, reader):
        groups: dict[str, tuple[list[str], list[int]]] = {}
        for term, info in reader.iter_field("spell"):
            frequency = info.doc_frequency()
            if frequency >= RARE_WORD:
                word = term.decode("utf-8") if isinstance(term, bytes) else term
                words, frequencies = groups.setdefault(word[:1], ([], []))
                words.append(word)
                frequencies.append(frequency)
        self._groups = groups

    def closest(self, word: str, at_least: int, max_distance: int = 2) -> str | None:
        """The closest word found in at least ``at_least`` processes; the most frequent on a tie."""
        words, frequencies = self._groups.get(word[:1], ((), ()))
        best = None
        for candidate, distance, position in rapidfuzz.process.extract_iter(
            word, words, scorer=Levenshtein.distance, score_cutoff=max_distance
        ):
            if candidate == word or frequencies[position] < at_least:
                continue
            key = (distance, -frequencies[position], candidate)
            if best is None or key < best:
                best = key
        return best[2] if best else None
