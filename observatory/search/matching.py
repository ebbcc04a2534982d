"""Plain queries matched forgivingly: a reader's words, with typos, accents left out, the word
still being typed, compounds written apart and synonyms, exact matches always ranked first.

A plain query (no quotes, operators or fields) is a list of *units*, each required:

- a word: its stem, and the stems of the words that are it once accents are folded (``qualita``
  also finds *qualità*, whose stem is ``qual``); a word of 5 letters or more also matches the
  catalogue's words within its allowed typos (typos.allowed_edits), and the last word the words it
  begins (``bilan``: *bilancio*): these are its *fuzzy* matches;
- two neighbouring words that the catalogue also writes as one (``co progettazione``,
  ``co-progettazione``: *coprogettazione*, which the index also keeps for every hyphenated pair);
- an expression of a group of synonyms (``PNRR``, ``piano nazionale di ripresa e resilienza``):
  any expression of its groups.

Processes are ranked by how many units they match exactly, then by relevance (BM25F, a fuzzy match
counting FUZZY_WEIGHT of an exact one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from whoosh import query as wq

from observatory.search import typos
from observatory.search.analysis import ItalianAnalyzer, italian_analyzer
from observatory.search.facets import FacetArrays
from observatory.search.index import TEXT_FIELDS
from observatory.search.synonyms import Synonyms

#: How much a fuzzy match of a word counts beside an exact one (which always ranks above it).
FUZZY_WEIGHT = np.float32(0.5)
#: Prefixes Italian writes joined, hyphenated or apart (coprogettazione, co-progettazione, co
#: progettazione): a word that begins with one also matches the two words side by side.
SEPARABLE_PREFIXES = tuple(
    "co auto eco bio ri pre post neo ex anti inter multi micro macro mini semi sotto sovra super "
    "extra socio agro euro geo tele info".split()
)
#: The shortest rest of a word, after such a prefix, that is taken for a word of its own.
SEPARABLE_REST = 4
_WORDS = ItalianAnalyzer(stem=False, minsize=1)  # a query's words, accents folded, stop words out
_STEMS = italian_analyzer()


@dataclass(frozen=True)
class Word:
    """A word of a reader's text: as typed (lower case), with accents folded, and its stem."""

    typed: str
    folded: str
    stem: str


def words_of(text: str) -> list[Word]:
    """The words of ``text`` that the index searches (stop words out), in order."""
    return [
        Word(typed := token.original.lower(), token.text, _STEMS.finish(typed))
        for token in _WORDS(text, keeporiginal=True)
    ]


def stem_of(word: str) -> str:
    """A lower-case word as the index keeps it: its stem, accents folded."""
    return _STEMS.finish(word)


@dataclass
class Unit:
    """A required part of a plain query, evaluated: its words, its exact and fuzzy matches."""

    words: list[Word]
    #: Its exact alternatives as a query (for snippets and the processes with most words).
    query: object
    exact_mask: np.ndarray
    exact_scores: np.ndarray
    #: Stems of close words and completions → the word each stands for.
    fuzzy: dict[str, str] = field(default_factory=dict)
    fuzzy_mask: np.ndarray | None = None
    fuzzy_scores: np.ndarray | None = None
    #: A single word (that spelling may correct), not a compound or a synonym's expression.
    single: bool = True

    @property
    def mask(self) -> np.ndarray:
        return self.exact_mask if self.fuzzy_mask is None else self.exact_mask | self.fuzzy_mask

    @property
    def text(self) -> str:
        return " ".join(word.typed for word in self.words)


@dataclass
class TextMatch:
    """What a text matches (every document when there is none), after any spelling correction."""

    mask: np.ndarray
    query: object | None = None
    scores: np.ndarray | None = None
    suggestion: str | None = None
    corrected_from: str | None = None
    corrected_text: str | None = None
    #: No process has every word: these have some of them, the most words first.
    partial: bool = False
    #: Words of the catalogue within a typo of the text's words that found processes.
    fuzzy: list[str] = field(default_factory=list)
    #: The units of a plain query (none for a query with syntax).
    units: list[Unit] = field(default_factory=list)


def _terms(stems) -> list[tuple[str, str, float]]:
    return [(name, stem, boost) for stem in stems for name, boost in TEXT_FIELDS.items()]


def _any_of(stems) -> wq.Query:
    """Any of ``stems`` in any text field, each with its boost (as the query parser builds it)."""
    return wq.Or([wq.Term(name, stem, boost=boost) for name, stem, boost in _terms(stems)])


def _phrase(stems: tuple[str, ...]) -> wq.Query:
    return wq.Or([wq.Phrase(name, list(stems), boost=boost) for name, boost in TEXT_FIELDS.items()])


def _expressions_unit(arrays: FacetArrays, words: list[Word], alternatives) -> Unit:
    """A unit matched by any of ``alternatives`` (tuples of stems), exactly."""
    single = [stems[0] for stems in alternatives if len(stems) == 1]
    mask, scores = arrays.scorer.any_term(_terms(single))
    parts = [_any_of(single)] if single else []
    for stems in alternatives:
        if len(stems) > 1:
            phrase = _phrase(stems)
            phrase_mask, phrase_scores = arrays.scorer.evaluate(phrase)
            mask, scores = mask | phrase_mask, scores + phrase_scores
            parts.append(phrase)
    return Unit(words, wq.Or(parts) if len(parts) > 1 else parts[0], mask, scores, single=False)


