"""Synonyms and abbreviations: groups of expressions that find each other.

A group such as «PNRR = piano nazionale di ripresa e resilienza» makes a search for any of its
expressions also find the others. Expressions are compared as the index sees words: stemmed, accents
and stop words out (so «piani nazionali di ripresa» is «piano nazionale ripresa»). They are applied
when a query is read, never written into the index: a group added by the editors works at the next
search, with no rebuild.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from observatory.search.analysis import italian_analyzer

_STEMS = italian_analyzer()
#: The longest expression, in words (longer ones are refused when a group is saved).
MAX_WORDS = 8


def stems_of(expression: str) -> tuple[str, ...]:
    """The words of an expression as the index keeps them (stemmed, folded, no stop words)."""
    return tuple(token.text for token in _STEMS(expression))


@dataclass(frozen=True)
class Match:
    """Query words ``start``..``end`` (excluded) form an expression of one or more groups;
    ``alternatives`` are every expression that may stand for them, the matched one first."""

    start: int
    end: int
    alternatives: tuple[tuple[str, ...], ...]


@dataclass
class Synonyms:
    """Groups of expressions (as stems) and what each expression may stand for."""

    groups: list[list[str]] = field(default_factory=list)
    #: Changes whenever the groups do: searches are cached under it.
    version: str = ""
    _alternatives: dict[tuple[str, ...], list[tuple[str, ...]]] = field(default_factory=dict, repr=False)
    _longest: int = 0

    @classmethod
    def of(cls, groups: Iterable[Iterable[str]]) -> Synonyms:
        """The synonyms of ``groups``, each a list of expressions as people write them."""
        kept = [list(group) for group in groups]
        alternatives: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for group in kept:
            stemmed = list(dict.fromkeys(s for s in map(stems_of, group) if s))
            if len(stemmed) < 2:
                continue
            for expression in stemmed:
                found = alternatives.setdefault(expression, [expression])
                found.extend(other for other in stemmed if other not in found)
        digest = hashlib.sha1(repr(sorted(map(sorted, kept))).encode("utf-8")).hexdigest()[:12]
        longest = max((len(expression) for expression in alternatives), default=0)
        return cls(kept, digest, alternatives, longest)

    def __bool__(self) -> bool:
        return bool(self._alternatives)

    def matches(self, stems: list[str]) -> list[Match]:
        """The expressions found in a query's ``stems`` (one per word, in order), longest first
        from left to right, never overlapping."""
        found, start = [], 0
        while start < len(stems):
            for end in range(min(len(stems), start + self._longest), start, -1):
                alternatives = self._alternatives.get(tuple(stems[start:end]))
                if alternatives:
                    found.append(Match(start, end, tuple(alternatives)))
                    start = end
                    break
            else:
                start += 1
        return found
