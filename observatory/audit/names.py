"""What the audit log calls things, in Italian: every action code, the kinds of objects, the fields
of their data before and after, and the coded values among them.

Every action that ``record_audit`` writes anywhere in the code must have its name in ACTIONS
(tests/test_audit_log.py reads the source for them and fails on one without).
"""

from __future__ import annotations

from observatory.accounts.tables import ROLES
from observatory.catalogue.fields import LABELS, PATH_LABELS, VOCABULARIES
from observatory.submissions.tables import SUBMISSION_KINDS, SUBMISSION_STATES

#: Every action of the audit log, by code, with what people read.
ACTIONS = {
    "segnalazione.approva": "Segnalazione approvata",
    "segnalazione.richiedi_modifiche": "Modifiche chieste a chi ha segnalato",
    "segnalazione.respingi": "Segnalazione respinta",
    "segnalazione.duplicato": "Segnalazione segnata come duplicato",
    "segnalazione.nuovo_indirizzo": "Nuovo indirizzo privato inviato a chi ha segnalato",
    "processo.modifica": "Processo modificato",
    "processo.correggi": "Correzione applicata al processo",
    "processo.unisci_dati": "Dati di una segnalazione uniti al processo",
    "processo.ripristina": "Versione precedente del processo ripristinata",
    "processo.ritira": "Processo ritirato",
    "processo.ripubblica": "Processo ripubblicato",
    "ente.unisci": "Enti uniti",
    "termine.crea": "Termine di vocabolario aggiunto",
    "termine.modifica": "Termine di vocabolario modificato",
    "termine.ordina": "Termine di vocabolario spostato",
    "termine.elimina": "Termine di vocabolario eliminato",
    "sinonimi.crea": "Gruppo di sinonimi aggiunto",
    "sinonimi.modifica": "Gruppo di sinonimi modificato",
    "sinonimi.elimina": "Gruppo di sinonimi eliminato",
    "utente.crea": "Account creato",
    "utente.modifica": "Account modificato",
    "utente.disattiva": "Account disattivato",
    "utente.riattiva": "Account riattivato",
    "utente.link_password": "Link per una nuova password creato",
    "utente.password_reimpostata": "Password reimpostata",
    "utente.cambia_password": "Password cambiata dal titolare",
    "utente.due_fattori_attiva": "Verifica in due passaggi attivata",
    "utente.due_fattori_disattiva": "Verifica in due passaggi disattivata",
    "utente.azzera_due_fattori": "Verifica in due passaggi tolta da un amministratore",
    "utente.codice_recupero": "Accesso con un codice di recupero",
    "utente.codici_recupero": "Nuovi codici di recupero",
    "utente.due_fattori_per_tutti": "Obbligo della verifica in due passaggi cambiato",
    "posta.riprova": "E-mail rimessa in invio",
    "notifiche.riepilogo": "Riepilogo giornaliero attivato o disattivato",
    "messaggio.gestito": "Messaggio del modulo di contatto segnato come gestito",
}
#: The filter's groups of actions, by the part of the code before the dot.
ACTION_GROUPS = {
    "segnalazione": "Segnalazioni",
    "processo": "Processi",
    "ente": "Enti",
    "termine": "Vocabolari",
    "sinonimi": "Sinonimi",
    "utente": "Account della redazione",
    "posta": "Posta elettronica",
    "notifiche": "Notifiche",
    "messaggio": "Messaggi alla redazione",
}
#: The kinds of audited objects (``AuditEntry.object_type``), as a heading names them.
OBJECT_KINDS = {
    "segnalazione": "Segnalazione",
    "processo": "Processo",
    "ente": "Ente",
    "termine": "Termine",
    "gruppo di sinonimi": "Gruppo di sinonimi",
    "utente": "Account",
    "impostazione": "Impostazione",
    "email": "E-mail",
    "messaggio": "Messaggio",
}

