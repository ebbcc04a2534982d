"""Italian analysis: the words indexed and searched, and the vocabulary of spelling corrections."""

from __future__ import annotations

import re

from whoosh.analysis import Analyzer, Token
from whoosh.formats import Positions
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

#: Elided forms ("l'", "dell'", "un'") become tokens of their own: they are dropped as stop words.
ELISIONS = frozenset(
    "l d s c m t v n un dell all dall nell sull coll quest quell nessun ciascun alcun qualcun buon "
    "bell sant tutt mezz anch com dov".split()
)
STOP_WORDS = frozenset(stopwords_for_language("it")) | ELISIONS


class ItalianAnalyzer(Analyzer):
    """Words and numbers, lower case, Italian stop words and elisions out, optional Snowball stems,
    no accents.

    The same tokens as Whoosh's ``RegexTokenizer(r"\\w+") | LowercaseFilter() | StopFilter(...) |
    StemFilter(...) | CharsetFilter(accent_map)`` chain (positions renumbered past stop words), made
    in one pass with one cache of finished words: indexing spends most of its time here.
    """

    _WORD = re.compile(r"\w+")
    _CACHE_LIMIT = 200_000

    def __init__(self, stem: bool = True, minsize: int = 1):
        self.stem = stem
        self.minsize = minsize
        self._setup()

    def _setup(self) -> None:
        self._stemmer = stemmer_for_language("it") if self.stem else None
        self._finished: dict[str, str] = {}

    def __getstate__(self) -> dict:
        return {"stem": self.stem, "minsize": self.minsize}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._setup()

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and (other.stem, other.minsize) == (self.stem, self.minsize)

    def __hash__(self) -> int:
        return hash((type(self), self.stem, self.minsize))

    def has_morph(self) -> bool:
        return self.stem

    def _finish(self, word: str) -> str:
        """A lower-case word, stemmed and without accents."""
        finished = self._finished.get(word)
        if finished is None:
            finished = (self._stemmer(word) if self._stemmer else word).translate(accent_map)
            if len(self._finished) >= self._CACHE_LIMIT:
                self._finished.clear()
            self._finished[word] = finished
        return finished

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        matches = ((0, value, 0, len(value)),) if not tokenize else None
        if matches is None:
            matches = ((m.start(), m.group(0), m.start(), m.end()) for m in self._WORD.finditer(value))
        position = None
        for number, (_, text, start, end) in enumerate(matches):
            token.boost = 1.0
            if keeporiginal:
                token.original = text
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            word = text.lower()
            if len(word) >= self.minsize and word not in STOP_WORDS:
                if positions:
                    position = start_pos + number if position is None else position + 1
                    token.pos = position
                token.stopped = False
                token.text = self._finish(word)
            elif removestops:
                continue
            else:
                if positions:
                    token.pos = start_pos + number
                token.stopped = True
                token.text = word.translate(accent_map)
            yield token

    def word_positions(self, value: str) -> dict[str, list[int]]:
        """Each finished word of ``value`` and its positions: what __call__ yields, without tokens."""
        found: dict[str, list[int]] = {}
        position = None
        finish, minsize = self._finish, self.minsize
        for number, text in enumerate(self._WORD.findall(value)):
            word = text.lower()
            if len(word) < minsize or word in STOP_WORDS:
                continue
            position = number if position is None else position + 1
            positions = found.get(finished := finish(word))
            if positions is None:
                found[finished] = [position]
            else:
                positions.append(position)
        return found


class ItalianPositions(Positions):
    """Whoosh's Positions format, fed by ItalianAnalyzer.word_positions when indexing plain text."""

    def word_values(self, value, analyzer, **kwargs):
        plain = not isinstance(analyzer, ItalianAnalyzer) or not isinstance(value, str)
        if plain or set(kwargs) - {"mode"}:
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        for word, positions in analyzer.word_positions(value).items():
            yield (word, len(positions), len(positions) * boost, self.encode(positions))


def italian_analyzer() -> ItalianAnalyzer:
    """The analyzer of searched text: stems on, every word kept but stop words."""
    return ItalianAnalyzer(stem=True, minsize=1)


def spelling_analyzer() -> ItalianAnalyzer:
    """Whole words without accents: the vocabulary "Forse cercavi" picks corrections from."""
    return ItalianAnalyzer(stem=False, minsize=3)
