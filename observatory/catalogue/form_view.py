"""What a page with the process form renders: its values, errors and options (FormView, for
``templates/_process_form.html``), which sections are open and how many empty rows its groups show.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

from observatory.catalogue.checks import ValidationFailed
from observatory.catalogue.editing import SaveConflict
from observatory.catalogue.forms import (
    EDITORIAL_SECTIONS,
    GROUPS,
    INPUTS,
    ROW_KEY,
    SECTIONS,
    Group,
    Input,
    Section,
    field_errors,
    form_to_record,
    record_values,
    typed_values,
)
from observatory.catalogue.services import vocabularies
from observatory.i18n import N_, gettext, term_label
from observatory.web import first

#: The action of a group's "Aggiungi" button, before the group's name: ``aggiungi:phases``.
ADD_ROW = "aggiungi:"
#: The most empty rows one group shows, however many times its "Aggiungi" button is pressed.
MAX_EMPTY_ROWS = 30
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    #: Empty rows under the filled ones, by group; a group not named shows one when none is filled.
    empty_rows: Mapping[str, int] = field(default_factory=dict)
    sections: tuple[Section, ...] = SECTIONS
    #: The page's inputs besides the process's (who sends a submission, a correction's note).
    extra: Mapping[str, Input] = field(default_factory=dict)
    #: Where the form posts: a group's "Aggiungi" button comes back to its new row there (#its id).
    action: str = ""
    #: The group that just got a row: its first input takes the focus.
    added: str | None = None
    #: Whether optional sections are folded away (<details>) until they hold a value or an error.
    folding: bool = False

    def value(self, name: str) -> str:
        values = self.values.get(name) or []
        return values[0] if values else ""

    def checked(self, name: str, option: str) -> bool:
        return option in (self.values.get(name) or [])

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def options(self, spec: Input) -> list[tuple[str, str]]:
        """(value, label) pairs of a select or of checkboxes."""
        if spec.vocabulary:
            return [(t["slug"], term_label(t["label"])) for t in self.vocabularies.get(spec.vocabulary, [])]
        return [(value, gettext(label)) for value, label in (spec.choices or {}).items()]

    def option_label(self, spec: Input, value: str) -> str:
        return dict(self.options(spec)).get(value, value)

    def filled_rows(self, group: Group) -> list[int]:
        numbers = {
            int(m["row"])
            for key, values in self.values.items()
            if (m := ROW_KEY.match(key)) and m["group"] == group.name and any(v.strip() for v in values)
        }
        return sorted(numbers)

    def rows(self, group: Group) -> list[int]:
        """Row numbers to render: the filled rows, then the group's empty ones (one when none is
        filled, so that a new sender sees where to type)."""
        filled = self.filled_rows(group)
        last = max(filled, default=0)
        empty = max(self.empty_rows.get(group.name, 0), 0 if filled else 1)
        return [*filled, *range(last + 1, last + 1 + empty)]

    def new_row_anchor(self, group: Group) -> str:
        """Where a group's "Aggiungi" button returns to: its action, at the first input of the row
        the button adds (the page comes back with that row last, numbered one more)."""
        row = max(self.rows(group), default=0) + 1
        return f"{self.action}#{field_id(f'{group.name}.{row}.{group.inputs[0].name}')}"

    def is_open(self, section: Section) -> bool:
        """Whether a section shows its inputs: always, unless it is optional and folded away while
        it holds no value, no error and no row just added or asked for."""
        if not (self.folding and section.optional) or self.has_values(section):
            return True
        names = [item.name for item in section.items]
        groups = [item for item in section.items if isinstance(item, Group)]
        return any(
            error == name or error.startswith(name + ".") for error in self.errors for name in names
        ) or any(group.name == self.added or self.empty_rows.get(group.name, 0) > 1 for group in groups)

    def required_labels(self) -> list[str]:
        """What the form requires, in its order: the labels of the required inputs outside groups."""
        inputs = [item for section in self.sections for item in section.items if isinstance(item, Input)]
        return [spec.shown_summary_label for spec in [*inputs, *self.extra.values()] if spec.required]

    def label(self, name: str) -> str:
        """The label of a form field for the error summary ("Fase 2, Inizio")."""
        if name in self.extra:
            return self.extra[name].shown_summary_label
        match = ROW_KEY.match(name)
        if match and match["group"] in GROUPS:
            group = GROUPS[match["group"]]
            sub = INPUTS[f"{group.name}.{match['sub']}"]
            return f"{group.shown_row_label} {match['row']}, {sub.shown_label}"
        if name in INPUTS:
            return INPUTS[name].shown_label
        if name in GROUPS:
            return GROUPS[name].shown_label
        return gettext("Modulo")

    def anchor(self, name: str) -> str:
        """Where the error summary links to for field ``name``."""
        if name in INPUTS and INPUTS[name].widget == "checkboxes":
            options = self.options(INPUTS[name])
            return field_id(f"{name}.{options[0][0]}") if options else field_id(name)
        if name in GROUPS:
            return field_id(name) + "-gruppo"
        return field_id(name) if name else "errori"

    def summary(self) -> list[tuple[str, str, str]]:
        """(anchor, label, message) of every error, in the order of the form."""
        order = {name: i for i, name in enumerate([*INPUTS, *GROUPS, *self.extra])}

        def position(name: str) -> tuple:
            match = ROW_KEY.match(name)
            if match:
                return (order.get(f"{match['group']}.{match['sub']}", 0), int(match["row"]))
            return (order.get(name, -1), 0)

        ordered = sorted(self.errors, key=position)
        return [(self.anchor(name), self.label(name), self.errors[name]) for name in ordered]

    def id(self, name: str) -> str:
        return field_id(name)

    def spec(self, name: str) -> Input:
        """An input outside the process sections ("nome", "email", "nota"...)."""
        return self.extra[name]

    def shown(self, spec: Input, name: str) -> list[str]:
        """What a read-only view shows of a field: one item per value, none when it is empty."""
        if spec.widget == "checkboxes":
            return [self.option_label(spec, v) for v in self.values.get(name) or []]
        value = self.value(name).strip()
        if spec.widget == "checkbox":
            return [gettext("Sì")] if value else []
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


async def form_view(
    values: dict[str, list[str]],
    errors: dict[str, str] | None = None,
    posted: Mapping[str, list[str]] | None = None,
    extra: Mapping[str, Input] | None = None,
    editorial: bool = False,
    action: str = "",
    folding: bool = False,
) -> FormView:
    """A FormView of ``values`` (see :func:`record_to_form`) with ``errors`` (see :func:`field_errors`),
    the current vocabularies, and the empty rows the ``posted`` form had, with one more in the group
    whose "Aggiungi" button was pressed; with ``editorial``, the editors' form (every field, not only
    the public ones). ``action`` is where the form posts; with ``folding``, optional sections are
    folded away until used (the public's pages)."""
    added = added_group(posted or {})
    view = FormView(
        values=values,
        errors=errors or {},
        vocabularies=await vocabularies(),
        sections=EDITORIAL_SECTIONS if editorial else SECTIONS,
        extra=extra or {},
        action=action,
        added=added,
        folding=folding,
    )
    view.empty_rows = {
        name: min(_empty_rows_posted(posted or {}, view, group) + (name == added), MAX_EMPTY_ROWS)
        for name, group in GROUPS.items()
    }
    return view


def added_group(posted: Mapping[str, list[str]]) -> str | None:
    """The group whose "Aggiungi" button sent the form (``azione=aggiungi:phases``), or None."""
    action = first(posted, "azione")
    name = action.removeprefix(ADD_ROW)
    return name if action.startswith(ADD_ROW) and name in GROUPS else None


def _empty_rows_posted(posted: Mapping[str, list[str]], view: FormView, group: Group) -> int:
    """How many of the rows of ``group`` the form was sent with are still empty."""
    sent = {int(m["row"]) for key in posted if (m := ROW_KEY.match(key)) and m["group"] == group.name}
    return max(len(sent) - len(view.filled_rows(group)), 0)


@dataclass(frozen=True)
class EditPage:
    """What an editors' page with the process form says: where it posts and goes back to, its
    heading, introduction and button, and what it calls the version saved meanwhile."""

    action: str
    back: str
    heading: str
    intro: str
    button: str
    #: The column of the values saved since the form was opened, when they conflict with the typing
    #: (marked with N_, translated on the page).
    saved_label: str = N_("Salvato")
    #: Whether the form asks for every field, the editors' own too (slug, notes...), or only for
    #: those the public may propose (a submission edited before approval).
    editorial: bool = False
    #: Inputs the page asks for besides the process's (the reason of an edit), shown under the form.
    extra: Mapping[str, Input] = field(default_factory=dict)

    def own_values(self, posted: Mapping[str, list[str]]) -> dict[str, list[str]]:
        """What was posted for the page's own inputs (``extra``), to show it back."""
        return {name: list(posted[name]) for name in self.extra if name in posted}


async def edit_page(
    page: EditPage,
    values: dict[str, list[str]] | None,
    posted: Mapping[str, list[str]] | None = None,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """``templates/staff/process_edit.html``: the process form showing ``values`` (none, with only
    the ``refusal``, when ``values`` is None)."""
    form = (
        await form_view(values, errors, posted, page.extra, editorial=page.editorial, action=page.action)
        if values is not None
        else None
    )
    return Template(
        "staff/process_edit.html",
        context={"form": form, "refusal": refusal, **vars(page), **context},
        status_code=status_code,
    )


def posted_version(posted: Mapping[str, list[str]]) -> int | None:
    """The version of the process the form was opened on (its hidden ``versione``), None if absent."""
    version = first(posted, "versione")
    return int(version) if version.isascii() and version.isdigit() and len(version) < 10 else None


async def save_posted(
    page: EditPage,
    posted: Mapping[str, list[str]],
    save: Callable[[dict], Awaitable[Any]],
    refused: tuple[type[Exception], ...],
    done: Redirect,
    **context: Any,
) -> Template | Redirect:
    """An editors' process form posted: a group's row more, or ``save`` the typed record; then ``done``,
    or the form again with what was typed and the errors (400), the refusal (409), or the typing
    merged with what was saved meanwhile (409, SaveConflict)."""
    typed = typed_values(posted, page.editorial) | page.own_values(posted)
    if added_group(posted):
        return await edit_page(page, typed, posted, **context)
    try:
        await save(form_to_record(posted, page.editorial))
    except ValidationFailed as failed:
        errors = field_errors(failed, known=page.extra)
        return await edit_page(page, typed, posted, errors, status_code=HTTP_400_BAD_REQUEST, **context)
    except SaveConflict as conflict:
        return await edit_page(
            page,
            await record_values(conflict.record, page.editorial) | page.own_values(posted),
            refusal=conflict.message,
            status_code=HTTP_409_CONFLICT,
            **(context | conflict.context),
        )
    except refused as refusal:
        return await edit_page(
            page, typed, posted, refusal=str(refusal), status_code=HTTP_409_CONFLICT, **context
        )
    return done
