"""Italian analysis: the words indexed and searched, and the vocabulary of spelling corrections."""

from __future__ import annotations

import re
from array import array

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
#: How a posting's positions are stored: unsigned 32-bit integers, in the machine's byte order.
POSITION_TYPECODE, POSITION_SIZE = "I", 4


class ItalianAnalyzer(Analyzer):
    """Words and numbers, lower case, Italian stop words and elisions out, optional Snowball stems,
    no accents.

    The same tokens as Whoosh's ``RegexTokenizer(r"\\w+") | LowercaseFilter() | StopFilter(...) |
    StemFilter(...) | CharsetFilter(accent_map)`` chain (positions renumbered past stop words), made
    in one pass with one cache of finished words: indexing spends most of its time here.
    """

    _WORD = re.compile(r"\w+")
    #: A word, and the hyphen that joins it to the next one (co-progettazione, Emilia-Romagna).
    _WORD_AND_HYPHEN = re.compile(r"(\w+)([-\u2010\u2011](?=\w))?")
    _CACHE_LIMIT = 200_000

    def __init__(self, stem: bool = True, minsize: int = 1, fold: bool = True):
        self.stem = stem
        self.minsize = minsize
        self.fold = fold
        self._setup()

    def _setup(self) -> None:
        self._stemmer = stemmer_for_language("it") if self.stem else None
        self._finished: dict[str, str] = {}

    def __getstate__(self) -> dict:
        return {"stem": self.stem, "minsize": self.minsize, "fold": self.fold}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"fold": True} | state)
        self._setup()

    def _options(self) -> tuple:
        return (self.stem, self.minsize, self.fold)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other._options() == self._options()

    def __hash__(self) -> int:
        return hash((type(self), *self._options()))

    def has_morph(self) -> bool:
        return self.stem

    def finish(self, word: str) -> str:
        """A lower-case word, stemmed and without accents (as the options say)."""
        finished = self._finished.get(word)
        if finished is None:
            finished = self._stemmer(word) if self._stemmer else word
            if self.fold:
                finished = finished.translate(accent_map)
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
        joining = mode == "index" and tokenize and _HYPHENS.search(value) is not None
        position = None
        previous_text, previous_end = None, -2
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
                token.text = self.finish(word)
                yield token
            elif not removestops:
                if positions:
                    token.pos = start_pos + number
                token.stopped = True
                token.text = word.translate(accent_map)
                yield token
            if joining and start == previous_end + 1 and value[previous_end] in HYPHENS:
                joined = _joined(previous_text, text)
                if joined is not None:
                    if keeporiginal:
                        token.original = value[start - len(previous_text) - 1 : end]
                    if chars:
                        token.startchar = start_char + start - len(previous_text) - 1
                    if positions:
                        token.pos = position if position is not None else start_pos + number
                    token.stopped = False
                    token.text = self.finish(joined)
                    yield token
            previous_text, previous_end = text, end

    def word_positions(self, value: str) -> dict[str, list[int]]:
        """Each finished word of ``value`` and its positions: what __call__ yields when indexing,
        without tokens. Two words joined by a hyphen are also kept as one word, at the second
        one's position (co-progettazione: co, progettazione and coprogettazione)."""
        found: dict[str, list[int]] = {}
        position = None
        finish, minsize = self.finish, self.minsize
        if _HYPHENS.search(value):
            pairs = self._WORD_AND_HYPHEN.findall(value)
        else:
            pairs = [(text, "") for text in self._WORD.findall(value)]
        previous, hyphen_before = "", ""
        for number, (text, hyphen) in enumerate(pairs):
            word = text.lower()
            finished = []
            if len(word) >= minsize and word not in STOP_WORDS:
                position = number if position is None else position + 1
                finished.append(finish(word))
            if hyphen_before and (joined := _joined(previous, text)) is not None:
                finished.append(finish(joined))
            for each in finished:
                at = position if position is not None else number
                positions = found.get(each)
                if positions is None:
                    found[each] = [at]
                else:
                    positions.append(at)
            previous, hyphen_before = text, hyphen
        return found


#: The hyphens that join two words into one (ASCII, Unicode hyphen, non-breaking hyphen).
HYPHENS = "-\u2010\u2011"
_HYPHENS = re.compile(f"[{HYPHENS}]")


def _joined(first: str, second: str) -> str | None:
    """Two hyphenated words as one (co, progettazione: coprogettazione), for letters only."""
    if first.isalpha() and second.isalpha():
        return (first + second).lower()
    return None


class ItalianPositions(Positions):
    """Whoosh's Positions format, fed by ItalianAnalyzer.word_positions when indexing plain text,
    each posting's positions kept as an array of unsigned 32-bit integers (not pickled): numpy
    reads them as they are, to match phrases (search/postings.py, search/scoring.py)."""

    def encode(self, poslist) -> bytes:
        return array(POSITION_TYPECODE, poslist).tobytes()

    def decode_positions(self, valuestring) -> list[int]:
        return array(POSITION_TYPECODE, valuestring).tolist()

    def decode_frequency(self, valuestring) -> int:
        return len(valuestring) // POSITION_SIZE

    def decode_weight(self, valuestring) -> float:
        return self.decode_frequency(valuestring) * self.field_boost

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
    """Whole words as written, accents kept: the vocabulary of typos and "Forse cercavi"."""
    return ItalianAnalyzer(stem=False, minsize=3, fold=False)
