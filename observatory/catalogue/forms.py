"""The process form: its inputs, sections and help, and the way between form fields and records.

The inputs come from the field declarations (fields.py): labels, help, limits, vocabularies and
the section each field is asked in. The public submission pages and the editors' pages use the same
form: the public's asks for the fields the public may propose (SECTIONS), the editors' for those and
the ones only the editorial office sets, such as the slug and the notes (EDITORIAL_SECTIONS).

Form field names are the paths of the record ("title", "funding.cup", "phases.2.start_date"), so a
validation error names the form field it belongs to. Repeated groups (phases, organisations,
funding phases, links) are numbered rows, 1, 2, 3..., and work without JavaScript: the page shows
the filled rows (one empty row when none is filled), and each group's own button ("Aggiungi una
fase": ``azione=aggiungi:phases``) sends the form back with one more empty row in that group.

- :func:`form_to_record` reads a posted form into a record;
- :func:`record_to_form` turns a record into form values, to prefill the form;
- :func:`field_errors` places each message of a ``ValidationFailed`` on its form field;
- form_view.py makes what ``templates/_process_form.html`` renders.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from observatory.catalogue import fields as f
from observatory.catalogue.checks import ValidationFailed
from observatory.catalogue.entry import territory_labels
from observatory.i18n import N_, gettext, in_current_language
from observatory.text import italian_amount
from observatory.web import first

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ITALIAN_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_EXPORTED_AMOUNT = re.compile(r"^\d+\.\d{2}$")
#: A form name inside a repeated group: "phases.2.start_date".
ROW_KEY = re.compile(r"^(?P<group>[a-z_.]+?)\.(?P<row>\d{1,4})\.(?P<sub>[a-z_]+)$")
#: Which names a one-per-line or a name input suggests (static/js/suggest.js asks the API).
_SUGGESTIONS = {f.NAMES: "enti", f.ROLES: "enti", f.TERRITORIES: "territori"}


@dataclass(frozen=True)
class Input:
    """One input. ``widget``: text, textarea, lines (one value a line), select, checkboxes,
    checkbox, number, amount, coordinate, date, url or email. Options come from a vocabulary or
    ``choices``."""

    name: str
    label: str
    help: str = ""
    widget: str = "text"
    #: The label and help in English; without them English pages look ``label`` and ``help`` up
    #: in the catalogue (mark them with N_).
    label_en: str = ""
    help_en: str = ""
    vocabulary: str | None = None
    choices: Mapping[str, str] | None = None
    required: bool = False
    maxlength: int | None = None
    suggest: str | None = None  # "territori" or "enti": static/js/suggest.js offers names
    autocomplete: str | None = None
    #: What the error summary calls it, when its label is a sentence.
    summary_label: str | None = None

    @property
    def shown_label(self) -> str:
        """Its label in the language of the page."""
        return in_current_language(self.label, self.label_en)

    @property
    def shown_help(self) -> str:
        """Its help in the language of the page."""
        return in_current_language(self.help, self.help_en) if self.help else ""

    @property
    def shown_summary_label(self) -> str:
        """What the error summary and the list of required fields call it, in the page's language."""
        return gettext(self.summary_label) if self.summary_label else self.shown_label

    @property
    def empty_choice(self) -> str:
        """The first option of a select."""
        return gettext("Scegli…") if self.required else gettext("Non indicato")

    @classmethod
    def of(cls, declared: f.Field, name: str, suggest: str | None = None, **more: Any) -> Input:
        """The input asking for field (or part) ``declared`` under the form name ``name``."""
        return cls(
            name=name,
            label=declared.label,
            help=declared.help,
            label_en=declared.label_en,
            help_en=declared.help_en,
            widget=declared.form_widget,
            vocabulary=declared.vocabulary,
            choices=declared.choices,
            required=declared.required,
            maxlength=declared.limit,
            suggest=suggest or _SUGGESTIONS.get(declared.type),
            **more,
        )


#: What the button that adds a row to a group says, by the name of its rows.
_ADD_LABELS = {
    "Ente": N_("Aggiungi un ente"),
    "Fase": N_("Aggiungi una fase"),
    "Progetto": N_("Aggiungi un progetto"),
    "Fase finanziata": N_("Aggiungi una fase finanziata"),
    "Collegamento": N_("Aggiungi un collegamento"),
}


