"""Full-text search: the Whoosh index, a derived copy of the published catalogue.

The index folder holds generations (``gen-<stamp>``) and a ``CURRENT`` file naming the live one;
``rebuild()`` fills a new generation and swaps ``CURRENT`` atomically, so searches never stop.
Per-document facet values are kept in numpy arrays per searcher generation, so filtering and
counting many-valued facets over 100,000 processes costs a few milliseconds.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np
import rapidfuzz
from rapidfuzz.distance import Levenshtein
from whoosh import index
from whoosh import query as wq
from whoosh.analysis import Analyzer, Token
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3LeafMatcher, W3PerDocReader
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Positions
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.matching import FilterMatcher
from whoosh.qparser import MultifieldParser, WildcardPlugin
from whoosh.reading import TermNotFound
from whoosh.support.charset import accent_map
from whoosh.util.numeric import byte_to_length

from observatory.text import fold

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


#: A word found in fewer documents than this may be a typo worth a "Forse cercavi".
RARE_WORD = 3
#: Spelling suggestions are looked for only when a search finds fewer processes than this.
SUGGEST_BELOW = 10
#: Snippets are cut from the start of a text, up to this many characters.
SNIPPET_SOURCE_CHARS = 4_000
RESULT_CACHE_SIZE = 512
#: Posting lists kept decoded per searcher, counted in postings (about 12 bytes each).
POSTINGS_CACHE_SIZE = 4_000_000
#: BM25F parameters, Whoosh's defaults.
BM25_B, BM25_K1 = 0.75, 1.2
#: Decoded field lengths: Whoosh stores each document's field length as one byte.
_BYTE_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)
#: Accented letters → plain ones, one character for one, so positions stay those of the text.
_FOLD_SAME_LENGTH = {k: v for k, v in accent_map.items() if isinstance(v, str) and len(v) == 1}
_ANALYZER = italian_analyzer()  # one instance: its stem cache then serves every search
_SPELLING = spelling_analyzer()
#: Searched fields and their weights: "about" holds the names of bodies (and their other names),
#: of territories (and the units above them) and of vocabulary terms.
TEXT_FIELDS = {"title": 6.0, "about": 3.0, "body": 1.0}
#: Facets: single-valued ones hold one value per process, many-valued ones a list.
SINGLE_FACETS = ("ambito", "tipo", "stato", "livello", "fonte")
MANY_FACETS = ("tematica", "territorio", "ente", "titolare")
#: Raised whenever documents or the schema change shape; an older index is rebuilt at start-up.
INDEX_FORMAT = "5"


class LengthArrayPerDocReader(W3PerDocReader):
    """Whoosh's per-document reader, with each field's length column read once into memory.

    Writing a segment asks the length of every posting's document (to keep block statistics), and
    Whoosh reads it from the file each time: about a third of the time spent writing postings.
    """

    _LENGTHS = [byte_to_length(b) for b in range(256)]

    def __init__(self, storage, segment):
        super().__init__(storage, segment)
        self._length_bytes: dict[str, bytes] = {}

    def doc_field_length(self, docnum, fieldname, default=0):
        data = self._length_bytes.get(fieldname)
        if data is None:
            column = self._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
            data = column._dbfile.get(column._basepos, column._count) if column is not None else b""
            self._length_bytes[fieldname] = data
        if docnum > self._doccount:
            raise IndexError(f"Asked for docnum {docnum} of {self._doccount}")
        lbyte = data[docnum] if docnum < len(data) else 0
        return self._LENGTHS[lbyte] if lbyte else None


class IndexCodec(W3Codec):
    """Whoosh 3's codec, reading field lengths with LengthArrayPerDocReader."""

    def per_document_reader(self, storage, segment):
        return LengthArrayPerDocReader(storage, segment)


def _text_field(analyzer: ItalianAnalyzer, **options) -> TEXT:
    field = TEXT(analyzer=analyzer, **options)
    field.format = ItalianPositions(field_boost=field.format.field_boost)
    return field


