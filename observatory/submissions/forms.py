"""The process form: its sections, labels and help, and the way between form fields and records.

The public submission pages and the editors' pages use the same form. Form field names are the
paths of the import-format record ("title", "funding.cup", "phases.2.start_date"), so a
validation error of ``editing.validate_process`` names the form field it belongs to. Repeated
groups (phases, organisations, funding phases, links) are numbered rows, 1, 2, 3..., and work
without JavaScript: the page shows the filled rows and a few empty ones, and the button
"Aggiungi righe" (``azione=aggiungi``) sends the form back with more empty rows.

- :func:`form_to_record` reads a posted form into a record;
- :func:`record_to_form` turns a record into form values, to prefill the form;
- :func:`field_errors` places each message of a ``ValidationFailed`` on its form field;
- :class:`FormView` is what ``templates/_process_form.html`` renders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from observatory.catalogue.editing import TEXT_LIMITS, ValidationFailed
from observatory.catalogue.tables import ORGANISATION_ROLES, PROCESS_STATES

#: Empty rows shown under the filled ones of each group, and at most how many "Aggiungi righe" gives.
EMPTY_ROWS = 3
MAX_EMPTY_ROWS = 30
#: Record fields the public may propose. The others (slug, source_ref, reporting_source, notes of
#: the editors, timestamps) are set by the editorial office.
PUBLIC_FIELDS = (
    "title",
    "kind",
    "summary",
    "description",
    "decision_holders",
    "organisations",
    "territories",
    "theme",
    "topics",
    "start_year",
    "end_year",
    "ongoing",
    "state",
    "phases",
    "goals",
    "results",
    "participation_level",
    "methods",
    "participants_count",
    "participants_kind",
    "funding",
    "links",
    "reported_by",
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ITALIAN_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_EXPORTED_AMOUNT = re.compile(r"^\d+\.\d{2}$")
_ROW_KEY = re.compile(r"^(?P<group>[a-z_.]+?)\.(?P<row>\d{1,4})\.(?P<sub>[a-z_]+)$")


@dataclass(frozen=True)
class Field:
    """One input. ``widget``: text, textarea, lines (one value a line), select, checkboxes,
    checkbox, number, amount, date, url or email. Options come from a vocabulary or ``choices``."""

    name: str
    label: str
    help: str = ""
    widget: str = "text"
    vocabulary: str | None = None
    choices: Mapping[str, str] | None = None
    required: bool = False
    maxlength: int | None = None
    suggest: str | None = None  # "territori" or "enti": static/js/suggest.js offers names
    empty_choice: str = "Non indicato"  # the first option of a select
    autocomplete: str | None = None


@dataclass(frozen=True)
class Group:
    """A repeated group of fields: rows named ``{name}.{n}.{field}``, numbered from 1."""

    name: str
    label: str
    row_label: str
    help: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Section:
    """A fieldset of the form."""

    id: str
    title: str
    help: str
    items: tuple[Field | Group, ...]


_ROLES = {key: label for key, label in ORGANISATION_ROLES.items() if key != "titolare"}
_DATE_HELP = "Giorno, mese e anno."
_AMOUNT_HELP = "In euro, ad esempio 1.234.567,89."

SECTIONS: tuple[Section, ...] = (
    Section(
        "processo",
        "Il processo",
        "Che cosa è stato fatto e in che fase si trova. Solo il titolo è obbligatorio: "
        "lascia vuoto quello che non sai.",
        (
            Field(
                "title",
                "Titolo",
                "Il nome con cui il processo è conosciuto (almeno 3 caratteri).",
                required=True,
                maxlength=TEXT_LIMITS["title"],
            ),
            Field("kind", "Tipo di processo", widget="select", vocabulary="tipo"),
            Field(
                "summary",
                "Sintesi",
                "Due o tre frasi: compaiono negli elenchi e nei risultati di ricerca.",
                widget="textarea",
                maxlength=TEXT_LIMITS["summary"],
            ),
            Field(
                "description",
                "Descrizione",
                "Come è nato, chi ha coinvolto, come si è svolto. Separa i paragrafi con una riga vuota.",
                widget="textarea",
            ),
            Field("theme", "Ambito di intervento", widget="select", vocabulary="ambito"),
            Field(
                "topics",
                "Tematica specifica",
                "Scegli una o più tematiche.",
                widget="checkboxes",
                vocabulary="tematica",
            ),
            Field(
                "methods",
                "Metodi e strumenti",
                "Scegli uno o più metodi usati.",
                widget="checkboxes",
                vocabulary="metodo",
            ),
            Field("participation_level", "Livello di partecipazione", widget="select", vocabulary="livello"),
            Field("state", "Stato di avanzamento", widget="select", choices=PROCESS_STATES),
            Field("start_year", "Anno di avvio", "Ad esempio 2019.", widget="number"),
            Field(
                "end_year",
                "Anno di chiusura",
                "Lascialo vuoto se il processo è ancora in corso.",
                widget="number",
            ),
            Field("ongoing", "Il processo è ancora in corso", widget="checkbox"),
        ),
    ),
    Section(
        "chi-dove",
        "Chi decide e dove",
        "Gli enti coinvolti e i territori interessati.",
        (
            Field(
                "decision_holders",
                "Titolari della decisione",
                "Un ente per riga, con il nome ufficiale: ad esempio «Comune di Torino».",
                widget="lines",
                suggest="enti",
            ),
            Group(
                "organisations",
                "Altri enti coinvolti",
                "Ente",
                "Promotori, partner, finanziatori, beneficiari e soggetti attuatori, con il loro ruolo.",
                (
                    Field("name", "Nome dell'ente", suggest="enti", maxlength=300),
                    Field("role", "Ruolo", widget="select", choices=_ROLES, empty_choice="Scegli il ruolo"),
                ),
            ),
            Field(
                "territories",
                "Territori",
                "Un territorio per riga: il nome di un comune, di una provincia o di una regione, oppure il "
                "codice ISTAT. Ad esempio «Torino», «Chieri (TO)» o «R01». Se più comuni hanno lo stesso "
                "nome, aggiungi la sigla della provincia tra parentesi.",
                widget="lines",
                suggest="territori",
            ),
        ),
    ),
    Section(
        "fasi",
        "Fasi",
        "Le tappe del percorso, nell'ordine in cui si sono svolte.",
        (
            Group(
                "phases",
                "Fasi del percorso",
                "Fase",
                "Per ogni fase bastano il titolo e, se le conosci, le date.",
                (
                    Field("title", "Titolo della fase", maxlength=300),
                    Field("description", "Descrizione della fase", widget="textarea"),
                    Field("start_date", "Inizio", _DATE_HELP, widget="date"),
                    Field("end_date", "Fine", _DATE_HELP, widget="date"),
                ),
            ),
        ),
    ),
    Section(
        "obiettivi",
        "Obiettivi e risultati",
        "",
        (
            Field("goals", "Obiettivi", "Che cosa il processo voleva ottenere.", widget="textarea"),
            Field(
                "results",
                "Risultati",
                "Che cosa ha prodotto: decisioni, opere, patti, servizi.",
                widget="textarea",
            ),
        ),
    ),
    Section(
        "partecipanti",
        "Partecipanti",
        "",
        (
            Field(
                "participants_count",
                "Numero di partecipanti",
                "Un numero intero, anche stimato.",
                widget="number",
            ),
            Field(
                "participants_kind",
                "Chi ha partecipato",
                "Ad esempio: residenti del quartiere, associazioni, scuole.",
                widget="textarea",
                maxlength=TEXT_LIMITS["participants_kind"],
            ),
        ),
    ),
    Section(
        "finanziamento",
        "Finanziamento",
        "Solo se il processo ha ricevuto un finanziamento.",
        (
            Field(
                "funding.programme",
                "Programma",
                "Ad esempio: PON Città Metropolitane 2014-2020.",
                maxlength=2000,
            ),
            Field("funding.fund", "Fondo", "Ad esempio: FESR.", maxlength=300),
            Field("funding.total_investment", "Investimento totale", _AMOUNT_HELP, widget="amount"),
            Field("funding.cofinancing", "Cofinanziamento", _AMOUNT_HELP, widget="amount"),
            Field("funding.beneficiary", "Beneficiario", maxlength=500),
            Field("funding.cup", "Codice CUP", "15 caratteri, ad esempio J41B12000010007.", maxlength=15),
            Group(
                "funding.phases",
                "Fasi finanziate",
                "Fase finanziata",
                "Le tranche del finanziamento, se ce ne sono più di una.",
                (
                    Field("label", "Nome della fase", "Ad esempio: I Fase.", maxlength=200),
                    Field("start_date", "Inizio", _DATE_HELP, widget="date"),
                    Field("end_date", "Conclusione", _DATE_HELP, widget="date"),
                    Field("investment", "Investimento", _AMOUNT_HELP, widget="amount"),
                    Field("cofinancing", "Cofinanziamento", _AMOUNT_HELP, widget="amount"),
                    Field("beneficiary", "Beneficiario", maxlength=500),
                ),
            ),
        ),
    ),
    Section(
        "collegamenti",
        "Collegamenti",
        "Pagine web dove leggere di più: il sito del progetto, delibere, documenti.",
        (
            Group(
                "links",
                "Collegamenti",
                "Collegamento",
                "Un indirizzo completo, che inizia con https:// o http://.",
                (
                    Field("label", "Descrizione", "Ad esempio: Sito del progetto.", maxlength=300),
                    Field("url", "Indirizzo web", widget="url"),
                ),
            ),
        ),
    ),
    Section(
        "fonte",
        "Fonte",
        "",
        (
            Field(
                "reported_by",
                "Segnalato da",
                "Il nome dell'ente o della persona che segnala, come deve comparire nella scheda pubblica.",
                maxlength=TEXT_LIMITS["reported_by"],
            ),
        ),
    ),
)

#: Every field (group fields as ``{group}.{field}``) and every group, by name.
FIELDS: dict[str, Field] = {}
GROUPS: dict[str, Group] = {}
for _section in SECTIONS:
    for _item in _section.items:
        if isinstance(_item, Group):
            GROUPS[_item.name] = _item
            for _sub in _item.fields:
                FIELDS[f"{_item.name}.{_sub.name}"] = _sub
        else:
            FIELDS[_item.name] = _item

#: The fields of the public pages besides the process: who sends it (kept private) and, for a
#: correction, what is corrected and why.
SUBMITTER_FIELDS = {
    spec.name: spec
    for spec in (
        Field("nome", "Nome e cognome", required=True, maxlength=200, autocomplete="name"),
        Field(
            "ente",
            "Ente o organizzazione",
            "Il comune, l'ente o l'associazione per cui scrivi; "
            "se scrivi a titolo personale, «privato cittadino».",
            required=True,
            maxlength=300,
            autocomplete="organization",
        ),
        Field(
            "email",
            "Indirizzo e-mail",
            "Serve solo alla redazione, se deve chiederti chiarimenti.",
            widget="email",
            required=True,
            maxlength=254,
            autocomplete="email",
        ),
        Field(
            "privacy",
            "Ho letto l'informativa sulla privacy e accetto che i miei dati siano usati "
            "per gestire la segnalazione.",
            widget="checkbox",
            required=True,
        ),
        Field(
            "nota",
            "Cosa correggi e perché",
            "Ad esempio: «aggiornato lo stato: il processo si è concluso nel 2023, "
            "vedi la delibera collegata».",
            widget="textarea",
        ),
    )
}


# --- form → record -------------------------------------------------------------------------------


def _first(form: Mapping[str, list[str]], name: str) -> str:
    values = form.get(name) or []
    return values[0].strip() if values else ""


def _value(form: Mapping[str, list[str]], name: str) -> str | None:
    return _first(form, name) or None


def _rows(form: Mapping[str, list[str]], group: Group) -> list[dict]:
    """The rows of ``group`` that have something typed in a text field, in row order."""
    numbers = set()
    for key in form:
        match = _ROW_KEY.match(key)
        if match and match["group"] == group.name:
            numbers.add(int(match["row"]))
    rows = []
    for number in sorted(numbers):
        row = {sub.name: _value(form, f"{group.name}.{number}.{sub.name}") for sub in group.fields}
        if any(row[sub.name] for sub in group.fields if sub.widget != "select"):
            rows.append(row)
    return rows


def form_to_record(form: Mapping[str, list[str]]) -> dict:
    """The import-format record of a posted process form (values as typed, empty ones as None).

    Every public field is in the record; rows of a group left empty are dropped, so the n-th row of the
    record (and of its validation errors) is the n-th filled row.
    """
    record: dict[str, Any] = {}
    for name in PUBLIC_FIELDS:
        if name in GROUPS:
            record[name] = _rows(form, GROUPS[name])
        elif name == "funding":
            funding: dict[str, Any] = {
                key.removeprefix("funding."): _value(form, key)
                for key in FIELDS
                if key.startswith("funding.") and not key.startswith("funding.phases.")
            }
            funding["phases"] = _rows(form, GROUPS["funding.phases"])
            record[name] = funding if any(funding.values()) else None
        else:
            widget = FIELDS[name].widget
            if widget == "checkboxes":
                record[name] = [v.strip() for v in form.get(name) or [] if v.strip()]
            elif widget == "checkbox":
                record[name] = _first(form, name) in ("1", "on", "true")
            elif widget == "lines":
                text = "\n".join(form.get(name) or [])
                record[name] = [line.strip() for line in text.splitlines() if line.strip()]
            else:
                record[name] = _value(form, name)
    return record


# --- record → form -------------------------------------------------------------------------------


def _italian_amount(value: Any) -> str:
    amount = Decimal(value)
    whole, _, cents = f"{amount:,.2f}".partition(".")
    return f"{whole.replace(',', '.')},{cents}"


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
        return _italian_amount(value)
    if widget == "date" and isinstance(value, str) and not _ISO_DATE.match(value.strip()):
        match = _ITALIAN_DATE.match(value.strip())
        if match:  # a date input shows ISO dates only
            day, month, year = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def record_to_form(record: Mapping[str, Any], territory_labels: Mapping[str, str] | None = None) -> dict:
    """Form values (``{field name: [values]}``, as a browser posts them) showing ``record``.

    ``territory_labels`` turns codes into what people type ("C001078" → "Chieri (TO)"): see
    ``services.territory_labels``. Exported amounts show the Italian way ("1.234,50").
    """
    labels = territory_labels or {}
    form: dict[str, list[str]] = {}
    for name in PUBLIC_FIELDS:
        value = record.get(name)
        if name in GROUPS:
            _put_rows(form, GROUPS[name], value)
        elif name == "funding":
            funding = value if isinstance(value, Mapping) else {}
            for key, spec in FIELDS.items():
                if key.startswith("funding.") and not key.startswith("funding.phases."):
                    form[key] = [_shown(funding.get(key.removeprefix("funding.")), spec.widget)]
            _put_rows(form, GROUPS["funding.phases"], funding.get("phases"))
        else:
            widget = FIELDS[name].widget
            if widget == "checkboxes":
                form[name] = [str(v) for v in value or []] if isinstance(value, list) else []
            elif widget == "checkbox":
                form[name] = ["1"] if value is True or value in ("1", "true") else []
            elif widget == "lines":
                items = value if isinstance(value, list) else [value] if value else []
                shown = [labels.get(str(item), str(item)) for item in items]
                form[name] = ["\n".join(shown)]
            else:
                form[name] = [_shown(value, widget)]
    return form


def _put_rows(form: dict[str, list[str]], group: Group, rows: Any) -> None:
    for number, row in enumerate(rows if isinstance(rows, list) else [], start=1):
        if isinstance(row, str):  # a phase or a link given as plain text
            row = {group.fields[0].name: row}
        if not isinstance(row, Mapping):
            continue
        for sub in group.fields:
            form[f"{group.name}.{number}.{sub.name}"] = [_shown(row.get(sub.name), sub.widget)]


# --- errors -------------------------------------------------------------------------------------


def _form_field(path: str) -> tuple[str, str | None]:
    """The form field a validation path belongs to, and the line number for "lines" fields."""
    if path in FIELDS or path in GROUPS or path in SUBMITTER_FIELDS:
        return path, None
    head, _, tail = path.rpartition(".")
    if head in FIELDS and FIELDS[head].widget == "lines" and tail.isdigit():
        return head, tail
    if head in FIELDS and FIELDS[head].widget == "checkboxes":
        return head, None
    match = _ROW_KEY.match(path)
    if match and f"{match['group']}.{match['sub']}" in FIELDS:
        return path, None
    parts = path.split(".")
    for end in range(len(parts) - 1, 0, -1):  # the nearest enclosing field or group
        prefix = ".".join(parts[:end])
        if prefix in FIELDS or prefix in GROUPS:
            return prefix, None
    return "", None


def field_errors(failed: ValidationFailed) -> dict[str, str]:
    """Messages by form field name ("" for the form as a whole), ready to show next to each field.

    Several problems of one field are joined; a problem with line n of a one-per-line field says
    "Riga n: …".
    """
    result: dict[str, str] = {}
    for error in failed.errors:
        name, line = _form_field(error.field)
        message = error.message
        if line is not None:
            message = f"Riga {line}: {message}"
        elif name == "" and error.field not in ("", "record"):
            message = f"{error.field}: {message}"
        message = message[:1].upper() + message[1:]
        result[name] = f"{result[name]} {message}" if name in result else message
    return result


# --- what the template renders ------------------------------------------------------------------


def field_id(name: str) -> str:
    """The HTML id of the input of form field ``name``."""
    return "campo-" + name.replace(".", "-").replace("_", "-")


@dataclass
class FormView:
    """A process form to render: values, errors, vocabulary options and how many empty rows to add.

    Build it with :func:`form_view`; ``templates/_process_form.html`` renders it.
    """

    values: dict[str, list[str]]
    errors: dict[str, str]
    vocabularies: Mapping[str, list[dict]]
    empty_rows: int = EMPTY_ROWS
    sections: tuple[Section, ...] = SECTIONS
    extra_fields: dict[str, Field] = field(default_factory=lambda: dict(SUBMITTER_FIELDS))

    def value(self, name: str) -> str:
        values = self.values.get(name) or []
        return values[0] if values else ""

    def checked(self, name: str, option: str) -> bool:
        return option in (self.values.get(name) or [])

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def options(self, spec: Field) -> list[tuple[str, str]]:
        """(value, label) pairs of a select or of checkboxes."""
        if spec.vocabulary:
            return [(t["slug"], t["label"]) for t in self.vocabularies.get(spec.vocabulary, [])]
        return list((spec.choices or {}).items())

    def option_label(self, spec: Field, value: str) -> str:
        return dict(self.options(spec)).get(value, value)

    def filled_rows(self, group: Group) -> list[int]:
        numbers = {
            int(m["row"])
            for key, values in self.values.items()
            if (m := _ROW_KEY.match(key)) and m["group"] == group.name and any(v.strip() for v in values)
        }
        return sorted(numbers)

    def rows(self, group: Group) -> list[int]:
        """Row numbers to render: the filled rows, then ``empty_rows`` empty ones."""
        filled = self.filled_rows(group)
        last = max(filled, default=0)
        return [*filled, *range(last + 1, last + 1 + self.empty_rows)]

    def label(self, name: str) -> str:
        """The label of a form field for the error summary ("Fase 2, Inizio")."""
        if name in self.extra_fields:
            return self.extra_fields[name].label if name != "privacy" else "Informativa sulla privacy"
        match = _ROW_KEY.match(name)
        if match and match["group"] in GROUPS:
            group = GROUPS[match["group"]]
            sub = FIELDS[f"{group.name}.{match['sub']}"]
            return f"{group.row_label} {match['row']}, {sub.label}"
        if name in FIELDS:
            return FIELDS[name].label
        if name in GROUPS:
            return GROUPS[name].label
        return "Modulo"

    def anchor(self, name: str) -> str:
        """Where the error summary links to for field ``name``."""
        if name in FIELDS and FIELDS[name].widget == "checkboxes":
            options = self.options(FIELDS[name])
            return field_id(f"{name}.{options[0][0]}") if options else field_id(name)
        if name in GROUPS:
            return field_id(name) + "-gruppo"
        return field_id(name) if name else "errori"

    def summary(self) -> list[tuple[str, str, str]]:
        """(anchor, label, message) of every error, in the order of the form."""
        order = {name: i for i, name in enumerate([*FIELDS, *GROUPS, *self.extra_fields])}

        def position(name: str) -> tuple:
            match = _ROW_KEY.match(name)
            if match:
                return (order.get(f"{match['group']}.{match['sub']}", 0), int(match["row"]))
            return (order.get(name, -1), 0)

        ordered = sorted(self.errors, key=position)
        return [(self.anchor(name), self.label(name), self.errors[name]) for name in ordered]

    def id(self, name: str) -> str:
        return field_id(name)

    def spec(self, name: str) -> Field:
        """The definition of a field outside the process sections ("nome", "email", "nota"...)."""
        return self.extra_fields[name]

    def shown(self, spec: Field, name: str) -> list[str]:
        """What a read-only view shows of a field: one item per value, none when it is empty."""
        if spec.widget == "checkboxes":
            return [self.option_label(spec, v) for v in self.values.get(name) or []]
        value = self.value(name).strip()
        if spec.widget == "checkbox":
            return ["Sì"] if value else []
        if not value:
            return []
        if spec.widget == "select":
            return [self.option_label(spec, value)]
        if spec.widget == "lines":
            return [line.strip() for line in value.splitlines() if line.strip()]
        if spec.widget == "date" and _ISO_DATE.match(value):
            year, month, day = value.split("-")
            return [f"{day}/{month}/{year}"]
        return [value]

    def has_values(self, section: Section) -> bool:
        """Whether a read-only view has anything to show in ``section``."""
        for item in section.items:
            if isinstance(item, Group):
                if self.filled_rows(item):
                    return True
            elif self.shown(item, item.name):
                return True
        return False


def form_view(
    values: dict[str, list[str]],
    errors: dict[str, str] | None,
    vocabularies: Mapping[str, list[dict]],
    empty_rows: int = EMPTY_ROWS,
) -> FormView:
    """A FormView of ``values`` (see :func:`record_to_form`) with ``errors`` (see :func:`field_errors`)
    and the vocabularies of ``catalogue.services.vocabularies()``."""
    return FormView(
        values=values,
        errors=errors or {},
        vocabularies=vocabularies,
        empty_rows=max(0, min(empty_rows, MAX_EMPTY_ROWS)),
    )


def empty_rows_asked(form: Mapping[str, list[str]]) -> int:
    """How many empty rows the page should show: more after "Aggiungi righe"."""
    try:
        current = int(_first(form, "righe") or EMPTY_ROWS)
    except ValueError:
        current = EMPTY_ROWS
    if _first(form, "azione") == "aggiungi":
        current += EMPTY_ROWS
    return max(EMPTY_ROWS, min(current, MAX_EMPTY_ROWS))