@dataclass(frozen=True)
class Group:
    """A repeated group of inputs: rows named ``{name}.{n}.{input}``, numbered from 1."""

    name: str
    label: str
    row_label: str
    help: str
    inputs: tuple[Input, ...]
    #: The same in English.
    label_en: str = ""
    row_label_en: str = ""
    help_en: str = ""

    @property
    def shown_label(self) -> str:
        """Its label in the language of the page."""
        return in_current_language(self.label, self.label_en)

    @property
    def shown_row_label(self) -> str:
        """What one row is called in the language of the page ("Fase", "Phase")."""
        return in_current_language(self.row_label, self.row_label_en)

    @property
    def shown_help(self) -> str:
        """Its help in the language of the page."""
        return in_current_language(self.help, self.help_en) if self.help else ""

    @property
    def add_label(self) -> str:
        """The text of the button that adds a row ("Aggiungi una fase")."""
        if self.row_label in _ADD_LABELS:
            return gettext(_ADD_LABELS[self.row_label])
        return gettext("Aggiungi: %(row)s") % {"row": self.shown_row_label.lower()}


@dataclass(frozen=True)
class Section:
    """A fieldset of the form; the public's form folds an ``optional`` one away until it is used."""

    id: str
    title: str
    help: str
    items: tuple[Input | Group, ...]
    optional: bool = True

    @property
    def shown_title(self) -> str:
        """Its title in the language of the page."""
        return gettext(self.title)

    @property
    def shown_help(self) -> str:
        """Its help in the language of the page."""
        return gettext(self.help)


def _group(declared: f.Field, name: str) -> Group:
    suggest = _SUGGESTIONS.get(declared.type)
    inputs = tuple(
        Input.of(part, part.name, suggest=suggest if part.type == f.TEXT else None) for part in declared.parts
    )
    return Group(
        name,
        declared.label,
        declared.item_label or declared.label,
        declared.help,
        inputs,
        label_en=declared.label_en,
        row_label_en=declared.item_label_en or declared.label_en,
        help_en=declared.help_en,
    )


def _items(declared: f.Field) -> tuple[Input | Group, ...]:
    if declared.type in (f.ROWS, f.ROLES):
        return (_group(declared, declared.name),)
    if declared.type == f.GROUP:
        return tuple(
            _group(part, f"{declared.name}.{part.name}")
            if part.many
            else Input.of(part, f"{declared.name}.{part.name}")
            for part in declared.parts
        )
    return (Input.of(declared, declared.name),)


#: The sections every sender fills in, always open: what the process is, who decides and where.
_MAIN_SECTIONS = ("processo", "chi-dove")


def _section(id: str, title: str, help: str, editorial: bool) -> Section:
    declared = [d for d in f.FIELDS if d.section == id and (d.public or editorial)]
    items = tuple(item for d in declared for item in _items(d))
    return Section(id, title, help, items, optional=id not in _MAIN_SECTIONS)


#: The id, title and help of each section of the form, in order.
_SECTION_TEXTS = (
    (
        "processo",
        N_("Il processo"),
        N_("Che cosa è stato fatto e in che fase si trova. Lascia vuoto quello che non sai."),
    ),
    ("chi-dove", N_("Chi decide e dove"), N_("Gli enti coinvolti e i territori interessati.")),
    ("fasi", N_("Fasi"), N_("Le tappe del percorso, nell'ordine in cui si sono svolte.")),
    ("obiettivi", N_("Obiettivi e risultati"), ""),
    (
        "progetti",
        N_("Progetti e proposte"),
        N_("Se il processo ha prodotto o selezionato progetti: uno per riga, con quello che ne sai."),
    ),
    ("partecipanti", N_("Partecipanti"), N_("Come si è partecipato e chi ha partecipato.")),
    ("finanziamento", N_("Finanziamento"), N_("Solo se il processo ha ricevuto un finanziamento.")),
    (
        "collegamenti",
        N_("Collegamenti"),
        N_("Pagine web dove leggere di più: il sito del progetto, delibere, documenti."),
    ),
    ("fonte", N_("Fonte"), ""),
    (
        "redazione",
        N_("Dati della redazione"),
        N_("Campi che solo la redazione compila: non si possono proporre con una segnalazione."),
    ),
)


def _sections(editorial: bool) -> tuple[Section, ...]:
    built = (_section(*texts, editorial) for texts in _SECTION_TEXTS)
    return tuple(section for section in built if section.items)


