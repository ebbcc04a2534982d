"""Decision holders that are comuni, and the territories of a proposed process.

A submission naming «Comune di Chieri» among its decision holders and only «Chienes» among its
territories probably chose the wrong place from the suggestions: the sender is told before the
submission is stored, and may send it anyway (it is a warning, never a refusal).
"""

from __future__ import annotations

import re
from typing import Any

from observatory.catalogue.tables import OrganisationName, Territory
from observatory.text import fold

#: A holder named as a comune ("Comune di Chieri", "Città di Torino"), on its folded name.
_NAMED_COMUNE = re.compile(r"^(?:comune|citta) di (?P<name>.+)$")


async def _comuni_of(holder: str) -> list[dict]:
    """The comuni a decision holder stands for: an organisation of kind comune by its territory,
    else the comuni named as in "Comune di X"; none when the name says nothing of the kind."""
    key = fold(holder)
    known = (
        await OrganisationName.select(
            OrganisationName.organisation.kind.as_alias("kind"),
            OrganisationName.organisation.territory.as_alias("territory"),
        )
        .where(OrganisationName.name_key == key)
        .first()
    )
    columns = (Territory.code, Territory.name, Territory.province_code, Territory.region_code)
    if known and known["kind"] == "comune" and known["territory"]:
        return await Territory.select(*columns).where(
            Territory.code == known["territory"], Territory.level == "comune"
        )
    named = _NAMED_COMUNE.match(key)
    if named is None or (known and known["kind"] != "comune"):
        return []
    return await Territory.select(*columns).where(
        Territory.name_key == named["name"], Territory.level == "comune"
    )


async def comuni_outside(record: dict[str, Any]) -> list[dict]:
    """The decision holders of a checked ``record`` (territories as codes) that are comuni, none of
    which is among the record's territories or inside one of them: ``{"holder": "Comune di Chieri",
    "comune": "Chieri"}`` each, in the order of the holders."""
    territories = set(record.get("territories") or [])
    if "IT" in territories:
        return []
    outside = []
    for holder in record.get("decision_holders") or []:
        comuni = await _comuni_of(holder)
        units = {unit for c in comuni for unit in (c["code"], c["province_code"], c["region_code"])}
        if comuni and not units & territories:
            outside.append({"holder": holder, "comune": comuni[0]["name"]})
    return outside
