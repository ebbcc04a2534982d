"""Checking a process record before it is saved, field by field as ``fields.FIELDS`` declares them.

Every way data enters (file imports, the public form and API, the editors' pages) goes through
:func:`validate_process`, so the same rules hold everywhere. It returns the record's *values*: the
same keys, with Python values (``Decimal`` amounts, ``date`` days, ``datetime`` moments, term slugs,
territory codes) and nothing unknown; or it raises ValidationFailed with every problem, in Italian,
each on the dotted path of its field ("phases.2.end_date"). The checks of single values are in
checks.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from observatory.catalogue import checks as c
from observatory.catalogue import fields as f
from observatory.catalogue import places
from observatory.catalogue.checks import FieldError, References, ValidationFailed
from observatory.catalogue.records import empty
from observatory.catalogue.tables import ORGANISATION_KINDS
from observatory.i18n import N_, _
from observatory.text import has_control_characters

MIN_TITLE = 3
ORGANISATION_KEYS = ("slug", "name", "kind", "territory", "alt_names", "description", "website")
#: The other names an organisation declared in an import file is known by.
_ALT_NAMES = f.Field("alt_names", "Altri nomi", "Other names", f.NAMES, limit=f.MAX_NAME)


def _parts(declared: f.Field, value: dict, path: str, refs: References, errors: list[FieldError]) -> dict:
    """The parts of a group or of a row, checked; unknown keys refused; dates in order."""
    for key in value:
        if not any(part.name == key for part in declared.parts):
            errors.append(FieldError(f"{path}.{key}", _("campo sconosciuto.")))
    checked = {
        part.name: check_value(part, value.get(part.name), f"{path}.{part.name}", refs, errors)
        for part in declared.parts
    }
    if checked.get("start_date") and checked.get("end_date") and checked["end_date"] < checked["start_date"]:
        errors.append(FieldError(f"{path}.end_date", _("la fine non può precedere l'inizio.")))
    return checked


def _rows(declared: f.Field, value: Any, path: str, refs: References, errors: list[FieldError]) -> list[dict]:
    rows = []
    names = ", ".join(part.name for part in declared.parts)
    for i, item in enumerate(c.items(value, path, errors, declared.limit or f.MAX_ITEMS)):
        row_path = f"{path}.{i + 1}"
        if isinstance(item, str) and declared.shorthand:
            item = {declared.shorthand: item} | {p.name: p.default for p in declared.parts if p.default}
        if not isinstance(item, dict):
            errors.append(
                FieldError(row_path, _("deve essere un oggetto con i campi {names}.").format(names=names))
            )
            continue
        rows.append(_parts(declared, item, row_path, refs, errors))
    return rows


def _group(
    declared: f.Field, value: Any, path: str, refs: References, errors: list[FieldError]
) -> dict | None:
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict):
        names = ", ".join(part.name for part in declared.parts)
        errors.append(FieldError(path, _("deve essere un oggetto con i campi {names}.").format(names=names)))
        return None
    group = _parts(declared, value, path, refs, errors)
    return group if any(not empty(v) for v in group.values()) else None


def check_value(declared: f.Field, value: Any, path: str, refs: References, errors: list[FieldError]) -> Any:
    """The clean value of one field (or part) at ``path``; its problems are added to ``errors``."""
    kind = declared.type
    if isinstance(value, str) and has_control_characters(value):  # whatever the field, never stored
        errors.append(FieldError(path, _(c.CONTROL_MESSAGE)))
        return None
    if kind == f.TEXT:
        return c.text(value, path, declared.limit, errors, required=declared.required)
    if kind == f.SLUG:
        return c.slug(value, path, declared.limit or 160, errors)
    if kind == f.YEAR:
        return c.whole(value, path, f.MIN_YEAR, f.MAX_YEAR, errors)
    if kind == f.COUNT:
        return c.whole(value, path, 0, f.MAX_COUNT, errors)
    if kind == f.FLAG:
        return c.flag(value, path, errors)
    if kind == f.CHOICE:
        return c.choice(declared, value, path, errors)
    if kind == f.TERM:
        return c.term(refs, declared.vocabulary, value, path, errors)
    if kind == f.AMOUNT:
        return c.amount(value, path, errors)
    if kind == f.DATE:
        return c.date(value, path, errors)
    if kind == f.URL:
        url = c.url(value, path, errors)
        if url is None and declared.required and c.blank(value):
            errors.append(FieldError(path, _("campo obbligatorio.")))
        return url
    if kind == f.CUP:
        return c.cup(value, path, errors)
    if kind == f.LATITUDE:
        return c.coordinate(value, path, *places.ITALY_LATITUDES, N_("la latitudine"), errors)
    if kind == f.LONGITUDE:
        return c.coordinate(value, path, *places.ITALY_LONGITUDES, N_("la longitudine"), errors)
    if kind == f.TIMESTAMP:
        return c.timestamp(value, path, errors)
    if kind == f.GROUP:
        return _group(declared, value, path, refs, errors)
    if kind in (f.ROWS, f.ROLES):
        return _rows(declared, value, path, refs, errors)
    items = []
    for i, item in enumerate(c.items(value, path, errors)):
        if isinstance(item, str) and has_control_characters(item):
            errors.append(FieldError(f"{path}.{i + 1}", _(c.CONTROL_MESSAGE)))
        else:
            items.append(item)
    if kind == f.TERMS:
        found = [c.term(refs, declared.vocabulary, v, f"{path}.{i + 1}", errors) for i, v in enumerate(items)]
    elif kind == f.TERRITORIES:
        found = [c.territory(refs, v, f"{path}.{i + 1}", errors) for i, v in enumerate(items)]
    else:  # NAMES
        found = [
            c.text(v, f"{path}.{i + 1}", declared.limit, errors, required=True) for i, v in enumerate(items)
        ]
        found = [name for name in found if name and c.fold(name)]
    return list(dict.fromkeys(v for v in found if v))


# --- the record ----------------------------------------------------------------------------------------


def _check_point(place: dict, path: str, territories: list[str], refs: References, errors: list[FieldError]):
    """A point has both coordinates, lies in an Italian comune, and that comune is among (or within)
    the process's territories."""
    latitude, longitude = place.get("latitude"), place.get("longitude")
    if latitude is None and longitude is None:
        return
    if latitude is None or longitude is None:
        missing = "latitude" if latitude is None else "longitude"
        errors.append(FieldError(f"{path}{missing}", _("un punto ha sia la latitudine sia la longitudine.")))
        return
    comune = places.comune_at(latitude, longitude)
    if comune is None:
        errors.append(
            FieldError(
                f"{path}latitude",
                _(
                    "il punto ({latitude}, {longitude}) non cade in nessun comune italiano: "
                    "controlla latitudine e longitudine."
                ).format(latitude=latitude, longitude=longitude),
            )
        )
        return
    units = {comune.code, comune.region, "IT", *refs.territory_within.get(comune.code, ())}
    if territories and not units.intersection(territories):
        errors.append(
            FieldError(
                f"{path}latitude",
                _(
                    "il punto ({latitude}, {longitude}) cade nel comune di {comune}, fuori dai territori "
                    "del processo: correggi il punto o aggiungi il territorio."
                ).format(latitude=latitude, longitude=longitude, comune=comune.name),
            )
        )


