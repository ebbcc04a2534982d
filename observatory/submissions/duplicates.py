"""Likely duplicates: published processes, and other open submissions, that may be the one a
submission proposes.

One rule decides both (:func:`_reasons`). The published candidates come from the search index
(the candidates and their list cards); the open submissions from their table. Besides, two small
look-ups: the organisations named as decision holders, and which territories contain which.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from whoosh.query import Or, Term

from observatory.catalogue.tables import OrganisationName, Territory
from observatory.i18n import N_
from observatory.search.index import IndexUnavailable, SearchIndex, make_schema
from observatory.submissions.tables import SUBMISSION_KINDS, SUBMISSION_STATES, Submission
from observatory.text import fold

_TITLE_SIMILAR = 0.5  # share of title words in common (Dice) from which titles count as similar
_CANDIDATES = 40  # index hits looked at for likely duplicates
#: The states of a submission still open to a decision: the ones compared with each other.
OPEN_STATES = ("in_attesa", "modifiche_richieste")


@dataclass
class _Profile:
    """What the rule compares of a process or a submission."""

    #: The analysed words of the title (Italian stems, no stop words).
    words: set[str]
    #: The decision holders: organisation slugs, and folded names of those not in the catalogue.
    holders: set[str]
    #: Each territory's code with the codes of the units containing it.
    places: list[tuple[str, set[str]]]
    #: The years it runs, from the first to the last (infinite when ongoing), or None.
    span: tuple[float, float] | None


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


@cache
def _title_field():
    return make_schema()["title"]


def _title_words(text: Any) -> set[str]:
    """The analysed words of a title, as the index analyses titles."""
    return set(_title_field().process_text(text, mode="query")) if isinstance(text, str) and text else set()


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _reasons(mine: _Profile, theirs: _Profile) -> tuple[list[str], float] | None:
    """Why ``theirs`` may be the same process as ``mine``, and the score that ranks it; None when
    it likely is not. A similar title is enough; otherwise the same holder must come with another
    reason. The score is the number of reasons plus the title's likeness (0 to 1)."""
    likeness = _dice(mine.words, theirs.words)
    reasons = []
    if likeness >= _TITLE_SIMILAR:
        reasons.append(N_("titolo simile"))
    if mine.holders & theirs.holders:
        reasons.append(N_("stesso titolare"))
    if any(
        a == b or a in b_chain or b in a_chain for a, a_chain in mine.places for b, b_chain in theirs.places
    ):
        reasons.append(N_("stesso territorio"))
    if _overlap(mine.span, theirs.span):
        reasons.append(N_("anni sovrapposti"))
    if "titolo simile" not in reasons and len(reasons) < 2:
        return None  # the same decision holder alone is no sign of a duplicate
    return reasons, round(len(reasons) + likeness, 3)


async def _holder_keys(names: Iterable[Any]) -> dict[str, str]:
    """Each folded name among ``names`` with its key: the slug of the organisation it names, or the
    folded name itself when the catalogue has none."""
    keys = {fold(name) for name in names if isinstance(name, str) and fold(name)}
    if not keys:
        return {}
    rows = await OrganisationName.select(
        OrganisationName.name_key, OrganisationName.organisation.slug.as_alias("slug")
    ).where(OrganisationName.name_key.is_in(sorted(keys)))
    found = {row["name_key"]: row["slug"] for row in rows}
    return {key: found.get(key, f"nome:{key}") for key in keys}


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


def _codes(record: Mapping[str, Any]) -> set[str]:
    return {c for c in record.get("territories") or [] if isinstance(c, str)}


def _profile(record: Mapping[str, Any], holders: dict[str, str], chains: dict[str, set[str]]) -> _Profile:
    """The profile of a proposed record (``holders`` and ``chains`` must cover its names and places)."""
    names = {fold(name) for name in record.get("decision_holders") or [] if isinstance(name, str)}
    return _Profile(
        words=_title_words(record.get("title")),
        holders={holders[key] for key in names if key in holders},
        places=[(c, chains[c]) for c in _codes(record) if c in chains],
        span=_span(record.get("start_year"), record.get("end_year"), record.get("ongoing")),
    )


