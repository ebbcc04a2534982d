"""Structured data of a process page: schema.org JSON-LD, for search engines and harvesters.

A process is a schema.org ``Project`` (a kind of ``Organization``), so it takes the properties of an
organisation: its organisations as ``member`` (each in an ``OrganizationRole`` naming its role),
``sponsor`` (promoters) and ``funder``, its funding as a ``MonetaryGrant``, its years as
``foundingDate`` and ``dissolutionDate`` (a Project has no ``startDate``), its territories as
``location``. What belongs to the record rather than to the process (when it changed, its licence)
is said of the page, its ``mainEntityOfPage``.
"""

from __future__ import annotations

import json

from markupsafe import Markup

from observatory.catalogue.tables import LICENCE_URLS
from observatory.opendata.feeds import atom_moment, entry_id, summary_text

#: How the roles of organisations in a process are said: by which property of the Project.
ROLE_PROPERTIES = {"promotore": "sponsor", "finanziatore": "funder"}
#: What JSON-LD must not hold raw inside a <script> element, and how it is written instead.
_SCRIPT_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def _organisation(organisation: dict, base_url: str) -> dict:
    return {
        "@type": "Organization",
        "name": organisation["name"],
        "url": f"{base_url}/enti/{organisation['slug']}",
    }


def _place(territory: dict, base_url: str) -> dict:
    place = {"@type": "Country" if territory["level"] == "paese" else "AdministrativeArea"}
    place |= {"name": territory["name"], "url": f"{base_url}/territori/{territory['code']}"}
    if territory["level"] == "paese":
        place["identifier"] = territory["code"]
    else:  # the ISTAT code, without the catalogue's letter for the level (C001272 is comune 001272)
        place["identifier"] = {
            "@type": "PropertyValue",
            "propertyID": "ISTAT",
            "value": territory["code"][1:],
        }
    return place


def _point(process: dict) -> dict | None:
    if process["latitude"] is None:
        return None
    place = {"@type": "Place", "name": process["address"] or process["district"] or process["title"]}
    place["geo"] = {
        "@type": "GeoCoordinates",
        "latitude": process["latitude"],
        "longitude": process["longitude"],
    }
    return place


def _funding(process: dict, funders: list[dict]) -> dict | None:
    funding = process["funding"]
    if not funding or (funding["total_investment"] is None and not funding["programme"]):
        return None
    grant: dict = {
        "@type": "MonetaryGrant",
        "name": funding["programme"] or funding["fund"],
        "funder": funders,
    }
    if funding["total_investment"] is not None:
        grant["amount"] = {
            "@type": "MonetaryAmount",
            "currency": "EUR",
            "value": float(funding["total_investment"]),
        }
    return grant


def process_json_ld(process: dict, base_url: str) -> dict:
    """The schema.org description of a published process (a detail of services.process_detail)."""
    url = f"{base_url}/processi/{process['slug']}"
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Project",
        "@id": f"{url}#processo",
        "name": process["title"],
        "description": summary_text(process) or None,
        "url": url,
        "identifier": entry_id(base_url, process["id"]),
        "foundingDate": str(process["start_year"]) if process["start_year"] else None,
        "dissolutionDate": str(process["end_year"]) if process["end_year"] else None,
        "keywords": [
            term["label"] for term in (process["kind"], process["theme"], *process["topics"]) if term
        ],
        "location": [_place(territory, base_url) for territory in process["territories"]],
    }
    if point := _point(process):
        data["location"].append(point)
    by_property: dict[str, list[dict]] = {"member": [], "sponsor": [], "funder": []}
    for organisation in [*process["decision_holders"], *process["organisations"]]:
        described = _organisation(organisation, base_url)
        if organisation["role"] in ROLE_PROPERTIES:
            by_property[ROLE_PROPERTIES[organisation["role"]]].append(described)
        else:
            role = {"@type": "OrganizationRole", "roleName": organisation["role_label"], "member": described}
            by_property["member"].append(role)
    data |= by_property
    data["funding"] = _funding(process, by_property["funder"])
    data["mainEntityOfPage"] = {
        "@type": "WebPage",
        "@id": url,
        "inLanguage": "it",
        "dateModified": atom_moment(process["updated_at"]),
        "datePublished": atom_moment(process["published_at"]) if process["published_at"] else None,
        "license": LICENCE_URLS.get(process["licence"]),
        "isAccessibleForFree": True,
    }
    return _without_empty(data)


def _without_empty(value):
    """``value`` without the keys whose value is None or an empty list, at every depth."""
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value


def script_json(data: dict) -> Markup:
    """``data`` as JSON that can stand inside a <script> element: ``<``, ``>`` and ``&`` are written
    as JSON escapes, so no text in it can close the element or open a comment."""
    return Markup(json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES))


def json_ld(process: dict, base_url: str) -> Markup:
    """The template filter: the JSON-LD of a process, ready for a <script type="application/ld+json">."""
    return script_json(process_json_ld(process, base_url))
