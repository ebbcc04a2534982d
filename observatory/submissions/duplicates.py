"""Likely duplicates: published processes that may be the one a submission proposes.

Everything comes from the search index (the candidates and their list cards) but two small
look-ups: the organisations named as decision holders, and which territories contain which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from whoosh.query import Or, Term

from observatory.catalogue.tables import Organisation, OrganisationName, Territory
from observatory.search.index import IndexUnavailable, SearchIndex
from observatory.text import fold

_TITLE_SIMILAR = 0.5  # share of title words in common (Dice) from which titles count as similar
_CANDIDATES = 40  # index hits looked at for likely duplicates


def _span(start: Any, end: Any, ongoing: Any) -> tuple[float, float] | None:
    start = start if isinstance(start, int) else None
    end = end if isinstance(end, int) else None
    low = start if start is not None else end
    if low is None:
        return None
    high = end if end is not None else (float("inf") if ongoing is True else low)
    return low, high


def _overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


def _title_words(searcher, text: str) -> set[str]:
    """The analysed words (Italian stems, no stop words) of a title."""
    return set(searcher.schema["title"].process_text(text, mode="query"))


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


async def _holder_slugs(names: list[str]) -> set[str]:
    keys = {fold(name) for name in names if isinstance(name, str) and fold(name)}
    if not keys:
        return set()
    ids = OrganisationName.select(OrganisationName.organisation).where(
        OrganisationName.name_key.is_in(list(keys))
    )
    return set(
        await Organisation.select(Organisation.slug).where(Organisation.id.is_in(ids)).output(as_list=True)
    )


async def _chains(codes: set[str]) -> dict[str, set[str]]:
    """Each code with the codes of the units containing it (Italy left out: it contains everything)."""
    if not codes:
        return {}
    rows = await Territory.select(Territory.code, Territory.region_code, Territory.province_code).where(
        Territory.code.is_in(list(codes))
    )
    return {
        row["code"]: {c for c in (row["code"], row["region_code"], row["province_code"]) if c and c != "IT"}
        for row in rows
    }


async def likely_duplicates(
    search_index: SearchIndex,
    record: Mapping[str, Any],
    exclude_process_id: int | None = None,
    limit: int = 5,
) -> list[dict]:
    """Published processes that may be the one ``record`` proposes, most likely first.

    Candidates come from the index: processes sharing words with the title (in their title or in
    the names of bodies and places) and processes of the same decision holders. Each gets its
    reasons: "titolo simile" (at least half the title words in common), "stesso titolare", "stesso
    territorio" (the same territory, or one containing the other) and "anni sovrapposti". A similar
    title is enough; otherwise the same holder must come with another reason. Ranked by the number
    of reasons plus the title's likeness (0 to 1).
    Each item: slug, title, start_year, end_year, ongoing, decision_holders and territories (as in
    process lists), reasons (list of str) and score.
    """
    title = record.get("title") if isinstance(record.get("title"), str) else ""
    holders = await _holder_slugs(list(record.get("decision_holders") or []))
    try:
        searcher, arrays = search_index.searcher()
    except IndexUnavailable:  # a submission goes through without the warning while the index is rebuilt
        return []
    words = _title_words(searcher, title) if title else set()
    candidates: set[int] = set()
    if words:
        query = Or([Term(name, word) for name in ("title", "about") for word in sorted(words)])
        candidates.update(hit.docnum for hit in searcher.search(query, limit=_CANDIDATES))
    if holders:
        mask = arrays.mask_for("titolare", holders) & arrays.live
        candidates.update(int(docnum) for docnum in mask.nonzero()[0][: _CANDIDATES * 5])
    cards = [
        searcher.stored_fields(docnum)["card"]
        for docnum in sorted(candidates)
        if int(arrays.pid[docnum]) != exclude_process_id
    ]
    codes = {c for c in record.get("territories") or [] if isinstance(c, str)}
    chains = await _chains(codes | {t["code"] for card in cards for t in card["territories"]})
    mine = [(c, chains[c]) for c in codes if c in chains]
    span = _span(record.get("start_year"), record.get("end_year"), record.get("ongoing"))
    found = []
    for card in cards:
        likeness = _dice(words, _title_words(searcher, card["title"]))
        reasons = []
        if likeness >= _TITLE_SIMILAR:
            reasons.append("titolo simile")
        if holders & {h["slug"] for h in card["decision_holders"]}:
            reasons.append("stesso titolare")
        theirs = [(t["code"], chains[t["code"]]) for t in card["territories"] if t["code"] in chains]
        if any(a == b or a in b_chain or b in a_chain for a, a_chain in mine for b, b_chain in theirs):
            reasons.append("stesso territorio")
        if _overlap(span, _span(card["start_year"], card["end_year"], card["ongoing"])):
            reasons.append("anni sovrapposti")
        if "titolo simile" not in reasons and len(reasons) < 2:
            continue  # the same decision holder alone is no sign of a duplicate
        found.append(dict(card, reasons=reasons, score=round(len(reasons) + likeness, 3)))
    found.sort(key=lambda item: (-item["score"], item["title"]))
    return found[:limit]
