"""The documents of the search index: what a published process gives the index to search,
filter, count and show, built from the field declarations (fields.py).
"""

from __future__ import annotations

from typing import Any

from observatory.catalogue import fields, services
from observatory.catalogue.records import empty
from observatory.catalogue.tables import OrganisationName, Process, Territory
from observatory.text import fold


async def _ancestors(codes: set[str]) -> dict[str, list[dict]]:
    """For each territory code, the units above it, biggest first (IT, region, province)."""
    if not codes:
        return {}
    rows = await Territory.select(Territory.code, Territory.region_code, Territory.province_code).where(
        Territory.code.is_in(list(codes))
    )
    above = {code for row in rows for code in (row["region_code"], row["province_code"]) if code} | {"IT"}
    names = {
        row["code"]: {"code": row["code"], "name": row["name"]}
        for row in await Territory.select(Territory.code, Territory.name).where(
            Territory.code.is_in(list(above))
        )
    }
    result = {}
    for row in rows:
        chain = ["IT"] if row["code"] != "IT" else []
        chain += [c for c in (row["region_code"], row["province_code"]) if c and c != row["code"]]
        result[row["code"]] = [names[c] for c in chain if c in names]
    return result


async def _alt_names(slugs: set[str]) -> dict[str, list[str]]:
    if not slugs:
        return {}
    rows = await OrganisationName.select(
        OrganisationName.name, OrganisationName.organisation.slug.as_alias("slug")
    ).where(OrganisationName.organisation.slug.is_in(list(slugs)))
    result: dict[str, list[str]] = {}
    for row in rows:
        result.setdefault(row["slug"], []).append(row["name"])
    return result


async def documents_for(process_ids: list[int]) -> list[dict]:
    """Index documents of those processes that are published."""
    public = (
        await Process.select(Process.id)
        .where(Process.id.is_in(process_ids), services.published())
        .output(as_list=True)
    )
    details = await services.process_details(public)
    codes = {t["code"] for d in details for t in d["territories"]}
    slugs = {o["slug"] for d in details for o in d["decision_holders"] + d["organisations"]}
    ancestors, alt_names = await _ancestors(codes), await _alt_names(slugs)
    return [document_for(detail, ancestors, alt_names) for detail in details]


def _texts(declared: fields.Field, value: Any) -> list[str]:
    """The words a field gives the index: its text, or the searched parts of its rows or group."""
    if empty(value):
        return []
    if declared.type == fields.ROWS:
        parts = [p for p in declared.parts if p.searched]
        return [" ".join(str(row[p.name]) for p in parts if not empty(row.get(p.name))) for row in value]
    if declared.type == fields.GROUP:
        return [text for p in declared.parts if p.searched for text in _texts(p, value.get(p.name))]
    return [str(value)]


def territorial_scale(territories: list[dict], ancestors: dict[str, list[dict]]) -> str | None:
    """How far a process reaches (a key of fields.TERRITORIAL_SCALES), from its own territories.

    A process of the whole country is national, not in every region; one in five comuni of one
    province reaches "piu_comuni", once.
    """
    if not territories:
        return None
    codes = [t["code"] for t in territories]
    if "IT" in codes:
        return "nazionale"
    chains = {code: [above["code"] for above in ancestors.get(code, [])] + [code] for code in codes}
    regions = {next((c for c in chain if c.startswith("R")), None) for chain in chains.values()}
    provinces = {next((c for c in chain if c.startswith("P")), None) for chain in chains.values()}
    if len(regions) > 1:
        return "piu_regioni"
    if any(code.startswith("R") for code in codes):
        return "regionale"
    if len(provinces) > 1 or any(code.startswith("P") for code in codes):
        return "provinciale"
    return "piu_comuni" if len(codes) > 1 else "comunale"