#: The sections of the public's form, in order; each asks for the public fields declared in it.
SECTIONS: tuple[Section, ...] = _sections(editorial=False)
#: The sections of the editors' form: every field that has a section (fields.EDITORIAL_FIELDS).
EDITORIAL_SECTIONS: tuple[Section, ...] = _sections(editorial=True)

#: Every input (group inputs as ``{group}.{input}``) and every group of either form, by name.
INPUTS: dict[str, Input] = {}
GROUPS: dict[str, Group] = {}
for _section_ in EDITORIAL_SECTIONS:
    for _item in _section_.items:
        if isinstance(_item, Group):
            GROUPS[_item.name] = _item
            for _sub in _item.inputs:
                INPUTS[f"{_item.name}.{_sub.name}"] = _sub
        else:
            INPUTS[_item.name] = _item


# --- form → record -------------------------------------------------------------------------------


def _value(form: Mapping[str, list[str]], name: str) -> str | None:
    return first(form, name) or None


def _rows(form: Mapping[str, list[str]], group: Group) -> list[dict]:
    """The rows of ``group`` that have something typed in a text input, in row order."""
    numbers = set()
    for key in form:
        match = ROW_KEY.match(key)
        if match and match["group"] == group.name:
            numbers.add(int(match["row"]))
    rows = []
    for number in sorted(numbers):
        row = {sub.name: _value(form, f"{group.name}.{number}.{sub.name}") for sub in group.inputs}
        if any(row[sub.name] for sub in group.inputs if sub.widget != "select"):
            rows.append(row)
    return rows


def _typed(form: Mapping[str, list[str]], spec: Input) -> Any:
    """What was posted for one input, as a record value."""
    name = spec.name
    if spec.widget == "checkboxes":
        return [v.strip() for v in form.get(name) or [] if v.strip()]
    if spec.widget == "checkbox":
        return first(form, name) in ("1", "on", "true")
    if spec.widget == "lines":
        text = "\n".join(form.get(name) or [])
        return [line.strip() for line in text.splitlines() if line.strip()]
    return _value(form, name)


def _asked(editorial: bool) -> tuple[str, ...]:
    """The fields a form asks for: the public ones, or with ``editorial`` the editors' own too."""
    return f.EDITORIAL_FIELDS if editorial else f.PUBLIC_FIELDS


def form_to_record(form: Mapping[str, list[str]], editorial: bool = False) -> dict:
    """The record of a posted process form (values as typed, empty ones as None).

    Every public field is in the record, and with ``editorial`` every field of the editors' form;
    rows of a group left empty are dropped, so the n-th row of the record (and of its validation
    errors) is the n-th filled row.
    """
    record: dict[str, Any] = {}
    asked = _asked(editorial)
    for declared in f.FIELDS:
        name = declared.name
        if name not in asked:
            continue
        if name in GROUPS:
            record[name] = _rows(form, GROUPS[name])
        elif declared.type == f.GROUP:
            group = {
                part.name: _rows(form, GROUPS[path]) if path in GROUPS else _typed(form, INPUTS[path])
                for part in declared.parts
                for path in [f"{name}.{part.name}"]
            }
            record[name] = group if any(group.values()) else None
        else:
            record[name] = _typed(form, INPUTS[name])
    return record


# --- record → form -------------------------------------------------------------------------------


def _shown(value: Any, widget: str) -> str:
    """A record value as the text of its input."""
    if value is None:
        return ""
    if widget == "amount" and (
        isinstance(value, int | float | Decimal)
        and not isinstance(value, bool)
        or isinstance(value, str)
        and _EXPORTED_AMOUNT.match(value)
    ):
        return italian_amount(value)
    if widget == "date" and isinstance(value, str) and not _ISO_DATE.match(value.strip()):
        match = _ITALIAN_DATE.match(value.strip())
        if match:  # a date input shows ISO dates only
            day, month, year = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _put(form: dict[str, list[str]], spec: Input, value: Any, labels: Mapping[str, str]) -> None:
    name = spec.name
    if spec.widget == "checkboxes":
        form[name] = [str(v) for v in value or []] if isinstance(value, list) else []
    elif spec.widget == "checkbox":
        form[name] = ["1"] if value is True or value in ("1", "true") else []
    elif spec.widget == "lines":
        items = value if isinstance(value, list) else [value] if value else []
        form[name] = ["\n".join(labels.get(str(item), str(item)) for item in items)]
    else:
        form[name] = [_shown(value, spec.widget)]


