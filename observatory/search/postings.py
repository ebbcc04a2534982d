"""Posting columns: each segment's postings of the searched text, as arrays numpy reads in place.

Whoosh keeps postings in pickled, compressed blocks of 128, positions included: reading the
100,000 postings of a common word costs about 30 ms of unpickling. When a segment is written,
:class:`PostingColumnsWriter` also writes, beside Whoosh's files, the document numbers, weights
and positions of every term of the text fields that has at least MIN_POSTINGS of them, one term
after another; :class:`PostingColumns` maps that file into memory, so a term's postings are array
slices. Positions are the posting values as analysis.ItalianPositions writes them (arrays of
32-bit integers), copied as they are, and where each posting's begin. Rarer terms, and segments
written without the file, are read from Whoosh's blocks as before. The file is part of the segment:
Whoosh removes it with the segment's other files.
"""

from __future__ import annotations

import json
from array import array

import numpy as np
from whoosh.codec.whoosh3 import W3FieldWriter

from observatory.search import typos
from observatory.search.analysis import POSITION_SIZE
from observatory.search.segments import segment_file

#: The segment file's extension.
EXTENSION = ".npc"
#: Terms with fewer postings than this stay in Whoosh's blocks alone (one block reads fast).
MIN_POSTINGS = 64
_ALIGN = 8


class PostingColumnsWriter(W3FieldWriter):
    """Whoosh 3's field writer, also keeping the postings of the fields ``columned`` names, and
    writing the typo dictionary of the words of field ``vocabulary`` and of ``texts``."""

    def __init__(self, codec, storage, segment, columned: frozenset[str], vocabulary: str, texts):
        super().__init__(codec, storage, segment)
        self._columned = columned
        self._vocabulary_field = vocabulary
        self._vocabulary: dict[str, int] = {}  # word → documents
        self._texts = texts  # typos.WordCollector of the segment's stored texts
        self._collecting = self._counting = False
        self._term_docs = array("I")
        self._term_weights = array("f")
        self._term_values: list[bytes] = []
        self._docs = array("I")
        self._weights = array("f")
        self._value_ends = array("Q")  # where each posting's positions end, in positions
        self._positions = bytearray()
        self._terms: dict[str, dict[str, list[int]]] = {}

    def start_field(self, fieldname, fieldobj):
        super().start_field(fieldname, fieldobj)
        self._collecting = fieldname in self._columned

    def start_term(self, btext):
        super().start_term(btext)
        self._counting = self._fieldname == self._vocabulary_field and typos.vocabulary_word(
            word := btext.decode("utf-8")
        )
        if self._counting:
            self._vocabulary[word] = 0
        if self._collecting:
            self._term_docs, self._term_weights, self._term_values = array("I"), array("f"), []

    def add(self, docnum, weight, vbytes, length):
        super().add(docnum, weight, vbytes, length)
        if self._counting:
            self._vocabulary[self._btext.decode("utf-8")] += 1
        if self._collecting:
            self._term_docs.append(docnum)
            self._term_weights.append(weight)
            self._term_values.append(vbytes)

    def finish_term(self):
        super().finish_term()
        if self._collecting and len(self._term_docs) >= MIN_POSTINGS:
            terms = self._terms.setdefault(self._fieldname, {})
            terms[self._btext.decode("utf-8")] = [len(self._docs), len(self._term_docs)]
            self._docs.extend(self._term_docs)
            self._weights.extend(self._term_weights)
            end = len(self._positions) // POSITION_SIZE
            for value in self._term_values:
                end += len(value) // POSITION_SIZE
                self._value_ends.append(end)
            self._positions += b"".join(self._term_values)

    def close(self):
        super().close()
        positions = len(self._positions) // POSITION_SIZE
        header = {"terms": self._terms, "count": len(self._docs), "positions": positions}
        header = json.dumps(header).encode("utf-8")
        header += b" " * (-len(header) % _ALIGN)
        handle = self._segment.create_file(self._storage, EXTENSION)
        try:
            handle.write(len(header).to_bytes(_ALIGN, "little"))
            handle.write(header)
            handle.write(np.asarray(self._docs, dtype="<u4").tobytes())
            handle.write(np.asarray(self._weights, dtype="<f4").tobytes())
            handle.write(np.asarray(self._value_ends, dtype="<u8").tobytes())
            handle.write(bytes(self._positions) + b"\0" * (-len(self._positions) % _ALIGN))
        finally:
            handle.close()
        handle = self._segment.create_file(self._storage, typos.EXTENSION)
        try:
            words = self._texts.words()
            for word, count in self._vocabulary.items():  # a title's words are in both
                words[word] = max(count, words.get(word, 0))
            typos.Deletions.build(words).write(handle)
        finally:
            handle.close()


class PostingColumns:
    """The posting columns of one segment, mapped into memory."""

    def __init__(self, data: np.ndarray):
        size = int.from_bytes(data[:_ALIGN].tobytes(), "little")
        header = json.loads(data[_ALIGN : _ALIGN + size].tobytes())
        self._terms: dict[str, dict[str, list[int]]] = header["terms"]
        start, count = _ALIGN + size, header["count"]
        self._docs = data[start : start + 4 * count].view("<u4")
        self._weights = data[start + 4 * count : start + 8 * count].view("<f4")
        start += 8 * count
        self._value_ends = data[start : start + 8 * count].view("<u8")
        start += 8 * count
        self._positions = data[start : start + POSITION_SIZE * header["positions"]].view(np.uint32)

    @classmethod
    def of(cls, reader) -> PostingColumns | None:
        """The columns of a segment reader's segment; None when it was written without them."""
        data = segment_file(reader, EXTENSION)
        return cls(data) if data is not None else None

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Document numbers (local to the segment) and weights of a term; None when not kept here."""
        found = self._terms.get(fieldname, {}).get(text)
        if found is None:
            return None
        start, count = found
        return self._docs[start : start + count], self._weights[start : start + count]

    def positions(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """A term's document numbers (local to the segment), where each posting's positions end in
        the third array, and the positions; None when the term is not kept here."""
        found = self._terms.get(fieldname, {}).get(text)
        if found is None:
            return None
        start, count = found
        ends = self._value_ends[start : start + count]
        first = int(self._value_ends[start - 1]) if start else 0
        last = int(ends[-1]) if count else first
        return self._docs[start : start + count], ends.astype(np.int64) - first, self._positions[first:last]