def _value_at(detail: dict, path: str) -> Any:
    """The value at a dotted path of a process's detail ("funding.programme"); None inside nothing."""
    value: Any = detail
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _facet(declared: fields.Field, value: Any, places: list[dict]) -> tuple[Any, dict[str, str]]:
    """A facet's value (or values) in a process, and their labels."""
    if declared.type == fields.TEXT:
        value = " ".join(value.split()) if isinstance(value, str) and value.strip() else None
        return value, ({value: value} if value else {})
    if declared.type == fields.TERM:
        return (value["slug"] if value else None), ({value["slug"]: value["label"]} if value else {})
    if declared.type == fields.CHOICE:
        return value, ({value: (declared.choices or {})[value]} if value else {})
    if declared.type == fields.TERMS:
        return [t["slug"] for t in value], {t["slug"]: t["label"] for t in value}
    if declared.type == fields.TERRITORIES:
        return list(dict.fromkeys(p["code"] for p in places)), {p["code"]: p["name"] for p in places}
    return list(dict.fromkeys(o["slug"] for o in value)), {o["slug"]: o["name"] for o in value}


def document_for(detail: dict, ancestors: dict[str, list[dict]], alt_names: dict[str, list[str]]) -> dict:
    """The index document of a published process, from services.process_detail().

    Its text fields take the fields declared ``searched``; its facets those declared with a
    ``facet`` (the facet of organisations counts every organisation, decision holders included).
    """
    organisations = detail["decision_holders"] + detail["organisations"]
    names = [o["name"] for o in organisations] + [
        n for o in organisations for n in alt_names.get(o["slug"], [])
    ]
    places, parents = [], {}
    for territory in detail["territories"]:
        chain = [*ancestors.get(territory["code"], []), territory]
        places.extend(chain)
        parents |= {
            place["code"]: above["code"] if above else None
            for above, place in zip([None, *chain], chain, strict=False)
        }
    about = [d for d in fields.FIELDS if d.searched == "about" and d.type in (fields.TERM, fields.TERMS)]
    labels = [term["label"] for d in about for term in _terms(detail[d.name])]
    body = [text for d in fields.FIELDS if d.searched == "body" for text in _texts(d, detail[d.name])]
    facets: dict[str, Any] = {"single": {}, "many": {}, "labels": {}, "parents": parents}
    derived = {
        "territorial_scale": territorial_scale(detail["territories"], ancestors),
        # the facet of organisations counts every organisation, decision holders included
        "organisations": organisations,
    }
    for name, (path, declared) in fields.FACETED.items():
        value = derived[path] if path in derived else _value_at(detail, path)
        value, value_labels = _facet(declared, value, places)
        facets["many" if declared.many else "single"][name] = value
        facets["labels"][declared.facet] = value_labels
    facets |= {
        "start_year": detail["start_year"],
        "end_year": detail["end_year"],
        "ongoing": detail["ongoing"],
        "investment": _investment(detail),
        "updated": detail["updated_at"].timestamp(),
        "title_key": fold(detail["title"]),
    }
    return {
        "pid": str(detail["id"]),
        "title": detail["title"],
        "about": "\n".join([*names, *(p["name"] for p in places), *labels]),
        "body": "\n".join(body),
        "spell": "\n".join([detail["title"], *names, *(p["name"] for p in places), *labels]),
        "facets": facets,
        "card": card_for(detail),
        "start_year": detail["start_year"] if detail["start_year"] is not None else 0,
    }


def _investment(detail: dict) -> float | None:
    """The process's total investment in euro, when its funding says it."""
    amount = _value_at(detail, "funding.total_investment")
    return None if amount is None else float(amount)


def _terms(value: Any) -> list[dict]:
    return value if isinstance(value, list) else [value] if value else []


#: What a card keeps of each reference: a term's slug and label, an organisation's slug and name...
_CARD_KEYS = {
    fields.TERM: ("slug", "label"),
    fields.NAMES: ("slug", "name"),
    fields.TERRITORIES: ("code", "name", "level"),
}


def _card_value(declared: fields.Field, value: Any) -> Any:
    keys = _CARD_KEYS.get(declared.type)
    if keys is None or value is None:
        return value
    if isinstance(value, list):
        return [{key: item[key] for key in keys} for item in value]
    return {key: value[key] for key in keys}


def card_for(detail: dict) -> dict:
    """What a list shows of a process (fields.CARD_FIELDS), kept in the index so that a page of
    search results needs no database query; with each organisation's roles in it, for the lists of
    an organisation's processes."""
    card = {name: _card_value(fields.BY_NAME[name], detail[name]) for name in fields.CARD_FIELDS}
    roles: dict[str, list[str]] = {}
    for organisation in detail["decision_holders"] + detail["organisations"]:
        roles.setdefault(organisation["slug"], []).append(organisation["role"])
    return card | {"organisation_roles": roles}
