"""Spelling: «Forse cercavi», the reader's words with unknown or rare ones replaced by the close
word of the catalogue that makes the whole text find the most processes.

Every word of the catalogue may be a correction, rare ones included (the vocabulary of
typos.Deletions); a correction is proposed only when it finds processes, more than the word as
typed does.
"""

from __future__ import annotations

import numpy as np

from observatory.search import typos
from observatory.search.facets import FacetArrays
from observatory.search.index import TEXT_FIELDS
from observatory.search.matching import Unit, stem_of

#: A word found in fewer processes than this may be a typo worth a correction.
RARE_WORD = 3


def _correction_of(arrays: FacetArrays, unit: Unit, others: np.ndarray) -> str | None:
    """The closest word to the unit's word that, with the other words (``others``: what they find),
    finds the most processes: more than the word as typed, three times as many when that finds some."""
    word = unit.words[0]
    if not word.folded.isalpha() or len(word.folded) < 3:
        return None
    own = int((unit.exact_mask & others).sum())
    if int((unit.exact_mask & arrays.live).sum()) >= RARE_WORD:
        return None
    distance = max(1, typos.allowed_edits(word.folded))  # words under 5 letters too
    best = None
    for candidate, edits in arrays.nearby_words(word.folded, distance).items():
        stem = stem_of(candidate)
        if stem == word.stem:
            continue
        terms = [(name, stem, 1.0) for name in TEXT_FIELDS]
        found = int((arrays.scorer.any_term(terms)[0] & others).sum())
        if found > own and found >= 3 * own:
            key = (edits, -found, candidate)
            best = key if best is None or key < best else best
    return best[2] if best else None


def correction(arrays: FacetArrays, units: list[Unit]) -> tuple[str, list[str]] | None:
    """The text of ``units`` with each single word that is unknown or rare replaced by its
    correction, and the corrections; None when no word has one."""
    masks = [unit.mask & arrays.live for unit in units]
    words, corrected = [], []
    for number, unit in enumerate(units):
        replacement = None
        if unit.single:
            others = arrays.live.copy()
            for other, mask in enumerate(masks):
                if other != number:
                    others &= mask
            replacement = _correction_of(arrays, unit, others)
        if replacement is not None:
            corrected.append(replacement)
        words.append(replacement or unit.text)
    return (" ".join(words), corrected) if corrected else None
