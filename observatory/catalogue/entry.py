"""What people type into the process form, the public's and the editors' alike.

A territory may be typed as a code, a name, "Chieri (TO)" or "Torino (P201)"; the messages say how
to put right what the catalogue does not know. :func:`check_entry` is validation for typed
records: only the public fields (every field of the editors' form, for the editors), with those
messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from observatory.catalogue import services
from observatory.catalogue.checks import FieldError, References, ValidationFailed
from observatory.catalogue.fields import BY_NAME, EDITORIAL_FIELDS, PUBLIC_FIELDS
from observatory.catalogue.records import to_record
from observatory.catalogue.tables import Territory
from observatory.catalogue.validation import validate_process
from observatory.i18n import _
from observatory.text import fold
from observatory.web import MAX_SEARCH_TEXT

_WITH_QUALIFIER = re.compile(r"^(?P<name>.+?)\s*\((?P<qualifier>[^()]+)\)$")
_HINTED = 5  # unknown territories of one record that get "Forse: ..." names (each costs a look-up)
_SIMILAR = 5  # names offered for one of them


def _territory_label(row: Mapping[str, Any], duplicated_names: set[str]) -> str:
    if row["level"] == "comune" and row["plate"]:
        return f"{row['name']} ({row['plate']})"
    if row["name_key"] in duplicated_names or row["level"] == "comune":
        return f"{row['name']} ({row['code']})"
    return row["name"]


async def territory_labels(codes: list[str]) -> dict[str, str]:
    """What people type for each territory code: "Chieri (TO)" for a comune, "Piemonte" for a
    region, the name with its code when another territory has the same name ("Torino (P201)")."""
    if not codes:
        return {}
    rows = await Territory.select(
        Territory.code, Territory.name, Territory.name_key, Territory.level, Territory.plate
    ).where(Territory.code.is_in(list(codes)))
    keys = [row["name_key"] for row in rows]
    namesakes = await Territory.select(Territory.name_key).where(Territory.name_key.is_in(keys or ["-"]))
    seen: dict[str, int] = {}
    for row in namesakes:
        seen[row["name_key"]] = seen.get(row["name_key"], 0) + 1
    duplicated = {key for key, count in seen.items() if count > 1}
    return {row["code"]: _territory_label(row, duplicated) for row in rows}


async def _resolve_territory(text: str, refs: References, hint: bool) -> tuple[str | None, str | None]:
    """A territory typed as a code, a name, "Name (TO)" or "Name (C001078)": (code, None) or
    (None, a helpful message, with names like the one typed when ``hint``)."""
    if text.upper() in refs.territory_codes:
        return text.upper(), None
    match = _WITH_QUALIFIER.match(text)
    if match:
        name, qualifier = match["name"].strip(), match["qualifier"].strip().upper()
        if qualifier in refs.territory_codes:
            return qualifier, None
        rows = await Territory.select(Territory.code).where(
            Territory.name_key == fold(name), Territory.plate == qualifier, Territory.level == "comune"
        )
        if len(rows) == 1:
            return rows[0]["code"], None
        if fold(name) in refs.territory_names:
            text = name  # a known name with a wrong province: list the right ones below
    codes = refs.territory_names.get(fold(text), [])
    if len(codes) == 1:
        return codes[0], None
    if codes:
        labels = await territory_labels(codes)
        listed = ", ".join(sorted(_("«%(name)s»") % {"name": labels[code]} for code in codes))
        several = _("«%(text)s» corrisponde a più territori: scrivi uno di questi: %(listed)s.")
        return None, several % {"text": text, "listed": listed}
    similar = (
        await services.list_territories(text[:MAX_SEARCH_TEXT], None, _SIMILAR) if hint and fold(text) else []
    )
    hint = ""
    if similar:
        labels = await territory_labels([t["code"] for t in similar])
        names = ", ".join(_("«%(name)s»") % {"name": labels[t["code"]]} for t in similar)
        hint = " " + _("Forse: %(names)s.") % {"names": names}
    unknown = _(
        "territorio sconosciuto «%(text)s»: scrivi il nome di un comune, di una provincia o di una "
        "regione (ad esempio «Chieri (TO)») o il codice ISTAT (R01, P201, C001272)."
    )
    return None, unknown % {"text": text} + hint


async def check_entry(record: Any, refs: References | None = None, editorial: bool = False) -> dict:
    """The canonical record (see the module docstring) of a proposed process, or with ``editorial``
    of a process as the editors' form gives it.

    Raise ValidationFailed with every problem, in Italian, each on its record path ("title",
    "territories.2", "funding.total_investment"). Fields the public cannot set are refused (with
    ``editorial``, the fields the editors' form does not ask for).
    """
    if not isinstance(record, dict):
        raise ValidationFailed([FieldError("record", _("deve essere un oggetto con i campi del processo."))])
    refs = refs or await References.load()
    allowed = EDITORIAL_FIELDS if editorial else PUBLIC_FIELDS
    refusal = (
        _("campo che si aggiorna da sé quando si salva.")
        if editorial
        else _("campo riservato alla redazione: non si può proporre con una segnalazione.")
    )
    errors = [
        FieldError(str(key), refusal)
        for key in record
        if key in BY_NAME and key not in allowed and record[key] not in (None, "", [])
    ]
    data = {key: value for key, value in record.items() if key in allowed or key not in BY_NAME}
    clearer: dict[str, str] = {}  # messages that say more than validate_process's, by path
    if isinstance(data.get("territories"), list):
        resolved = []
        for i, item in enumerate(data["territories"]):
            if isinstance(item, str) and item.strip():
                code, message = await _resolve_territory(item.strip(), refs, hint=len(clearer) < _HINTED)
                if message:
                    clearer[f"territories.{i + 1}"] = message
                resolved.append(code or item)
            else:
                resolved.append(item)
        data["territories"] = resolved
    organisations = data.get("organisations")
    for i, item in enumerate(organisations if isinstance(organisations, list) else []):
        if isinstance(item, dict) and item.get("name") and item.get("role") in (None, ""):
            clearer[f"organisations.{i + 1}.role"] = _("scegli il ruolo dell'ente.")
    try:
        values = validate_process(data, refs)
    except ValidationFailed as failed:
        errors += [FieldError(e.field, clearer.get(e.field, e.message)) for e in failed.errors]
    if errors:
        raise ValidationFailed(errors)
    return to_record(values, allowed)