def record_to_form(
    record: Mapping[str, Any], territory_labels: Mapping[str, str] | None = None, editorial: bool = False
) -> dict:
    """Form values (``{field name: [values]}``, as a browser posts them) showing the public fields of
    ``record``, and with ``editorial`` every field of the editors' form.

    ``territory_labels`` turns codes into what people type ("C001078" → "Chieri (TO)"): see
    ``entry.territory_labels``. Exported amounts show the Italian way ("1.234,50").
    """
    labels = territory_labels or {}
    form: dict[str, list[str]] = {}
    asked = _asked(editorial)
    for declared in f.FIELDS:
        name, value = declared.name, record.get(declared.name)
        if name not in asked:
            continue
        if name in GROUPS:
            _put_rows(form, GROUPS[name], value)
        elif declared.type == f.GROUP:
            group = value if isinstance(value, Mapping) else {}
            for part in declared.parts:
                path = f"{name}.{part.name}"
                if path in GROUPS:
                    _put_rows(form, GROUPS[path], group.get(part.name))
                else:
                    _put(form, INPUTS[path], group.get(part.name), labels)
        else:
            _put(form, INPUTS[name], value, labels)
    return form


def _put_rows(form: dict[str, list[str]], group: Group, rows: Any) -> None:
    shorthand = f.BY_PATH[group.name].shorthand
    for number, row in enumerate(rows if isinstance(rows, list) else [], start=1):
        if isinstance(row, str) and shorthand:  # a phase or a link given as plain text
            row = {shorthand: row}
        if not isinstance(row, Mapping):
            continue
        for sub in group.inputs:
            form[f"{group.name}.{number}.{sub.name}"] = [_shown(row.get(sub.name), sub.widget)]


def typed_values(form: Mapping[str, list[str]], editorial: bool = False) -> dict[str, list[str]]:
    """What a form page shows back of a posted form: the process fields as typed, empty rows dropped."""
    return record_to_form(form_to_record(form, editorial), editorial=editorial)


async def record_values(record: Mapping[str, Any], editorial: bool = False) -> dict[str, list[str]]:
    """Form values showing the public fields of ``record`` (with ``editorial``, every field of the
    editors' form), territories as people type them."""
    labels = await territory_labels(record.get("territories") or [])
    return record_to_form(record, labels, editorial)


# --- errors -------------------------------------------------------------------------------------


def _form_field(path: str, known: Collection[str]) -> tuple[str, str | None]:
    """The form field a validation path belongs to, and the line number for "lines" fields."""
    if path in INPUTS or path in GROUPS or path in known:
        return path, None
    head, _, tail = path.rpartition(".")
    if head in INPUTS and INPUTS[head].widget == "lines" and tail.isdigit():
        return head, tail
    if head in INPUTS and INPUTS[head].widget == "checkboxes":
        return head, None
    match = ROW_KEY.match(path)
    if match and f"{match['group']}.{match['sub']}" in INPUTS:
        return path, None
    parts = path.split(".")
    for end in range(len(parts) - 1, 0, -1):  # the nearest enclosing field or group
        prefix = ".".join(parts[:end])
        if prefix in INPUTS or prefix in GROUPS:
            return prefix, None
    return "", None


def field_errors(failed: ValidationFailed, known: Collection[str] = ()) -> dict[str, str]:
    """Messages by form field name ("" for the form as a whole), ready to show next to each field.

    ``known`` names the page's inputs besides the process's. Several problems of one field are
    joined; a problem with line n of a one-per-line field says "Riga n: …".
    """
    result: dict[str, str] = {}
    for error in failed.errors:
        name, line = _form_field(error.field, known)
        message = error.message
        if line is not None:
            message = f"Riga {line}: {message}"
        elif name == "" and error.field not in ("", "record"):
            message = f"{error.field}: {message}"
        message = message[:1].upper() + message[1:]
        result[name] = f"{result[name]} {message}" if name in result else message
    return result


def field_messages(failed: ValidationFailed, labelled: bool = False) -> dict[str, str]:
    """Messages by validation path; with ``labelled``, each names its process field's label
    ("Titolo (title): Troppo lungo...")."""
    messages = {}
    for error in failed.errors:
        text = error.message[:1].upper() + error.message[1:]
        label = f.LABELS.get(error.field.split(".")[0]) if labelled else None
        messages[error.field] = f"{label} ({error.field}): {text}" if label else text
    return messages
