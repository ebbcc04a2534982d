"""A process in the import format, from what validation returns or from what pages show.

A process comes in three shapes, all keyed by the names of ``fields.FIELDS``:

- a *record*, the import format: JSON values only (amounts as "1234.50", days as "2017-01-10",
  moments in ISO 8601, terms by slug, territories by code, organisations by name);
- its *values*, what ``validation.validate_process`` returns: the same, with Python values;
- its *detail*, what ``services.process_detail`` reads for pages and the API: the values with
  their labels (a term is ``{"slug", "label"}``, a territory ``{"code", "name", "level"}``).

:func:`to_record` writes the first from either of the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from observatory.catalogue import fields as f

#: What identifies an item in its detail: a term by slug, a territory by code, an organisation by name.
_KEYS = {f.TERM: "slug", f.TERMS: "slug", f.TERRITORIES: "code", f.NAMES: "name"}


def empty(value: Any) -> bool:
    """Whether a value says nothing: None, "", [] or {}."""
    return value is None or value == "" or value == [] or value == {}


def plain(declared: f.Field, value: Any) -> Any:
    """A field's value (values or detail) as the import format writes it."""
    if value is None:
        return [] if declared.many else None
    kind = declared.type
    if kind in _KEYS:
        key = _KEYS[kind]
        if kind == f.TERM:
            return value[key] if isinstance(value, Mapping) else value
        return [item[key] if isinstance(item, Mapping) else item for item in value]
    if kind in (f.ROWS, f.ROLES):
        return [{part.name: plain(part, row.get(part.name)) for part in declared.parts} for row in value]
    if kind == f.GROUP:
        return {part.name: plain(part, value.get(part.name)) for part in declared.parts}
    if kind == f.AMOUNT:
        return str(value)
    if kind in (f.DATE, f.TIMESTAMP):
        return value.isoformat()
    return value


def to_record(process: Mapping[str, Any], names: Iterable[str] | None = None) -> dict:
    """The record of ``process`` (values or detail): every field, or those in ``names``."""
    chosen = f.FIELDS if names is None else [f.BY_NAME[name] for name in names]
    return {declared.name: plain(declared, process.get(declared.name)) for declared in chosen}