def validate_process(data: Any, refs: References) -> dict:
    """Check one process record; return its values or raise ValidationFailed with every problem."""
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("record", _("deve essere un oggetto con i campi del processo."))])
    errors = [FieldError(str(key), _("campo sconosciuto.")) for key in data if key not in f.BY_NAME]
    values = {
        field.name: check_value(field, data.get(field.name), field.name, refs, errors) for field in f.FIELDS
    }
    if values["title"] is not None and len(values["title"]) < MIN_TITLE:
        errors.append(
            FieldError("title", _("troppo corto: almeno {least} caratteri.").format(least=MIN_TITLE))
        )
    start, end = values["start_year"], values["end_year"]
    if start and end and end < start:
        errors.append(FieldError("end_year", _("l'anno di chiusura non può precedere l'anno di avvio.")))
    if values["ongoing"] and end:
        errors.append(FieldError("end_year", _("un processo ancora in corso non ha anno di chiusura.")))
    _check_point(values, "", values["territories"], refs, errors)
    for i, project in enumerate(values["projects"]):
        _check_point(project, f"projects.{i + 1}.", values["territories"], refs, errors)
    values["licence"] = values["licence"] or f.BY_NAME["licence"].default
    for link in values["links"]:
        link["label"] = link["label"] or urlparse(link["url"] or "").hostname  # a link shows its site
    funding = values["funding"] or {}
    total, cofinancing = funding.get("total_investment"), funding.get("cofinancing")
    if cofinancing and total is not None and cofinancing > total:
        errors.append(
            FieldError("funding.cofinancing", _("il cofinanziamento supera l'investimento totale."))
        )
    if errors:
        raise ValidationFailed(errors)
    return values


def validate_organisation(data: Any, refs: References) -> dict:
    """Check an organisation declared in an import file; raise ValidationFailed with every problem."""
    errors: list[FieldError] = []
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("organisation", "deve essere un oggetto (slug, name, kind...).")])
    errors += [FieldError(key, "campo sconosciuto.") for key in data if key not in ORGANISATION_KEYS]
    names = check_value(_ALT_NAMES, data.get("alt_names"), "alt_names", refs, errors)
    result = {
        "name": c.text(data.get("name"), "name", f.MAX_NAME, errors, required=True),
        "slug": c.slug(data.get("slug"), "slug", c.MAX_SLUG, errors),
        "kind": data.get("kind") or None,
        "territory": None,
        "alt_names": names,
        "description": c.text(data.get("description"), "description", 5_000, errors),
        "website": None,
    }
    if result["kind"] is not None and result["kind"] not in ORGANISATION_KINDS:
        errors.append(
            FieldError(
                "kind",
                _("tipo sconosciuto «%(kind)s». Valori ammessi: %(allowed)s.")
                % {"kind": result["kind"], "allowed": ", ".join(ORGANISATION_KINDS)},
            )
        )
    if data.get("territory") not in (None, ""):
        result["territory"] = c.territory(refs, data["territory"], "territory", errors)
    if data.get("website") not in (None, ""):
        result["website"] = c.web_address(data["website"])
        if result["website"] is None:
            errors.append(FieldError("website", f"«{data['website']}» non è un indirizzo web valido."))
    if errors:
        raise ValidationFailed(errors)
    return result
