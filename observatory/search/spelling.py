"""Spelling: «Forse cercavi», the reader's words with unknown or rare ones replaced by the closest
word of the catalogue that, with the other words, finds the most processes.

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
    """The correction of the unit's word: among the closest words of the catalogue, the one that
    with the other words (``others``: what they find) finds the most processes, more than the word
    as typed (three times as many when that finds some). A word's stem may stand for other words
    too (para and pari: par), so a word is taken to find at most the processes that have it."""
    word = unit.words[0]
    if not word.folded.isalpha() or len(word.folded) < 3:
        return None
    if int((unit.exact_mask & arrays.live).sum()) >= RARE_WORD:
        return None
    own = int((unit.exact_mask & others).sum())
    nearby = arrays.nearby_words(word.folded, max(1, typos.allowed_edits(word.folded)))
    best, best_found = None, 0
    for candidate in sorted(
        nearby, key=lambda candidate: (nearby[candidate][0], -nearby[candidate][1], candidate)
    ):
        edits, documents = nearby[candidate]
        if best is not None and (edits > nearby[best][0] or documents <= best_found):
            break  # farther, or in too few processes to find more
        stem = stem_of(candidate)
        if stem == word.stem:
            continue
        found = int((arrays.scorer.any_term([(name, stem, 1.0) for name in TEXT_FIELDS])[0] & others).sum())
        found = min(found, documents)
        if found > max(own, best_found) and found >= 3 * own:
            best, best_found = candidate, found
    return best


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
