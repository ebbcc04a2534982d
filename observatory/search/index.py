"""The index folder: its generations, the schema and codec of the documents, writing them.

The index folder holds generations (``gen-<stamp>``) and a ``CURRENT`` file naming the live one;
``rebuild()`` (catalogue/indexing.py) fills a new generation and swaps ``CURRENT`` atomically, so
searches never stop. Each generation keeps, next to its segments, the FORMAT it was written in and
its POSITION in the outbox of changes (catalogue/outbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from whoosh import index
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocReader, W3PerDocWriter
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.util.numeric import byte_to_length

from observatory.search.analysis import ItalianAnalyzer, ItalianPositions, italian_analyzer, spelling_analyzer
from observatory.search.facets import FacetArrays, SegmentFacets
from observatory.search.postings import PostingColumnsWriter
from observatory.search.synonyms import Synonyms
from observatory.search.typos import WordCollector

RESULT_CACHE_SIZE = 512
#: Searched fields and their weights: "about" holds the names of bodies (and their other names),
#: of territories (and the units above them) and of vocabulary terms.
TEXT_FIELDS = {"title": 6.0, "about": 3.0, "body": 1.0}
#: Raised whenever documents or the schema change shape; an older index is rebuilt at start-up.
INDEX_FORMAT = "15"


class LengthArrayPerDocReader(W3PerDocReader):
    """Whoosh's per-document reader, with each field's length column read once into memory.

    Writing a segment asks the length of every posting's document (to keep block statistics), and
    Whoosh reads it from the file each time: about a third of the time spent writing postings.
    """

    _LENGTHS = [byte_to_length(b) for b in range(256)]

    def __init__(self, storage, segment):
        super().__init__(storage, segment)
        self._length_bytes: dict[str, bytes] = {}
        # Open every column file now, not at its first use: a searcher whose generation is then
        # deleted (a repair, a rebuild) goes on reading from the files it holds open.
        prefix, suffix = segment.make_filename("."), W3Codec.COLUMN_EXT
        for name in storage.list():
            if name.startswith(prefix) and name.endswith(suffix):
                column = name[len(prefix) : -len(suffix)]
                self._colfiles[column] = self._get_column_file(column)
        for column in list(self._colfiles):
            if column.startswith("_") and column.endswith("_len"):
                self._length_bytes_of(column[1:-4])

    def _length_bytes_of(self, fieldname: str) -> bytes:
        data = self._length_bytes.get(fieldname)
        if data is None:
            column = self._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
            data = column._dbfile.get(column._basepos, column._count) if column is not None else b""
            self._length_bytes[fieldname] = data
        return data

    def doc_field_length(self, docnum, fieldname, default=0):
        data = self._length_bytes_of(fieldname)
        if docnum > self._doccount:
            raise IndexError(f"Asked for docnum {docnum} of {self._doccount}")
        lbyte = data[docnum] if docnum < len(data) else 0
        return self._LENGTHS[lbyte] if lbyte else None

    def field_lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in ``fieldname`` at once (1 where it has none), for scoring."""
        data = np.frombuffer(self._length_bytes_of(fieldname), dtype=np.uint8)[: self._doccount]
        lengths = np.ones(self._doccount, dtype=np.float32)
        lengths[: data.size] = _LENGTH_TABLE[data]
        return lengths


#: byte_to_length of each length byte, 1 for 0 (no length).
_LENGTH_TABLE = np.array([byte_to_length(b) or 1 for b in range(256)], dtype=np.float32)
_LENGTH_TABLE[0] = 1


#: Stored fields whose words join the typo vocabulary (the other words are in the ``spell`` field).
VOCABULARY_TEXTS = ("title", "body")


class WordCollectingPerDocWriter(W3PerDocWriter):
    """Whoosh 3's per-document writer, also gathering the words of the stored texts, document by
    document."""

    def __init__(self, codec, storage, segment, collector: WordCollector):
        super().__init__(codec, storage, segment)
        self._collector = collector

    def add_field(self, fieldname, fieldobj, value, length):
        super().add_field(fieldname, fieldobj, value, length)
        if fieldname in VOCABULARY_TEXTS and value:
            self._collector.add(value)

    def finish_doc(self):
        super().finish_doc()
        self._collector.end_document()