_PROCESS = {
    **PATH_LABELS,
    "publication": "Pubblicazione",
    "withdrawal_reason": "Motivo del ritiro",
}
_ORGANISATION = {
    "slug": "Indirizzo (slug)",
    "name": "Nome",
    "names": "Nomi",
    "processes": "Processi collegati",
    "description": "Descrizione",
    "website": "Sito web",
    "territory": "Territorio",
}
#: Labels of the fields in the data before and after, by object type (processes: the field
#: declarations' labels, catalogue/fields.py).
FIELD_LABELS: dict[str, dict[str, str]] = {
    "processo": _PROCESS,
    "segnalazione": {
        "state": "Stato",
        "editor_message": "Messaggio della redazione",
        "accepted_fields": "Campi applicati",
        "duplicate_of": "Duplicato di",
        "merged_fields": "Campi uniti al processo",
        "kind": "Tipo di segnalazione",
        "note": "Cosa correggi e perché",
        "recipient": "Destinatario",
    },
    "ente": _ORGANISATION,
    "termine": {
        "vocabulary": "Vocabolario",
        "slug": "Identificativo",
        "label": "Etichetta",
        "label_en": "Etichetta inglese",
        "description": "Descrizione",
        "position": "Posizione",
        "replaced_by": "Processi passati al termine",
        "processes": "Processi spostati",
    },
    "gruppo di sinonimi": {"expressions": "Espressioni", "note": "Nota", "version": "Versione"},
    "utente": {
        "username": "Nome utente",
        "display_name": "Nome",
        "role": "Ruolo",
        "email": "Indirizzo e-mail",
        "active": "Attivo",
        "due_fattori": "Verifica in due passaggi",
        "scade": "Scade il",
        "daily_digest": "Riepilogo giornaliero",
    },
    "impostazione": {"obbligatoria": "Obbligatoria"},
    "email": {"attempts": "Tentativi", "failed_at": "Non inviata dal", "last_error": "Ultimo errore"},
}
#: Objects held inside another's data: (object type, key) -> the label of the key and the object
#: type whose labels its fields take.
NESTED = {
    ("segnalazione", "process"): ("Processo", "processo"),
    ("ente", "source"): ("Ente unito", "ente"),
    ("ente", "target"): ("Ente che resta", "ente"),
}
#: Coded values shown by name, by object type and field.
VALUE_NAMES: dict[tuple[str, str], dict] = {
    ("segnalazione", "state"): SUBMISSION_STATES,
    ("segnalazione", "kind"): SUBMISSION_KINDS,
    ("segnalazione", "accepted_fields"): dict(LABELS),
    ("segnalazione", "merged_fields"): dict(LABELS),
    ("processo", "publication"): {"published": "pubblicato", "withdrawn": "ritirato"},
    ("termine", "vocabulary"): dict(VOCABULARIES),
    ("utente", "role"): ROLES,
}


def action_name(code: str) -> str:
    """The Italian name of an action (the code itself for one this version does not know)."""
    return ACTIONS.get(code, code)


def object_kind(object_type: str) -> str:
    """The name of a kind of object, capitalised."""
    return OBJECT_KINDS.get(object_type, object_type.capitalize())


def field_label(object_type: str, path: str) -> str:
    """The label of a field of an object's data (dotted for nested objects: "process.title"), for
    people: "Processo › Titolo"; the path itself when nothing names it."""
    labels = FIELD_LABELS.get(object_type, {})
    if path in labels:
        return labels[path]
    head, _, rest = path.partition(".")
    if rest and (object_type, head) in NESTED:
        label, inner = NESTED[(object_type, head)]
        return f"{label} › {field_label(inner, rest)}"
    if rest and head in labels:
        return f"{labels[head]} › {rest}"
    return path


def value_name(object_type: str, path: str, value):
    """A coded value (or each of a list) by its name (a state, a role, a field), else the value
    itself; a term's position counts from 1, as the vocabulary page shows it."""
    head, _, rest = path.partition(".")
    if rest and (object_type, head) in NESTED:
        return value_name(NESTED[(object_type, head)][1], rest, value)
    if (object_type, path) == ("termine", "position") and isinstance(value, int):
        return value + 1
    names = VALUE_NAMES.get((object_type, path), {})
    if isinstance(value, list):
        return [names.get(item, item) if isinstance(item, str) else item for item in value]
    return names.get(value, value) if isinstance(value, str) else value


def action_choices(codes: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``codes`` grouped for the filter's list: [(group name, [(code, name)])], groups and actions in
    the order declared here, the codes this version does not know last."""
    order = {code: n for n, code in enumerate(ACTIONS)}
    groups: dict[str, list[tuple[str, str]]] = {}
    for code in sorted(codes, key=lambda code: (order.get(code, len(order)), code)):
        group = ACTION_GROUPS.get(code.partition(".")[0], "Altre azioni")
        groups.setdefault(group, []).append((code, action_name(code)))
    known = list(ACTION_GROUPS.values())
    return sorted(groups.items(), key=lambda item: known.index(item[0]) if item[0] in known else len(known))