def _compound(arrays: FacetArrays, first: Word, second: Word) -> str | None:
    """The stem of two words written as one (co, progettazione: coprogettazione) when the catalogue
    has it, else None."""
    if not (first.folded.isalpha() and second.folded.isalpha()):
        return None
    joined = stem_of(first.typed + second.typed)
    if any(arrays.scorer.postings(name, joined)[0].size for name in TEXT_FIELDS):
        return joined
    return None


def _apart(arrays: FacetArrays, word: Word) -> list[tuple[str, str]]:
    """The stems of a word split after a separable prefix that the catalogue has as a word of its
    own (coprogettazione: co, progett)."""
    if not word.folded.isalpha():
        return []
    return [
        (stem_of(prefix), stem_of(word.typed[len(prefix) :]))
        for prefix in SEPARABLE_PREFIXES
        if word.folded.startswith(prefix)
        and len(word.folded) - len(prefix) >= SEPARABLE_REST
        and any(arrays.scorer.postings(name, stem_of(prefix))[0].size for name in TEXT_FIELDS)
    ]


def _word_unit(arrays: FacetArrays, word: Word, typing: bool) -> Unit:
    """A word, exactly (its stem and those of its accented forms) and fuzzily (close words; the
    words it begins when it is being typed)."""
    exact = {word.stem} | {stem_of(same) for same in arrays.same_words(word.folded)}
    close = arrays.close_words(word.folded, typos.allowed_edits(word.folded))
    candidates = sorted(close, key=lambda candidate: (close[candidate], candidate))
    if typing and word.folded.isalpha():
        candidates += arrays.completions(word.folded)
    fuzzy: dict[str, str] = {}
    for candidate in candidates:
        stem = stem_of(candidate)
        if stem not in exact:
            fuzzy.setdefault(stem, candidate)
    exact_mask, exact_scores = arrays.scorer.any_term(_terms(sorted(exact)))
    unit = Unit([word], _any_of(sorted(exact)), exact_mask, exact_scores)
    for apart in _apart(arrays, word):
        phrase = _phrase(apart)
        phrase_mask, phrase_scores = arrays.scorer.evaluate(phrase)
        if phrase_mask.any():
            unit.exact_mask, unit.exact_scores = exact_mask | phrase_mask, exact_scores + phrase_scores
            unit.query = wq.Or([unit.query, phrase])
    if fuzzy:
        unit.fuzzy = fuzzy
        unit.fuzzy_mask, unit.fuzzy_scores = arrays.scorer.any_term(_terms(fuzzy))
        unit.query = wq.Or([unit.query, _any_of(fuzzy)])
    return unit


def units_of(arrays: FacetArrays, words: list[Word], synonyms: Synonyms) -> list[Unit]:
    """The evaluated units of a plain query's words (the last one maybe still being typed)."""
    spans = {match.start: match for match in synonyms.matches([word.stem for word in words])}
    covered = {i for match in spans.values() for i in range(match.start, match.end)}
    units, at = [], 0
    while at < len(words):
        if at in spans:
            match = spans[at]
            units.append(_expressions_unit(arrays, words[match.start : match.end], match.alternatives))
            at = match.end
            continue
        following = words[at + 1] if at + 1 < len(words) and at + 1 not in covered else None
        joined = _compound(arrays, words[at], following) if following else None
        if joined:
            pair = (words[at].stem, following.stem)
            units.append(_expressions_unit(arrays, words[at : at + 2], [(joined,), pair]))
            at += 2
            continue
        units.append(_word_unit(arrays, words[at], typing=at == len(words) - 1))
        at += 1
    return units


def ranked(counts: np.ndarray, relevance: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Scores that rank the documents of ``mask`` by ``counts`` (of words matched), then by
    relevance: relevance is scaled below 1, so one more word always ranks first."""
    top = relevance[mask].max() if mask.any() else 0
    return (counts + relevance / (top + 1)) * mask


def every_unit(arrays: FacetArrays, units: list[Unit]) -> TextMatch:
    """The documents matching every unit, exactly or fuzzily, more exact units first."""
    mask = arrays.live.copy()
    exact_units = np.zeros(arrays.size, dtype=np.float32)
    relevance = np.zeros(arrays.size, dtype=np.float32)
    for unit in units:
        mask &= unit.mask
        exact_units += unit.exact_mask
        relevance += unit.exact_scores
        if unit.fuzzy_mask is not None:
            relevance += FUZZY_WEIGHT * unit.fuzzy_scores * ~unit.exact_mask
    fuzzy_found = []
    for unit in units:
        if unit.fuzzy:
            only_fuzzy = mask & ~unit.exact_mask
            for stem, candidate in unit.fuzzy.items():
                if any(only_fuzzy[arrays.scorer.postings(name, stem)[0]].any() for name in TEXT_FIELDS):
                    fuzzy_found.append(candidate)
    query = units[0].query if len(units) == 1 else wq.And([unit.query for unit in units])
    return TextMatch(mask, query, ranked(exact_units, relevance, mask), fuzzy=fuzzy_found, units=units)


def most_parts(arrays: FacetArrays, parts: list[tuple[np.ndarray, np.ndarray, object]]) -> TextMatch | None:
    """The documents with at least one of a query's required ``parts`` (mask, scores, query),
    ranked by how many they have, then by relevance; None for a query of one part or none."""
    if len(parts) < 2:
        return None
    counts = np.sum([part_mask & arrays.live for part_mask, _, _ in parts], axis=0, dtype=np.float32)
    mask = counts > 0
    if not mask.any():
        return None
    relevance = np.sum([scores for _, scores, _ in parts], axis=0, dtype=np.float32)
    query = wq.Or([part_query for _, _, part_query in parts])
    return TextMatch(mask, query, ranked(counts, relevance, mask), partial=True)