async def likely_duplicates(
    search_index: SearchIndex,
    record: Mapping[str, Any],
    exclude_process_id: int | None = None,
    limit: int = 5,
) -> list[dict]:
    """Published processes that may be the one ``record`` proposes, most likely first.

    Candidates come from the index: processes sharing words with the title (in their title or in
    the names of bodies and places) and processes of the same decision holders. Each gets its
    reasons (see :func:`_reasons`): "titolo simile" (at least half the title words in common),
    "stesso titolare", "stesso territorio" (the same territory, or one containing the other) and
    "anni sovrapposti".
    Each item: slug, title, start_year, end_year, ongoing, decision_holders and territories (as in
    process lists), reasons (list of str) and score.
    """
    holders = await _holder_keys(record.get("decision_holders") or [])
    try:
        searcher, arrays = search_index.searcher()
    except IndexUnavailable:  # a submission goes through without the warning while the index is rebuilt
        return []
    words = _title_words(record.get("title"))
    candidates: set[int] = set()
    if words:
        query = Or([Term(name, word) for name in ("title", "about") for word in sorted(words)])
        candidates.update(hit.docnum for hit in searcher.search(query, limit=_CANDIDATES))
    slugs = {key for key in holders.values() if not key.startswith("nome:")}
    if slugs:
        mask = arrays.mask_for("titolare", slugs) & arrays.live
        candidates.update(int(docnum) for docnum in mask.nonzero()[0][: _CANDIDATES * 5])
    cards = [
        searcher.stored_fields(docnum)["card"]
        for docnum in sorted(candidates)
        if int(arrays.pid[docnum]) != exclude_process_id
    ]
    chains = await _chains(_codes(record) | {t["code"] for card in cards for t in card["territories"]})
    mine = _profile(record, holders, chains)
    found = []
    for card in cards:
        theirs = _Profile(
            words=_title_words(card["title"]),
            holders={h["slug"] for h in card["decision_holders"]},
            places=[(t["code"], chains[t["code"]]) for t in card["territories"] if t["code"] in chains],
            span=_span(card["start_year"], card["end_year"], card["ongoing"]),
        )
        if judged := _reasons(mine, theirs):
            found.append(dict(card, reasons=judged[0], score=judged[1]))
    found.sort(key=lambda item: (-item["score"], item["title"]))
    return found[:limit]


async def pending_duplicates(submission_ids: Iterable[int], limit: int = 5) -> dict[int, list[dict]]:
    """For each open submission of ``submission_ids``, the other open submissions (waiting, or
    waiting for their submitters' changes) that likely propose the same process, by the rule of
    :func:`likely_duplicates`, most likely first; submissions with none are left out.

    Each item: id, title, kind_label, state, state_label, created_at, reasons (list of str) and score.
    """
    wanted = set(submission_ids)
    rows = (
        await Submission.select(
            Submission.id, Submission.kind, Submission.state, Submission.data, Submission.created_at
        )
        .where(Submission.state.is_in(list(OPEN_STATES)))
        .order_by(Submission.id)
        .output(load_json=True)
    )
    if not wanted & {row["id"] for row in rows}:
        return {}
    records = {row["id"]: row["data"].get("process") or {} for row in rows}
    holders = await _holder_keys(name for r in records.values() for name in r.get("decision_holders") or [])
    chains = await _chains({code for r in records.values() for code in _codes(r)})
    profiles = {number: _profile(r, holders, chains) for number, r in records.items()}
    found: dict[int, list[dict]] = {}
    for row in rows:
        if row["id"] not in wanted:
            continue
        twins = []
        for other in rows:
            if other["id"] != row["id"] and (judged := _reasons(profiles[row["id"]], profiles[other["id"]])):
                twins.append(
                    {
                        "id": other["id"],
                        "title": records[other["id"]].get("title") or "senza titolo",
                        "kind_label": SUBMISSION_KINDS[other["kind"]],
                        "state": other["state"],
                        "state_label": SUBMISSION_STATES[other["state"]],
                        "created_at": other["created_at"],
                        "reasons": judged[0],
                        "score": judged[1],
                    }
                )
        if twins:
            twins.sort(key=lambda item: (-item["score"], item["id"]))
            found[row["id"]] = twins[:limit]
    return found
