"""What the audit log calls things: every action code, the kinds of objects, the fields of their data
before and after, and the coded values among them. Written in Italian and marked for the catalogue
(``N_``), they are translated where shown: the log's page on /en/ is English, its CSV export stays
Italian (see entries.csv_text).

Every action that ``record_audit`` writes anywhere in the code must have its name in ACTIONS
(tests/test_audit_log.py reads the source for them and fails on one without).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from observatory.accounts.tables import ROLES
from observatory.catalogue.fields import PATH_LABELS, VOCABULARIES, path_label, vocabulary_name
from observatory.i18n import N_, _
from observatory.submissions.tables import SUBMISSION_KINDS, SUBMISSION_STATES

#: Every action of the audit log, by code, with what people read.
ACTIONS = {
    "segnalazione.approva": N_("Segnalazione approvata"),
    "segnalazione.richiedi_modifiche": N_("Modifiche chieste a chi ha segnalato"),
    "segnalazione.respingi": N_("Segnalazione respinta"),
    "segnalazione.duplicato": N_("Segnalazione segnata come duplicato"),
    "segnalazione.nuovo_indirizzo": N_("Nuovo indirizzo privato inviato a chi ha segnalato"),
    "processo.modifica": N_("Processo modificato"),
    "processo.correggi": N_("Correzione applicata al processo"),
    "processo.unisci_dati": N_("Dati di una segnalazione uniti al processo"),
    "processo.ripristina": N_("Versione precedente del processo ripristinata"),
    "processo.ritira": N_("Processo ritirato"),
    "processo.ripubblica": N_("Processo ripubblicato"),
    "ente.unisci": N_("Enti uniti"),
    "termine.crea": N_("Termine di vocabolario aggiunto"),
    "termine.modifica": N_("Termine di vocabolario modificato"),
    "termine.ordina": N_("Termine di vocabolario spostato"),
    "termine.elimina": N_("Termine di vocabolario eliminato"),
    "sinonimi.crea": N_("Gruppo di sinonimi aggiunto"),
    "sinonimi.modifica": N_("Gruppo di sinonimi modificato"),
    "sinonimi.elimina": N_("Gruppo di sinonimi eliminato"),
    "utente.crea": N_("Account creato"),
    "utente.modifica": N_("Account modificato"),
    "utente.disattiva": N_("Account disattivato"),
    "utente.riattiva": N_("Account riattivato"),
    "utente.link_password": N_("Link per una nuova password creato"),
    "utente.password_reimpostata": N_("Password reimpostata"),
    "utente.cambia_password": N_("Password cambiata dal titolare"),
    "utente.due_fattori_attiva": N_("Verifica in due passaggi attivata"),
    "utente.due_fattori_disattiva": N_("Verifica in due passaggi disattivata"),
    "utente.azzera_due_fattori": N_("Verifica in due passaggi tolta da un amministratore"),
    "utente.codice_recupero": N_("Accesso con un codice di recupero"),
    "utente.codici_recupero": N_("Nuovi codici di recupero"),
    "utente.due_fattori_per_tutti": N_("Obbligo della verifica in due passaggi cambiato"),
    "posta.riprova": N_("E-mail rimessa in invio"),
    "notifiche.riepilogo": N_("Riepilogo giornaliero attivato o disattivato"),
    "messaggio.gestito": N_("Messaggio del modulo di contatto segnato come gestito"),
}
#: The filter's groups of actions, by the part of the code before the dot.
ACTION_GROUPS = {
    "segnalazione": N_("Segnalazioni"),
    "processo": N_("Processi"),
    "ente": N_("Enti"),
    "termine": N_("Vocabolari"),
    "sinonimi": N_("Sinonimi"),
    "utente": N_("Account della redazione"),
    "posta": N_("Posta elettronica"),
    "notifiche": N_("Notifiche"),
    "messaggio": N_("Messaggi alla redazione"),
}
#: The kinds of audited objects (``AuditEntry.object_type``), as a heading names them.
OBJECT_KINDS = {
    "segnalazione": N_("Segnalazione"),
    "processo": N_("Processo"),
    "ente": N_("Ente"),
    "termine": N_("Termine"),
    "gruppo di sinonimi": N_("Gruppo di sinonimi"),
    "utente": N_("Account"),
    "impostazione": N_("Impostazione"),
    "email": N_("E-mail"),
    "messaggio": N_("Messaggio"),
}

#: A process's own labels besides its fields' (those are the field declarations', catalogue/fields.py).
_PROCESS = {
    "publication": N_("Pubblicazione"),
    "withdrawal_reason": N_("Motivo del ritiro"),
}
_ORGANISATION = {
    "slug": N_("Indirizzo (slug)"),
    "name": N_("Nome"),
    "names": N_("Nomi"),
    "processes": N_("Processi collegati"),
    "description": N_("Descrizione"),
    "website": N_("Sito web"),
    "territory": N_("Territorio"),
}
#: Labels of the fields in the data before and after, by object type (a process's fields: see
#: _label).
FIELD_LABELS: dict[str, dict[str, str]] = {
    "processo": _PROCESS,
    "segnalazione": {
        "state": N_("Stato"),
        "editor_message": N_("Messaggio della redazione"),
        "accepted_fields": N_("Campi applicati"),
        "duplicate_of": N_("Duplicato di"),
        "merged_fields": N_("Campi uniti al processo"),
        "kind": N_("Tipo di segnalazione"),
        "note": N_("Cosa correggi e perché"),
        "recipient": N_("Destinatario"),
    },
    "ente": _ORGANISATION,
    "termine": {
        "vocabulary": N_("Vocabolario"),
        "slug": N_("Identificativo"),
        "label": N_("Etichetta"),
        "label_en": N_("Etichetta inglese"),
        "description": N_("Descrizione"),
        "position": N_("Posizione"),
        "replaced_by": N_("Processi passati al termine"),
        "processes": N_("Processi spostati"),
    },
    "gruppo di sinonimi": {"expressions": N_("Espressioni"), "note": N_("Nota"), "version": N_("Versione")},
    "utente": {
        "username": N_("Nome utente"),
        "display_name": N_("Nome"),
        "role": N_("Ruolo"),
        "email": N_("Indirizzo e-mail"),
        "active": N_("Attivo"),
        "due_fattori": N_("Verifica in due passaggi"),
        "scade": N_("Scade il"),
        "daily_digest": N_("Riepilogo giornaliero"),
    },
    "impostazione": {"obbligatoria": N_("Obbligatoria")},
    "email": {
        "attempts": N_("Tentativi"),
        "failed_at": N_("Non inviata dal"),
        "last_error": N_("Ultimo errore"),
    },
}
#: Objects held inside another's data: (object type, key) -> the label of the key and the object
#: type whose labels its fields take.
NESTED = {
    ("segnalazione", "process"): (N_("Processo"), "processo"),
    ("ente", "source"): (N_("Ente unito"), "ente"),
    ("ente", "target"): (N_("Ente che resta"), "ente"),
}


def _field_name(name: str) -> str:
    return path_label(name) if name in PATH_LABELS else name


def _vocabulary(vocabulary: str) -> str:
    return vocabulary_name(vocabulary) if vocabulary in VOCABULARIES else vocabulary


#: Coded values shown by name, by object type and field: their names (marked for the catalogue), or
#: what gives the name in the current language.
VALUE_NAMES: dict[tuple[str, str], Mapping[str, str] | Callable[[str], str]] = {
    ("segnalazione", "state"): SUBMISSION_STATES,
    ("segnalazione", "kind"): SUBMISSION_KINDS,
    ("segnalazione", "accepted_fields"): _field_name,
    ("segnalazione", "merged_fields"): _field_name,
    ("processo", "publication"): {"published": N_("pubblicato"), "withdrawn": N_("ritirato")},
    ("termine", "vocabulary"): _vocabulary,
    ("utente", "role"): ROLES,
}


def action_name(code: str) -> str:
    """The name of an action in the current language (the code itself for one this version does
    not know)."""
    return _(ACTIONS[code]) if code in ACTIONS else code


def object_kind(object_type: str) -> str:
    """The name of a kind of object, capitalised, in the current language."""
    return _(OBJECT_KINDS[object_type]) if object_type in OBJECT_KINDS else object_type.capitalize()


def _label(object_type: str, key: str) -> str | None:
    """The label of one key of an object's data in the current language, None when nothing names it."""
    if object_type == "processo" and key in PATH_LABELS:
        return path_label(key)
    label = FIELD_LABELS.get(object_type, {}).get(key)
    return _(label) if label else None