def make_schema() -> Schema:
    analyzer = italian_analyzer()
    return Schema(
        pid=ID(stored=True, unique=True),
        title=_text_field(analyzer, field_boost=TEXT_FIELDS["title"], stored=True),
        about=_text_field(analyzer, field_boost=TEXT_FIELDS["about"]),
        body=_text_field(analyzer, stored=True),
        spell=TEXT(analyzer=spelling_analyzer(), phrase=False),
        facets=STORED(),
        card=STORED(),
        start_year=NUMERIC(sortable=True),
    )


# --- documents -------------------------------------------------------------------------------


def document_for(detail: dict, ancestors: dict[str, list[dict]], alt_names: dict[str, list[str]]) -> dict:
    """The index document of a published process, from services.process_detail()."""
    organisations = detail["decision_holders"] + detail["organisations"]
    names = [o["name"] for o in organisations] + [
        n for o in organisations for n in alt_names.get(o["slug"], [])
    ]
    places, codes = [], []
    for territory in detail["territories"]:
        chain = ancestors.get(territory["code"], []) + [territory]
        places.extend(t["name"] for t in chain)
        codes.extend(t["code"] for t in chain)
    terms = [
        detail["kind"],
        detail["theme"],
        detail["participation_level"],
        *detail["topics"],
        *detail["methods"],
    ]
    tags = [t["label"] for t in terms if t]
    funding = detail["funding"] or {}
    body_parts = [
        detail["summary"],
        detail["description"],
        detail["goals"],
        detail["results"],
        *[f"{p['title']} {p['description'] or ''}" for p in detail["phases"]],
        funding.get("programme"),
        funding.get("fund"),
        funding.get("beneficiary"),
        funding.get("cup"),
        detail["participants_kind"],
        detail["reported_by"],
        " ".join(str(y) for y in (detail["start_year"], detail["end_year"]) if y),
    ]
    body = "\n".join(part for part in body_parts if part)
    updated = detail["updated_at"].timestamp()
    places_above = {}
    for territory in detail["territories"]:
        chain = ancestors.get(territory["code"], []) + [territory]
        for parent, place in zip([None, *chain], chain, strict=False):
            places_above[place["code"]] = (place["name"], parent["code"] if parent else None)
    labels = {
        "territorio": places_above,
        "ente": {o["slug"]: o["name"] for o in organisations},
        "tematica": {t["slug"]: t["label"] for t in detail["topics"]},
    }
    for name, term in (
        ("ambito", detail["theme"]),
        ("tipo", detail["kind"]),
        ("livello", detail["participation_level"]),
        ("fonte", detail["reporting_source"]),
    ):
        labels[name] = {term["slug"]: term["label"]} if term else {}
    return {
        "pid": str(detail["id"]),
        "title": detail["title"],
        "about": "\n".join([*names, *places, *tags]),
        "body": body,
        "spell": "\n".join([detail["title"], *names, *places, *tags]),
        "facets": {
            "ambito": detail["theme"]["slug"] if detail["theme"] else None,
            "tipo": detail["kind"]["slug"] if detail["kind"] else None,
            "stato": detail["state"],
            "livello": detail["participation_level"]["slug"] if detail["participation_level"] else None,
            "fonte": detail["reporting_source"]["slug"] if detail["reporting_source"] else None,
            "tematica": [t["slug"] for t in detail["topics"]],
            "territorio": list(dict.fromkeys(codes)),
            "ente": list(dict.fromkeys(o["slug"] for o in organisations)),
            "titolare": [o["slug"] for o in detail["decision_holders"]],
            "start_year": detail["start_year"],
            "end_year": detail["end_year"],
            "ongoing": detail["ongoing"],
            "updated": updated,
            "title_key": fold(detail["title"]),
            "labels": labels,
        },
        "card": card_for(detail),
        "start_year": detail["start_year"] if detail["start_year"] is not None else 0,
    }


def card_for(detail: dict) -> dict:
    """What a list shows of a process (services.summarise_processes's shape), kept in the index so
    that a page of search results needs no database query."""
    return {
        "slug": detail["slug"],
        "title": detail["title"],
        "summary": detail["summary"],
        "kind": _term_ref(detail["kind"]),
        "theme": _term_ref(detail["theme"]),
        "start_year": detail["start_year"],
        "end_year": detail["end_year"],
        "ongoing": detail["ongoing"],
        "state": detail["state"],
        "territories": [
            {"code": t["code"], "name": t["name"], "level": t["level"]} for t in detail["territories"]
        ],
        "decision_holders": [{"slug": o["slug"], "name": o["name"]} for o in detail["decision_holders"]],
        "updated_at": detail["updated_at"],
    }


