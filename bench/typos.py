"""Typo candidates: how long finding the catalogue's words within a typo or two of a query word
takes, three ways, on a built index (``--index``, for example the one bench/search.py keeps with
``--folder``; without it, the demo catalogue's, built in a temporary folder):

- *SymSpell* (what search uses, search/typos.py): the deletion dictionary written beside each
  segment, one binary search per deletion of the typed word;
- *scan*: every word of the vocabulary compared with the typed word by rapidfuzz (OSA, with a
  cutoff), as spelling corrections do for the words they may change;
- *automaton*: Whoosh's Levenshtein automaton run over the sorted terms of the ``spell`` field
  (``reader.terms_within``), the other usual structure.

The words are vocabulary words (5 letters or more) with one seeded typo each (two from 9 letters);
each way looks up every word once, per segment, after a warm-up. Printed: words in the vocabulary,
p50/p95 per word in ms, and how many candidates each way found on average.

    .venv/bin/python bench/typos.py [--index DIR] [--words 500] [--seed 7]

It prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from quality import build_demo, with_typo

from observatory.search.index import SearchIndex
from observatory.search.typos import allowed_edits


def misspelt(words: list[str], count: int, rng: random.Random) -> list[str]:
    """``count`` words of 5 letters or more, each with one typo (two from 9 letters)."""
    long_words = [word for word in words if len(word) >= 5 and word.isascii()]
    typed = []
    for word in rng.sample(long_words, min(count, len(long_words))):
        wrong = with_typo(word, rng)
        if allowed_edits(wrong) > 1:
            wrong = with_typo(wrong, rng)
        typed.append(wrong)
    return typed


def timed(lookup, typed: list[str]) -> tuple[float, float, float]:
    """p50 and p95 in ms of ``lookup`` over ``typed`` (after a warm-up), and the mean candidates."""
    for word in typed[:20]:
        lookup(word)
    seconds, found = [], []
    for word in typed:
        started = time.perf_counter()
        found.append(len(lookup(word)))
        seconds.append(time.perf_counter() - started)
    p50, p95 = np.percentile(np.array(seconds) * 1000, [50, 95])
    return float(p50), float(p95), float(np.mean(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="an index folder (default: the demo catalogue's)")
    parser.add_argument("--words", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.index is None:
        with tempfile.TemporaryDirectory() as folder:
            measure(build_demo(Path(folder))[1], args)
    else:
        measure(args.index, args)


def measure(index: Path, args: argparse.Namespace) -> None:
    """Print the figures of the three ways on the index in folder ``index``."""
    search_index = SearchIndex(index)
    searcher, arrays = search_index.searcher()
    segments = [(part.deletions(reader), reader) for part, reader in arrays._segments]
    vocabulary = sorted({word for deletions, _ in segments for word in deletions.words})
    typed = misspelt(vocabulary, args.words, random.Random(args.seed))
    print(f"{searcher.doc_count():,} processes, {len(segments)} segments, {len(vocabulary):,} words")

    def symspell(word: str) -> set[str]:
        return {c for deletions, _ in segments for c in deletions.close_words(word, allowed_edits(word))}

    def scan(word: str) -> set[str]:
        return {c for deletions, _ in segments for c in deletions.nearby_words(word, allowed_edits(word))}

    def automaton(word: str) -> set[str]:
        return {
            term.decode() if isinstance(term, bytes) else term
            for _, reader in segments
            for term in reader.terms_within("spell", word, allowed_edits(word))
        }

    print(f"{'way':>10} | p50 ms | p95 ms | candidates")
    for name, lookup in (("SymSpell", symspell), ("scan", scan), ("automaton", automaton)):
        p50, p95, found = timed(lookup, typed)
        print(f"{name:>10} | {p50:6.3f} | {p95:6.3f} | {found:.1f}")
    search_index.close()


if __name__ == "__main__":
    main()