def field_label(object_type: str, path: str) -> str:
    """The label of a field of an object's data (dotted for nested objects: "process.title"), for
    people: "Processo › Titolo"; the path itself when nothing names it."""
    if label := _label(object_type, path):
        return label
    head, _dot, rest = path.partition(".")
    if rest and (object_type, head) in NESTED:
        label, inner = NESTED[(object_type, head)]
        return f"{_(label)} › {field_label(inner, rest)}"
    if rest and (label := _label(object_type, head)):
        return f"{label} › {rest}"
    return path


def _named(names: Mapping[str, str] | Callable[[str], str], value: str) -> str:
    if callable(names):
        return names(value)
    return _(names[value]) if value in names else value


def value_name(object_type: str, path: str, value):
    """A coded value (or each of a list) by its name in the current language (a state, a role, a
    field), else the value itself; a term's position counts from 1, as the vocabulary page shows it."""
    head, _dot, rest = path.partition(".")
    if rest and (object_type, head) in NESTED:
        return value_name(NESTED[(object_type, head)][1], rest, value)
    if (object_type, path) == ("termine", "position") and isinstance(value, int):
        return value + 1
    names = VALUE_NAMES.get((object_type, path), {})
    if isinstance(value, list):
        return [_named(names, item) if isinstance(item, str) else item for item in value]
    return _named(names, value) if isinstance(value, str) else value


def action_choices(codes: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``codes`` grouped for the filter's list: [(group name, [(code, name)])], groups and actions in
    the order declared here, the codes this version does not know last; names in the current
    language."""
    order = {code: n for n, code in enumerate(ACTIONS)}
    groups: dict[str, list[tuple[str, str]]] = {}
    for code in sorted(codes, key=lambda code: (order.get(code, len(order)), code)):
        group = ACTION_GROUPS.get(code.partition(".")[0], N_("Altre azioni"))
        groups.setdefault(group, []).append((code, action_name(code)))
    known = list(ACTION_GROUPS.values())
    ordered = sorted(
        groups.items(), key=lambda item: known.index(item[0]) if item[0] in known else len(known)
    )
    return [(_(group), choices) for group, choices in ordered]