def _term_ref(term: dict | None) -> dict | None:
    return {"slug": term["slug"], "label": term["label"]} if term else None


# --- the index folder ------------------------------------------------------------------------


class SearchIndex:
    """One index folder: its live generation, a shared searcher and its facet arrays."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._index = None
        self._searcher = None
        self._facets: FacetArrays | None = None
        self._segments: dict[str, SegmentFacets] = {}
        self._results: OrderedDict[tuple, SearchResult] = OrderedDict()

    # generations

    def current_generation(self) -> str | None:
        try:
            return (self.folder / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    def _open_generation(self, name: str):
        return index.open_dir(str(self.folder / name))

    def new_generation(self):
        """Create an empty generation folder; return (name, index)."""
        name = f"gen-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
        path = self.folder / name
        path.mkdir(parents=True)
        (path / "FORMAT").write_text(INDEX_FORMAT + "\n")
        return name, index.create_in(str(path), make_schema())

    def publish_generation(self, name: str) -> None:
        """Make ``name`` live with an atomic rename, then remove older generations."""
        pointer = self.folder / f"CURRENT.{os.getpid()}.tmp"
        pointer.write_text(name + "\n")
        os.replace(pointer, self.folder / "CURRENT")
        for old in self.folder.glob("gen-*"):
            if old.name != name and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)  # a worker still reading it keeps its open files

    def ensure(self) -> None:
        """Create an empty live generation when the folder has none."""
        if self.current_generation() is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            name, ix = self.new_generation()
            ix.close()
            self.publish_generation(name)

    def is_outdated(self) -> bool:
        """The live generation was written by an older version (documents of another shape)."""
        generation = self.current_generation()
        if generation is None:
            return False
        try:
            return (self.folder / generation / "FORMAT").read_text().strip() != INDEX_FORMAT
        except FileNotFoundError:
            return True

    def writable_index(self):
        self.ensure()
        return self._open_generation(self.current_generation())

    # searching

    def searcher(self):
        """A searcher on the live generation, reused across queries and refreshed when it changes."""
        with self._lock:
            generation = self.current_generation()
            if generation is None:
                self.ensure()
                generation = self.current_generation()
            if generation != self._generation or self._searcher is None:
                if self._searcher is not None:
                    self._searcher.close()
                self._index = self._open_generation(generation)
                self._searcher = self._index.searcher()
                self._generation = generation
                self._facets = None
            elif not self._searcher.up_to_date():
                # a new searcher, not Searcher.refresh(): refresh() misses commits that only delete
                self._searcher.close()
                self._searcher = self._index.searcher()
                self._facets = None
            if self._facets is None:
                self._facets = FacetArrays.build(self._searcher, self._segments)
                self._results.clear()
            return self._searcher, self._facets

    def cached_result(self, searcher, key: tuple):
        """A result computed earlier on this very searcher, or None."""
        with self._lock:
            if searcher is not self._searcher:
                return None
            result = self._results.get(key)
            if result is not None:
                self._results.move_to_end(key)
            return result

    def cache_result(self, searcher, key: tuple, result) -> None:
        with self._lock:
            if searcher is not self._searcher:
                return
            self._results[key] = result
            while len(self._results) > RESULT_CACHE_SIZE:
                self._results.popitem(last=False)

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
            self._generation = None


class SegmentFacets:
    """The facet data of one index segment, with value ids local to it."""

    def __init__(self, reader):
        size = self.size = reader.doc_count_all()
        self.present = np.zeros(size, dtype=bool)
        self.pid = np.zeros(size, dtype=np.int64)
        self.start_year = np.full(size, -1, dtype=np.int32)
        self.end_year = np.full(size, -1, dtype=np.int32)
        self.ongoing = np.zeros(size, dtype=bool)
        self.updated = np.zeros(size, dtype=np.float64)
        self.title_keys: list[str] = [""] * size
        self.labels: dict[str, dict[str, str]] = {name: {} for name in (*SINGLE_FACETS, *MANY_FACETS)}
        self.parents: dict[str, str | None] = {}
        ids: dict[str, dict[str, int]] = {name: {} for name in (*SINGLE_FACETS, *MANY_FACETS)}
        self.single = {name: np.full(size, -1, dtype=np.int32) for name in SINGLE_FACETS}
        many_docs: dict[str, list[int]] = {name: [] for name in MANY_FACETS}
        many_values: dict[str, list[int]] = {name: [] for name in MANY_FACETS}
        for docnum, stored in reader.iter_docs():
            facets = stored["facets"]
            for name, values in facets["labels"].items():
                if name == "territorio":
                    for code, (place, parent) in values.items():
                        self.labels[name][code] = place
                        self.parents[code] = parent
                else:
                    self.labels[name].update(values)
            self.present[docnum] = True
            self.pid[docnum] = int(stored["pid"])
            for name in SINGLE_FACETS:
                value = facets[name]
                if value is not None:
                    self.single[name][docnum] = ids[name].setdefault(value, len(ids[name]))
            for name in MANY_FACETS:
                for value in facets[name]:
                    many_docs[name].append(docnum)
                    many_values[name].append(ids[name].setdefault(value, len(ids[name])))
            if facets["start_year"] is not None:
                self.start_year[docnum] = facets["start_year"]
            if facets["end_year"] is not None:
                self.end_year[docnum] = facets["end_year"]
            self.ongoing[docnum] = facets["ongoing"]
            self.updated[docnum] = facets["updated"]
            self.title_keys[docnum] = facets["title_key"]
        self.many = {
            name: (np.array(many_docs[name], dtype=np.int64), np.array(many_values[name], dtype=np.int32))
            for name in MANY_FACETS
        }
        self.values = {name: list(mapping) for name, mapping in ids.items()}
        self._lengths: dict[str, np.ndarray] = {}

    def lengths(self, reader, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname`` (Whoosh keeps it approximate, in one byte)."""
        if fieldname not in self._lengths:
            length = reader.doc_field_length
            self._lengths[fieldname] = np.fromiter(
                (length(d, fieldname, 1) or 1 for d in range(self.size)), dtype=np.float32, count=self.size
            )
        return self._lengths[fieldname]


