"""Search quality on the demo catalogue: is the process found in the top 5 for queries built from
its own title, typed right, with a typo, or in another inflection? Beside SQLite FTS5.

For ``--queries`` processes picked with ``--seed``, the query is the title's two most distinctive
words (rarest in the catalogue's titles, 4 letters or more). Five sets:

- *right*: the two words as they are;
- *typo*: one of them (5 letters or more) with one typo: two neighbouring letters swapped, one
  dropped, one doubled or one replaced by a neighbouring letter of the alphabet;
- *inflection*: one of them with its last vowel changed (singular/plural, masculine/feminine);
- *text*: the two most distinctive words of the process's summary and description (rarest in
  the catalogue's texts, 5 letters or more, often in no title), as they are;
- *text typo*: the same two words, one of them with one typo.

Osservatorio answers through ``run_search`` on its own index of the demo catalogue (built by
``observatory demo`` in a temporary folder); the reference is SQLite FTS5 (unicode61 with
diacritics removed, BM25) over the same titles and texts, every word required.

    .venv/bin/python bench/quality.py [--queries 100] [--seed 7] [--misses]

It prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

TOP = 5
WORD = re.compile(r"\w+")
VOWELS = {"o": "i", "i": "o", "a": "e", "e": "a"}


def words_of(text: str) -> list[str]:
    return [w.casefold() for w in WORD.findall(text) if len(w) >= 4 and not w.isdigit()]


def distinctive(text: str, frequency: Counter, shortest: int = 4) -> list[str]:
    """The text's two rarest words by ``frequency`` (first occurrence order on a tie); from
    ``shortest`` letters on, letters only (a title's words of 4 letters may hold digits)."""
    words = [
        w for w in dict.fromkeys(words_of(text)) if len(w) >= shortest and (shortest == 4 or w.isalpha())
    ]
    return sorted(words, key=lambda w: (frequency[w], w))[:2]


def with_typo(word: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double", "wrong"))
    if kind == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if kind == "drop":
        return word[:at] + word[at + 1 :]
    if kind == "double":
        return word[:at] + word[at] + word[at:]
    letter = word[at]
    other = chr(ord(letter) + 1) if letter < "z" else "y"
    return word[:at] + other + word[at + 1 :]


def inflected(word: str) -> str | None:
    if word[-1] in VOWELS:
        return word[:-1] + VOWELS[word[-1]]
    return None


def build_demo(folder: Path) -> tuple[str, Path]:
    database = folder / "demo.db"
    env = {
        **os.environ,
        "OBSERVATORY_DATABASE_URL": f"sqlite:///{database}",
        "OBSERVATORY_INDEX_DIR": str(folder / "index"),
    }
    for step in ("migrate", "demo"):
        subprocess.run([sys.executable, "-m", "observatory", step], env=env, check=True, capture_output=True)
    return f"sqlite:///{database}", folder / "index"


def fts_reference(database: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE doc USING fts5(slug UNINDEXED, title, body, "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    source = sqlite3.connect(database)
    rows = source.execute(
        "SELECT slug, title, coalesce(summary,'') || ' ' || coalesce(description,'') || ' ' || "
        "coalesce(goals,'') || ' ' || coalesce(results,'') FROM process WHERE publication = 'published'"
    )
    connection.executemany("INSERT INTO doc VALUES (?, ?, ?)", rows)
    source.close()
    return connection


def fts_top(connection: sqlite3.Connection, words: list[str]) -> list[str]:
    match = " AND ".join('"' + w.replace('"', "") + '"' for w in words)
    rows = connection.execute(
        "SELECT slug FROM doc WHERE doc MATCH ? ORDER BY bm25(doc, 0, 6, 1) LIMIT ?", (match, TOP)
    )
    return [slug for (slug,) in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--misses", action="store_true", help="list the queries whose process is not found")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as temporary:
        database_url, index_dir = build_demo(Path(temporary))
        from observatory.search.index import SearchIndex
        from observatory.search.query import SearchRequest, run_search

        database = Path(database_url.removeprefix("sqlite:///"))
        source = sqlite3.connect(database)
        processes = source.execute(
            "SELECT id, slug, title, coalesce(summary, '') || ' ' || coalesce(description, '') "
            "FROM process WHERE publication = 'published' ORDER BY id"
        ).fetchall()
        source.close()
        frequency = Counter(w for _, _, title, _ in processes for w in set(words_of(title)))
        in_texts = Counter(w for *_, text in processes for w in set(words_of(text)))
        search_index = SearchIndex(index_dir)
        fts = fts_reference(database)
        candidates = [p for p in processes if len(distinctive(p[2], frequency)) == 2]
        picked = rng.sample(candidates, min(args.queries, len(candidates)))
        sets: dict[str, list[tuple[str, list[str]]]] = {
            "right": [],
            "typo": [],
            "inflection": [],
            "text": [],
            "text typo": [],
        }
        for _, slug, title, _ in picked:
            pair = distinctive(title, frequency)
            sets["right"].append((slug, pair))
            long_ones = [i for i, w in enumerate(pair) if len(w) >= 5]
            if long_ones:
                i = rng.choice(long_ones)
                sets["typo"].append((slug, [with_typo(w, rng) if j == i else w for j, w in enumerate(pair)]))
            changeable = [i for i, w in enumerate(pair) if inflected(w)]
            if changeable:
                i = rng.choice(changeable)
                sets["inflection"].append((slug, [inflected(w) if j == i else w for j, w in enumerate(pair)]))
        with_texts = [p for p in processes if len(distinctive(p[3], in_texts, shortest=5)) == 2]
        for _, slug, _, text in rng.sample(with_texts, min(args.queries, len(with_texts))):
            pair = distinctive(text, in_texts, shortest=5)
            sets["text"].append((slug, pair))
            i = rng.randrange(2)
            sets["text typo"].append((slug, [with_typo(w, rng) if j == i else w for j, w in enumerate(pair)]))
        print(f"demo catalogue: {len(processes)} published processes; top {TOP}; seed {args.seed}")
        print(f"{'set':>12} | {'queries':>7} | {'Osservatorio':>12} | {'SQLite FTS5':>11}")
        missed: list[str] = []
        for name, queries in sets.items():
            ours = theirs = 0
            for slug, words in queries:
                slugs = [
                    card["slug"]
                    for card in run_search(
                        search_index, SearchRequest(text=" ".join(words), page_size=TOP)
                    ).cards
                ]
                ours += slug in slugs
                theirs += slug in fts_top(fts, words)
                if args.misses and slug not in slugs:
                    missed.append(f"{name}: «{' '.join(words)}» for {slug}")
            print(f"{name:>12} | {len(queries):>7} | {ours:>12} | {theirs:>11}")
        example = sets["typo"][:5]
        print("typo examples:", "; ".join(" ".join(words) for _, words in example))
        for line in missed:
            print("missed", line)
        search_index.close()


if __name__ == "__main__":
    main()