class IndexCodec(W3Codec):
    """Whoosh 3's codec, reading field lengths with LengthArrayPerDocReader and writing the text
    fields' posting columns and the vocabulary's typo dictionary beside each segment (see
    :mod:`observatory.search.postings` and :mod:`observatory.search.typos`).

    The vocabulary is the ``spell`` field's words and those of the stored texts: the per-document
    writer gathers these, and the field writer of the same segment, closed after it, writes them.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._collectors: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __getstate__(self) -> dict:  # sent to the processes of a parallel rebuild
        return {key: value for key, value in self.__dict__.items() if key != "_collectors"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._collectors = weakref.WeakKeyDictionary()

    def _collector(self, segment) -> WordCollector:
        return self._collectors.setdefault(segment, WordCollector())

    def per_document_reader(self, storage, segment):
        return LengthArrayPerDocReader(storage, segment)

    def per_document_writer(self, storage, segment):
        return WordCollectingPerDocWriter(self, storage, segment, self._collector(segment))

    def field_writer(self, storage, segment):
        return PostingColumnsWriter(
            self, storage, segment, frozenset(TEXT_FIELDS), "spell", self._collector(segment)
        )


#: How every writer writes: with IndexCodec, each segment in its own files (not assembled into
#: one), which numpy maps in place (posting columns) and Whoosh reads without copying them first.
WRITER_OPTIONS = {"codec": IndexCodec(), "compound": False}


def _text_field(analyzer: ItalianAnalyzer, **options) -> TEXT:
    field = TEXT(analyzer=analyzer, **options)
    field.format = ItalianPositions(field_boost=field.format.field_boost)
    return field


def make_schema() -> Schema:
    """The fields of an index document: searched text, the spelling vocabulary, stored data, year."""
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


class IndexUnavailable(Exception):
    """The index folder has no generation that can be read; the message says what is wrong."""


class SearchIndex:
    """One index folder: its live generation, a shared searcher and its facet arrays.

    The folder belongs to one instance (its worker processes share it; nothing in it is shared
    with other instances). Whoever writes in it holds its lock (:meth:`locked`). When the live
    generation cannot be read (deleted, damaged), searches go on with the searcher already open
    and ``damage`` says why, for the repair to rebuild it.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._index = None
        self._searcher = None
        self._facets: FacetArrays | None = None
        self._segments: dict[str, SegmentFacets] = {}
        self._results: OrderedDict[tuple, object] = OrderedDict()  # query.SearchResult by cache key
        #: Why the live generation could not be read last time, or None.
        self.damage: str | None = None
        self._waiting_lines: dict[str, asyncio.Lock] = {}
        #: The synonyms searches apply (curation keeps them in the database; see use_synonyms).
        self.synonyms = Synonyms()

    # generations

    def current_generation(self) -> str | None:
        """The name of the live generation, None when the folder has none."""
        try:
            name = (self.folder / "CURRENT").read_text().strip() or None
        except OSError:  # missing, or the folder is not one
            return None
        return name if name and (self.folder / name).is_dir() else None

    def open_generation(self, name: str):
        """The Whoosh index of generation ``name`` (IndexUnavailable when it cannot be read).

        A commit of another writer may remove the table of contents just listed: opening is then
        tried again on the newer one."""
        for attempt in range(3):
            try:
                return index.open_dir(str(self.folder / name))
            except FileNotFoundError as exc:
                if attempt == 2 or not (self.folder / name).is_dir():
                    raise IndexUnavailable(f"la generazione {name} non si può leggere ({exc})") from exc
            except Exception as exc:  # Whoosh raises several kinds for missing or damaged files
                raise IndexUnavailable(
                    f"la generazione {name} non si può leggere ({type(exc).__name__}: {exc})"
                ) from exc

    def live(self):
        """The live generation's name and index; IndexUnavailable when there is none to read."""
        name = self.current_generation()
        if name is None:
            raise IndexUnavailable("nessuna generazione dell'indice")
        return name, self.open_generation(name)

    def new_generation(self):
        """Create an empty generation folder; return (name, index)."""
        name = f"gen-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
        path = self.folder / name
        path.mkdir(parents=True)
        try:
            (path / "FORMAT").write_text(INDEX_FORMAT + "\n")
            return name, index.create_in(str(path), make_schema())
        except BaseException:
            self.discard_generation(name)
            raise

    def discard_generation(self, name: str) -> None:
        """Remove generation ``name``, one that could not be filled (a full disk, say)."""
        shutil.rmtree(self.folder / name, ignore_errors=True)

    def publish_generation(self, name: str) -> None:
        """Make ``name`` live with an atomic rename, then remove older generations (hold the lock)."""
        pointer = self.folder / f"CURRENT.{os.getpid()}.tmp"
        pointer.write_text(name + "\n")
        os.replace(pointer, self.folder / "CURRENT")
        for old in self.folder.glob("gen-*"):
            if old.name != name and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)  # a worker still reading it keeps its open files
        self.damage = None

    def is_outdated(self, name: str) -> bool:
        """Generation ``name`` was written by another version (documents of another shape)."""
        try:
            return (self.folder / name / "FORMAT").read_text().strip() != INDEX_FORMAT
        except FileNotFoundError:
            return True

    def position(self, name: str) -> dict | None:
        """What generation ``name`` keeps of its position in the outbox, None when it has none."""
        try:
            return json.loads((self.folder / name / "POSITION").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def keep_position(self, name: str, position: dict) -> None:
        """Store the position of generation ``name`` (atomically: a reader sees the old or the new)."""
        draft = self.folder / name / f"POSITION.{os.getpid()}.tmp"
        draft.write_text(json.dumps(position))
        os.replace(draft, self.folder / name / "POSITION")

    @contextlib.asynccontextmanager
    async def locked(self, what: str = "LOCK", wait: float = 120.0):
        """Hold the folder's lock ``what`` (a file lock: every process of this instance takes it).

        The tasks of this process queue for it first; the one at the head tries the file every
        20 ms without holding a thread, so a task cancelled while it waits leaves no lock behind.
        Waits up to ``wait`` seconds; TimeoutError after that.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        async with self._waiting_lines.setdefault(what, asyncio.Lock()):
            with open(self.folder / what, "a") as handle:
                deadline = time.monotonic() + wait
                while True:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"{self.folder / what} is held too long") from None
                        await asyncio.sleep(0.02)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    # searching

    def searcher(self):
        """A searcher on the live generation, reused across queries and refreshed when it changes.

        When the live generation cannot be read, the searcher already open goes on serving (and
        ``damage`` says why); IndexUnavailable when there is none.
        """
        with self._lock:
            try:
                self._refresh()
            except IndexUnavailable as exc:
                self.damage = str(exc)
                if self._searcher is None:
                    raise
            if self._facets is None:
                self._facets = FacetArrays.build(self._searcher, self._segments)
                self._results.clear()
            return self._searcher, self._facets

    def _refresh(self) -> None:
        generation = self.current_generation()
        if generation is None:
            raise IndexUnavailable("nessuna generazione dell'indice")
        if generation != self._generation or self._searcher is None:
            opened = self.open_generation(generation)
            searcher = self._open_searcher(opened, generation)
            self._index, self._generation = opened, generation
        elif self._is_behind(generation):
            # a new searcher, not Searcher.refresh(): refresh() misses commits that only delete
            searcher = self._open_searcher(self._index, generation)
        else:
            return
        if self._searcher is not None:
            self._searcher.close()
        self._searcher, self._facets = searcher, None

    def _is_behind(self, generation: str) -> bool:
        try:
            return not self._searcher.up_to_date()
        except Exception as exc:  # its table of contents is gone or damaged
            raise IndexUnavailable(f"la generazione {generation} non si può leggere ({exc})") from exc

    @staticmethod
    def _open_searcher(opened, generation: str):
        try:
            return opened.searcher()
        except Exception as exc:  # Whoosh raises several kinds for missing or damaged files
            raise IndexUnavailable(f"la generazione {generation} non si può leggere ({exc})") from exc

    def use_synonyms(self, synonyms: Synonyms) -> None:
        """Apply ``synonyms`` from the next search on (cached results of other ones are dropped)."""
        with self._lock:
            if synonyms.version != self.synonyms.version:
                self.synonyms = synonyms
                self._results.clear()

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

    def served(self) -> tuple[str | None, int]:
        """The generation being searched and how many documents it has (0 and None before any)."""
        with self._lock:
            if self._facets is None:
                return self._generation, 0
            return self._generation, int(self._facets.live.sum())

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
            self._generation = None


def write_documents(ix, documents: Iterable[dict], deleted: Iterable[int] = ()) -> None:
    """Add or replace documents and delete others in one commit, waiting for the write lock."""
    writer = ix.writer(timeout=30.0, delay=0.05, **WRITER_OPTIONS)
    try:
        for pid in deleted:
            writer.delete_by_term("pid", str(pid))
        for document in documents:
            writer.update_document(**document)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