class FacetArrays:
    """Per-document facet values of one searcher generation, as numpy arrays indexed by docnum."""

    def __init__(self, size: int):
        self.size = size
        self.live = np.zeros(size, dtype=bool)
        self.pid = np.zeros(size, dtype=np.int64)
        self.values: dict[str, list[str]] = {}  # facet → value strings (ids are positions)
        self.single: dict[str, np.ndarray] = {}  # facet → value id per doc (-1: none)
        self.many: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # facet → (docnums, value ids)
        self.start_year = np.full(size, -1, dtype=np.int32)
        self.end_year = np.full(size, -1, dtype=np.int32)
        self.ongoing = np.zeros(size, dtype=bool)
        self.updated = np.zeros(size, dtype=np.float64)
        self.title_rank = np.zeros(size, dtype=np.int64)
        self.labels: dict[str, dict[str, str]] = {}  # facet → value → label
        self.parents: dict[str, str | None] = {}  # territory code → the code of the unit above
        self.scorer: TextScorer | None = None
        self._reader = None
        self._spelling: SpellingWords | None = None

    @property
    def spelling(self) -> SpellingWords:
        """Correction candidates, gathered the first time a search needs one."""
        if self._spelling is None:
            self._spelling = SpellingWords(self._reader)
        return self._spelling

    @classmethod
    def build(cls, searcher, segments: dict[str, SegmentFacets]) -> FacetArrays:
        """Join the facet data of the searcher's segments; ``segments`` caches it by segment id.

        Segments never change once written (only their deletions grow), so after a write only the
        new, small segment is read: the first search after publishing stays fast at 100,000.
        """
        reader = searcher.reader()
        arrays = cls(reader.doc_count_all())
        parts = []
        for leaf, offset in reader.leaf_readers():
            if leaf.segment() is None:  # the reader of an index with no document yet
                continue
            key = leaf.segment().segment_id()
            if key not in segments:
                segments[key] = SegmentFacets(leaf)
            parts.append((segments[key], leaf, offset))
        for stale in set(segments) - {part_leaf.segment().segment_id() for _, part_leaf, _ in parts}:
            del segments[stale]
        titles: list[str] = [""] * arrays.size
        for part, leaf, offset in parts:
            end = offset + part.size
            arrays.live[offset:end] = part.present
            for docnum in leaf.deleted_docs_set:
                arrays.live[offset + docnum] = False
            arrays.pid[offset:end] = part.pid
            arrays.start_year[offset:end] = part.start_year
            arrays.end_year[offset:end] = part.end_year
            arrays.ongoing[offset:end] = part.ongoing
            arrays.updated[offset:end] = part.updated
            titles[offset:end] = part.title_keys
            for name, values in part.labels.items():
                arrays.labels.setdefault(name, {}).update(values)
            arrays.parents.update(part.parents)
        for name in (*SINGLE_FACETS, *MANY_FACETS):
            ids: dict[str, int] = {}
            singles, many_docs, many_values = [], [], []
            for part, _, offset in parts:
                local = part.values[name]
                to_global = np.array([ids.setdefault(v, len(ids)) for v in local] + [-1], dtype=np.int32)
                if name in SINGLE_FACETS:
                    singles.append(to_global[part.single[name]])  # -1 (no value) maps to the last: -1
                else:
                    docs, values = part.many[name]
                    many_docs.append(docs + offset)
                    many_values.append(to_global[values])
            arrays.values[name] = list(ids)
            if name in SINGLE_FACETS:
                arrays.single[name] = np.concatenate(singles) if singles else np.zeros(0, dtype=np.int32)
            else:
                arrays.many[name] = (
                    np.concatenate(many_docs) if many_docs else np.zeros(0, dtype=np.int64),
                    np.concatenate(many_values) if many_values else np.zeros(0, dtype=np.int32),
                )
        arrays.title_rank[np.argsort(np.array(titles, dtype=object), kind="stable")] = np.arange(arrays.size)
        arrays.labels["titolare"] = arrays.labels.get("ente", {})
        arrays.scorer = TextScorer(
            searcher, arrays.size, [(part, leaf, offset) for part, leaf, offset in parts]
        )
        arrays._reader = reader
        return arrays

    def mask_for(self, name: str, selected: Iterable[str]) -> np.ndarray:
        """Documents having any of the ``selected`` values of facet ``name``."""
        lookup = {value: i for i, value in enumerate(self.values[name])}
        wanted = np.array([lookup[v] for v in selected if v in lookup], dtype=np.int32)
        if name in self.single:
            return np.isin(self.single[name], wanted)
        docs, values = self.many[name]
        mask = np.zeros(self.size, dtype=bool)
        mask[docs[np.isin(values, wanted)]] = True
        return mask

    def counts(self, name: str, mask: np.ndarray) -> dict[str, int]:
        """How many documents in ``mask`` have each value of facet ``name`` (once per document)."""
        if name in self.single:
            chosen = self.single[name][mask]
            bins = np.bincount(chosen[chosen >= 0], minlength=len(self.values[name]))
        else:
            docs, values = self.many[name]
            bins = np.bincount(values[mask[docs]], minlength=len(self.values[name]))
        return {self.values[name][i]: int(n) for i, n in enumerate(bins) if n}

    def year_mask(self, year_from: int | None, year_to: int | None) -> np.ndarray:
        """Processes active in [year_from, year_to], with the database's rules."""
        mask = np.ones(self.size, dtype=bool)
        if year_from is not None:
            ends = self.end_year >= year_from
            open_ended = (self.end_year < 0) & (self.ongoing | (self.start_year >= year_from))
            mask &= ends | open_ended
        if year_to is not None:
            mask &= (self.start_year >= 0) & (self.start_year <= year_to)
        return mask


