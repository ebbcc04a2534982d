"""Processi simili benchmark: what the similar processes of one process page cost, and how alike they are.

It reuses the synthetic catalogue of bench/search.py (with ``--folder DIR``, the one kept in
``DIR/search-N-SEED``; built there first when missing, which takes minutes at 100,000), opens its
index and, for ``--pages`` published processes drawn from ``--seed``, times
``searching.similar_processes`` once each after 20 warm-up pages: median and 95th percentile in
milliseconds of wall clock (which counts other programs too), and the CPU time a page takes on
average. Beside the times, the share of pages whose first similar process has the page's kind, and
whose first shares a comune, province or region with it.

    .venv/bin/python bench/similar.py [--size 100000] [--folder DIR] [--pages 200] [--seed 2024]

It prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search as search_bench  # noqa: E402  (bench/search.py: the catalogue and its folder)

from observatory.catalogue import searching  # noqa: E402
from observatory.search.index import SearchIndex  # noqa: E402
from observatory.search.likeness import most_alike  # noqa: E402

WARM_UP = 20


def _facets(search_index: SearchIndex, pid: int) -> dict:
    searcher, _ = search_index.searcher()
    return searcher.stored_fields(searcher.document_number(pid=str(pid)))["facets"]


def run(size: int, folder: Path, pages: int, seed: int) -> None:
    sources, origin = search_bench.read_sources()
    print(f"{size:,} processes from {len(sources)} reports of {origin}")
    figures = search_bench.Figures(size=size)
    catalogue = search_bench.prepare_catalogue(size, sources, seed, folder, figures)
    search_index = SearchIndex(catalogue.index_dir)
    _, arrays = search_index.searcher()
    pids = arrays.pid[arrays.live].tolist()
    drawn = random.Random(f"{seed}-similar").sample(pids, WARM_UP + pages)
    for pid in drawn[:WARM_UP]:
        asyncio.run(searching.similar_processes(search_index, pid))
    seconds, same_kind, nearby = [], 0, 0
    cpu = time.process_time()
    for pid in drawn[WARM_UP:]:
        started = time.perf_counter()
        asyncio.run(searching.similar_processes(search_index, pid))
        seconds.append(time.perf_counter() - started)
        cpu -= time.process_time()  # the quality figures below are not timed
        alike = most_alike(search_index, pid, searching.SIMILAR_PROCESSES, 1)
        if alike:
            own, first = _facets(search_index, pid), _facets(search_index, alike[0])
            same_kind += own["single"].get("tipo") == first["single"].get("tipo")
            places = {code for code in own["many"]["territorio"] if code[0] in "CPR"}
            nearby += bool(places & set(first["many"]["territorio"]))
        cpu += time.process_time()
    cpu = time.process_time() - cpu
    median, p95 = search_bench.percentiles(seconds)
    print(f"similar processes of {pages} pages: median {median:.1f} ms, p95 {p95:.1f} ms (wall clock);")
    print(f"  {cpu * 1000 / pages:.1f} ms of CPU a page on average")
    print(f"the first similar process has the page's kind in {same_kind / pages:.0%} of pages")
    print(f"it shares a comune, province or region with the page's in {nearby / pages:.0%}")
    search_index.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="processes in the catalogue")
    parser.add_argument("--folder", type=Path, help="where bench/search.py keeps its catalogues")
    parser.add_argument("--pages", type=int, default=200, help="process pages timed")
    parser.add_argument("--seed", type=int, default=2024, help="the catalogue's and the pages' seed")
    args = parser.parse_args()
    if args.folder:
        run(args.size, args.folder, args.pages, args.seed)
        return
    with tempfile.TemporaryDirectory(prefix="osservatorio-similar-") as folder:
        run(args.size, Path(folder), args.pages, args.seed)


if __name__ == "__main__":
    main()