class TextScorer:
    """Matches and scores a parsed query over every document at once, with numpy.

    Term, And, Or, Not, AndNot and AndMaybe nodes are computed from whole posting lists with
    Whoosh's BM25F formula (posting weights, field lengths, idf, query boosts), giving a mask of
    the matching documents and a dense array of scores. Other nodes (phrases, ranges) are left to
    Whoosh's own matchers. Decoded posting lists are cached for the life of the searcher.
    """

    def __init__(self, searcher, size: int, segments: list[tuple[SegmentFacets, object, int]]):
        self.searcher = searcher
        self.size = size
        self._segments = segments
        self._leaves = [(leaf, offset) for _, leaf, offset in segments]
        self._lengths: dict[str, np.ndarray] = {}
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()

    def evaluate(self, node) -> tuple[np.ndarray, np.ndarray]:
        """The documents matching ``node`` (a bool mask) and their scores (0 elsewhere)."""
        if type(node) is wq.Term:
            mask, scores = self._term(node.fieldname, node.text)
        elif type(node) in (wq.And, wq.Or):  # not subclasses such as Ordered, which add rules
            parts = [self.evaluate(child) for child in node.subqueries]
            if not parts:
                return self._nothing()
            mask = parts[0][0].copy()
            for child_mask, _ in parts[1:]:
                if type(node) is wq.And:
                    mask &= child_mask
                else:
                    mask |= child_mask
            scores = np.sum([child_scores for _, child_scores in parts], axis=0, dtype=np.float32)
            if type(node) is wq.And:
                scores *= mask
        elif type(node) is wq.Not:
            child_mask, _ = self.evaluate(node.query)
            return ~child_mask, np.zeros(self.size, dtype=np.float32)
        elif type(node) is wq.AndNot:
            mask, scores = self.evaluate(node.a)
            excluded, _ = self.evaluate(node.b)
            mask = mask & ~excluded
            scores = scores * mask
        elif type(node) is wq.AndMaybe:
            mask, scores = self.evaluate(node.a)
            _, optional = self.evaluate(node.b)
            scores = scores + optional * mask
        elif node is wq.NullQuery:
            return self._nothing()
        elif type(node) is wq.Phrase:
            mask, scores = self._phrase(node)
        else:
            mask, scores = self._by_whoosh(node)
        if node.boost != 1.0:
            scores = scores * np.float32(node.boost)
        return mask, scores

    def _nothing(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float32)

    def _phrase(self, node) -> tuple[np.ndarray, np.ndarray]:
        """Whoosh checks the word positions; the score is that of the words, as for an And."""
        mask, scores = self._nothing()
        for docnum in self.searcher.docs_for_query(node):
            mask[docnum] = True
        if mask.any():
            for word in node.words:
                scores += self._term(node.fieldname, word)[1]
            scores *= mask
        return mask, scores

    def _by_whoosh(self, node) -> tuple[np.ndarray, np.ndarray]:
        mask, scores = self._nothing()
        for hit_score, docnum in self.searcher.search(node, limit=None).top_n:
            mask[docnum] = True
            scores[docnum] = hit_score
        return mask, scores

    def _term(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        mask, scores = self._nothing()
        docs, weights = self.postings(fieldname, text)
        if docs.size:
            lengths = self.lengths(fieldname)[docs]
            average = self.searcher.avg_field_length(fieldname) or 1
            idf = self.searcher.idf(fieldname, text)
            norm = BM25_K1 * ((1 - BM25_B) + BM25_B * lengths / average)
            mask[docs] = True
            scores[docs] = idf * (weights * (BM25_K1 + 1)) / (weights + norm)
        return mask, scores

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers and weights of one term, over every segment."""
        key = (fieldname, text)
        with self._lock:
            if key in self._postings:
                self._postings.move_to_end(key)
                return self._postings[key]
        docs, weights = [], []
        for reader, offset in self._leaves:
            try:
                matcher = reader.postings(fieldname, text)
            except TermNotFound:
                continue
            if isinstance(matcher, FilterMatcher):  # deleted documents: the live mask drops them
                matcher = matcher.child
            leaf_docs, leaf_weights = _read_postings(matcher)
            docs.append(leaf_docs + offset)
            weights.append(leaf_weights)
        found = (
            (np.concatenate(docs), np.concatenate(weights))
            if docs
            else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        )
        with self._lock:
            self._postings[key] = found
            self._cached += found[0].size
            while self._cached > POSTINGS_CACHE_SIZE and len(self._postings) > 1:
                _, (old_docs, _) = self._postings.popitem(last=False)
                self._cached -= old_docs.size
        return found

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in ``fieldname``, as Whoosh stores it (approximate, one byte)."""
        if fieldname not in self._lengths:
            parts = [segment.lengths(leaf, fieldname) for segment, leaf, _ in self._segments]
            self._lengths[fieldname] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return self._lengths[fieldname]


def _read_postings(matcher) -> tuple[np.ndarray, np.ndarray]:
    """All document numbers and weights of a fresh leaf matcher, a block at a time when possible."""
    docs, weights = [], []
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            docs.append(np.asarray(matcher._ids, dtype=np.int64))
            weights.append(np.asarray(matcher._weights, dtype=np.float32))
            matcher._next_block()
    else:
        while matcher.is_active():
            docs.append(np.array([matcher.id()], dtype=np.int64))
            weights.append(np.array([matcher.weight()], dtype=np.float32))
            matcher.next()
    if not docs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return np.concatenate(docs), np.concatenate(weights)


# --- queries ---------------------------------------------------------------------------------


@dataclass
class SearchRequest:
    """A search: text, facet filters (OR inside a facet, AND across), years, sort and page."""

    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "rilevanza"
    page: int = 1
    page_size: int = 20

    def cache_key(self) -> tuple:
        filters = tuple(
            sorted((name, tuple(sorted(values))) for name, values in self.filters.items() if values)
        )
        return (self.text, filters, self.year_from, self.year_to, self.sort, self.page, self.page_size)


@dataclass
class SearchResult:
    """Process ids of one page, the total, facet counts and snippets."""

    ids: list[int]
    total: int
    facets: dict[str, dict[str, int]]
    decades: dict[int, int]
    years: dict[int, int]
    highlights: dict[int, str]
    cards: list[dict] = field(default_factory=list)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    suggestion: str | None = None
    corrected_from: str | None = None
    corrected_text: str | None = None


def parse_text(schema: Schema, text: str):
    """The Whoosh query of a reader's text: every word must match somewhere (phrases in quotes)."""
    parser = MultifieldParser(list(TEXT_FIELDS), schema=schema, fieldboosts=TEXT_FIELDS)
    parser.remove_plugin_class(WildcardPlugin)  # "*" and "?" are plain characters to readers
    return parser.parse(text)


def _text_match(searcher, arrays: FacetArrays, text: str):
    """Documents matching ``text`` as a mask, the query, and the relevance score of every document.

    Whole posting lists are matched and scored at once in numpy (see TextScorer), so a common word
    costs a few array operations instead of one Python call per matching document.
    """
    if not text.strip():
        return arrays.live.copy(), None, None
    query = parse_text(searcher.schema, text)
    mask, scores = arrays.scorer.evaluate(query)
    return mask & arrays.live, query, scores


def run_search(search_index: SearchIndex, request: SearchRequest) -> SearchResult:
    """Filter, count and sort in the index, then cut the requested page.

    Results are cached per index generation: any write to the index empties the cache.
    """
    searcher, arrays = search_index.searcher()
    key = request.cache_key()
    cached = search_index.cached_result(searcher, key)
    if cached is not None:
        return cached
    result = _run_search(searcher, arrays, request)
    search_index.cache_result(searcher, key, result)
    return result


def _run_search(searcher, arrays: FacetArrays, request: SearchRequest) -> SearchResult:
    text_mask, query, scores = _text_match(searcher, arrays, request.text)
    corrected_from = corrected_text = suggestion = None
    if query is not None and text_mask.sum() < SUGGEST_BELOW:
        correction = _correction(searcher, arrays, request.text)
        if correction is not None:
            corrected_mask, corrected_query, corrected_scores = _text_match(searcher, arrays, correction)
            if corrected_mask.sum() > text_mask.sum():
                if not text_mask.any():  # nothing found: show what the corrected words find
                    corrected_from, corrected_text = request.text, correction
                    text_mask, query, scores = corrected_mask, corrected_query, corrected_scores
                else:
                    suggestion = correction
    filter_masks = {name: arrays.mask_for(name, values) for name, values in request.filters.items() if values}
    year_mask = arrays.year_mask(request.year_from, request.year_to)
    final = text_mask & year_mask
    for mask in filter_masks.values():
        final &= mask
    facets = {}
    for name in (*SINGLE_FACETS, *MANY_FACETS):
        base = text_mask & year_mask
        for other, mask in filter_masks.items():
            if other != name:
                base &= mask
        facets[name] = arrays.counts(name, base)
    years_of = arrays.start_year[final & (arrays.start_year >= 0)]
    year_counts = np.bincount(years_of) if years_of.size else np.array([], dtype=np.int64)
    years = {int(y): int(n) for y, n in enumerate(year_counts) if n}
    decades: dict[int, int] = {}
    for year, n in years.items():
        decades[year // 10 * 10] = decades.get(year // 10 * 10, 0) + n
    total = int(final.sum())
    offset = (request.page - 1) * request.page_size
    docnums = _sorted_page(arrays, final, scores, request.sort, offset, request.page_size)
    highlights = _highlights(searcher, docnums, query) if query is not None else {}
    return SearchResult(
        ids=[int(arrays.pid[d]) for d in docnums],
        cards=[searcher.stored_fields(d)["card"] for d in docnums],
        labels=arrays.labels,
        parents=arrays.parents,
        total=total,
        facets=facets,
        decades=decades,
        years=years,
        highlights={int(arrays.pid[d]): text for d, text in highlights.items()},
        suggestion=suggestion,
        corrected_from=corrected_from,
        corrected_text=corrected_text,
    )


def _sorted_page(arrays, mask, scores, sort, offset, size) -> list[int]:
    if offset >= mask.sum():
        return []
    docs = np.flatnonzero(mask)
    if sort == "rilevanza" and scores is not None:
        wanted = offset + size
        if docs.size > wanted:  # only documents scoring at least the wanted-th best need sorting
            threshold = np.partition(scores[docs], docs.size - wanted)[docs.size - wanted]
            docs = docs[scores[docs] >= threshold]
        order = np.lexsort((docs, -scores[docs]))  # best first; equal scores in index order
        return docs[order[offset:wanted]].tolist()
    if sort == "titolo":
        keys = (arrays.title_rank[docs],)
    elif sort in ("anno", "anno_asc"):
        years = arrays.start_year[docs].astype(np.int64)
        unknown = years < 0
        primary = years if sort == "anno_asc" else -years
        keys = (arrays.title_rank[docs], primary, unknown)
    else:  # recenti
        keys = (-arrays.pid[docs], -arrays.updated[docs])
    order = np.lexsort(keys)
    return docs[order[offset : offset + size]].tolist()


def _correction(searcher, arrays: FacetArrays, text: str) -> str | None:
    """The text with rare or unknown words replaced by a much more frequent close word, if any."""
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


def _highlights(searcher, docnums: list[int], query) -> dict[int, str]:
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


def more_like(search_index: SearchIndex, pid: int, limit: int) -> list[int]:
    """Ids of the processes most similar to ``pid``, by the key terms of its title and body."""
    searcher, arrays = search_index.searcher()
    docnum = searcher.document_number(pid=str(pid))
    if docnum is None:
        return []
    hits = searcher.more_like(docnum, "body", top=limit, numterms=12)
    by_title = searcher.more_like(docnum, "title", top=limit, numterms=6)
    ranked = list(dict.fromkeys(h.docnum for h in [*by_title, *hits] if h.docnum != docnum))
    return [int(arrays.pid[d]) for d in ranked[:limit]]


# --- writing ---------------------------------------------------------------------------------


def write_documents(ix, documents: Iterable[dict], deleted: Iterable[int] = ()) -> None:
    """Add or replace documents and delete others in one commit, waiting for the write lock."""
    writer = ix.writer(timeout=30.0, delay=0.05, codec=IndexCodec())
    try:
        for pid in deleted:
            writer.delete_by_term("pid", str(pid))
        for document in documents:
            writer.update_document(**document)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
