"""Submissions from the public: checking, storing, tracking and amending them, and likely duplicates.

The pages and the API call these functions; the editors' pages read the same rows.

``Submission.data`` has one layout for every kind and channel::

    {"process": {...}, "note": "..." or null}

``process`` is the proposed process as a record in the import format (catalogue/transfer.py) with
exactly the public fields (``forms.PUBLIC_FIELDS``), in canonical form: territories as ISTAT codes,
vocabulary terms as slugs, years and counts as numbers, amounts as "1234.50", dates as
"YYYY-MM-DD", texts trimmed. It is what :func:`check_record` returns: it passes
``editing.validate_process`` as it is and compares field by field with ``transfer.process_record()``
of a published process (whose other fields it leaves alone); compare ``topics`` and ``methods`` as
sets, since the form's checkboxes give them in vocabulary order. ``note`` is the submitter's "what I
correct and why" of a correction, or null.
"""

from __future__ import annotations

import datetime
import re
import secrets
from collections.abc import Mapping
from typing import Any

from whoosh.query import Or, Term

from observatory.catalogue import services as catalogue
from observatory.catalogue.editing import (
    PROCESS_FIELDS,
    FieldError,
    References,
    ValidationFailed,
    validate_process,
)
from observatory.catalogue.tables import Organisation, OrganisationName, Process, Territory
from observatory.digests import keyed_digest, token_digest
from observatory.search.index import SearchIndex
from observatory.settings import Settings
from observatory.submissions.forms import PUBLIC_FIELDS
from observatory.submissions.tables import SUBMISSION_KINDS, SUBMISSION_STATES, Submission
from observatory.text import clean, fold

#: At most this many submissions from one address in an hour, and in a day.
LIMIT_PER_HOUR = 5
LIMIT_PER_DAY = 20
#: States in which the submitter may still change a submission.
AMENDABLE_STATES = ("in_attesa", "modifiche_richieste")
NOTE_LIMIT = 5_000
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_WITH_QUALIFIER = re.compile(r"^(?P<name>.+?)\s*\((?P<qualifier>[^()]+)\)$")
_TITLE_SIMILAR = 0.5  # share of title words in common (Dice) from which titles count as similar
_CANDIDATES = 40  # index hits looked at for likely duplicates
_HINTED = 5  # unknown territories of one record that get "Forse: ..." names (each costs a look-up)


class RateLimited(Exception):
    """Too many submissions from one address; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"troppe segnalazioni: riprova tra {retry_after} secondi.")
        self.retry_after = retry_after


class NotAmendable(Exception):
    """The submission is in a state the submitter can no longer change."""

    def __init__(self, state: str):
        label = SUBMISSION_STATES.get(state, state).lower()
        super().__init__(
            f"La segnalazione è nello stato «{label}» e non si può più modificare: "
            "si possono modificare solo le segnalazioni in attesa o con modifiche richieste."
        )
        self.state = state


# --- hashing ------------------------------------------------------------------------------------


# --- checking ------------------------------------------------------------------------------------


def validate_submitter(data: Mapping[str, Any]) -> dict:
    """The submitter's name, body and e-mail from ``{"nome", "ente", "email", "privacy"}``.

    ``privacy`` is the accepted privacy notice (True, "1" or "on"). Raise ValidationFailed with
    every problem, each on its key.
    """
    errors: list[FieldError] = []
    values = {}
    for key, column, limit in (("nome", "name", 200), ("ente", "body", 300), ("email", "email", 254)):
        raw = data.get(key)
        text = clean(raw) if isinstance(raw, str) else None
        if raw is not None and not isinstance(raw, str):
            errors.append(FieldError(key, "deve essere un testo."))
        elif text is None:
            errors.append(FieldError(key, "campo obbligatorio."))
        elif len(text) > limit:
            errors.append(FieldError(key, f"troppo lungo: {len(text)} caratteri, al massimo {limit}."))
        values[column] = text
    email = values["email"]
    if email and len(email) <= 254 and not _EMAIL.match(email):
        errors.append(
            FieldError("email", f"«{email}» non è un indirizzo e-mail valido (esempio: nome@comune.it).")
        )
    if data.get("privacy") not in (True, "1", "on", "true"):
        errors.append(
            FieldError("privacy", "per inviare la segnalazione devi accettare l'informativa sulla privacy.")
        )
    if errors:
        raise ValidationFailed(errors)
    return values


def check_note(value: Any) -> str | None:
    """The correction note, trimmed; raise ValidationFailed when it is too long."""
    if value is not None and not isinstance(value, str):
        raise ValidationFailed([FieldError("nota", "deve essere un testo.")])
    note = clean(value)
    if note and len(note) > NOTE_LIMIT:
        raise ValidationFailed([FieldError("nota", f"troppo lunga: al massimo {NOTE_LIMIT} caratteri.")])
    return note


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
        listed = ", ".join(sorted(f"«{labels[code]}»" for code in codes))
        return None, f"«{text}» corrisponde a più territori: scrivi uno di questi: {listed}."
    similar = await catalogue.list_territories(text[:200], None, 5) if hint and fold(text) else []
    hint = ""
    if similar:
        labels = await territory_labels([t["code"] for t in similar])
        hint = " Forse: " + ", ".join(f"«{labels[t['code']]}»" for t in similar) + "."
    return None, (
        f"territorio sconosciuto «{text}»: scrivi il nome di un comune, di una provincia o di una regione "
        f"(ad esempio «Chieri (TO)») o il codice ISTAT (R01, P201, C001272).{hint}"
    )


def _amount(cents: int | None) -> str | None:
    value = catalogue.cents_to_decimal(cents)
    return None if value is None else str(value)


def _day(value: datetime.date | None) -> str | None:
    return None if value is None else value.isoformat()


def canonical_record(values: dict) -> dict:
    """The public fields of validated values (``editing.validate_process``) as an import record."""
    funding = values["funding"]
    if (
        funding is not None
        and not any(v for k, v in funding.items() if k != "phases")
        and not funding["phases"]
    ):
        funding = None
    record = {name: values[name] for name in PUBLIC_FIELDS if name not in ("phases", "funding")}
    record["phases"] = [
        dict(phase, start_date=_day(phase["start_date"]), end_date=_day(phase["end_date"]))
        for phase in values["phases"]
    ]
    record["funding"] = (
        None
        if funding is None
        else {
            "programme": funding["programme"],
            "fund": funding["fund"],
            "total_investment": _amount(funding["total_investment_cents"]),
            "cofinancing": _amount(funding["cofinancing_cents"]),
            "beneficiary": funding["beneficiary"],
            "cup": funding["cup"],
            "phases": [
                {
                    "label": p["label"],
                    "start_date": _day(p["start_date"]),
                    "end_date": _day(p["end_date"]),
                    "investment": _amount(p["investment_cents"]),
                    "cofinancing": _amount(p["cofinancing_cents"]),
                    "beneficiary": p["beneficiary"],
                }
                for p in funding["phases"]
            ],
        }
    )
    return {name: record[name] for name in PUBLIC_FIELDS}


def public_record(record: Mapping[str, Any]) -> dict:
    """The public fields of a full import record (``transfer.process_record``), to prefill a correction."""
    return {name: record.get(name) for name in PUBLIC_FIELDS}


async def check_record(record: Any, refs: References | None = None) -> dict:
    """The canonical record (see the module docstring) of a proposed process.

    Raise ValidationFailed with every problem, in Italian, each on its record path ("title",
    "territories.2", "funding.total_investment"). Fields the public cannot set are refused.
    """
    if not isinstance(record, dict):
        raise ValidationFailed([FieldError("record", "deve essere un oggetto con i campi del processo.")])
    refs = refs or await References.load()
    errors = [
        FieldError(str(key), "campo riservato alla redazione: non si può proporre con una segnalazione.")
        for key in record
        if key in PROCESS_FIELDS and key not in PUBLIC_FIELDS and record[key] not in (None, "", [])
    ]
    data = {key: value for key, value in record.items() if key in PUBLIC_FIELDS or key not in PROCESS_FIELDS}
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
    for i, item in enumerate(data.get("organisations") or []):
        if isinstance(item, dict) and item.get("name") and item.get("role") in (None, ""):
            clearer[f"organisations.{i + 1}.role"] = "scegli il ruolo dell'ente."
    try:
        values = validate_process(data, refs)
    except ValidationFailed as failed:
        errors += [FieldError(e.field, clearer.get(e.field, e.message)) for e in failed.errors]
    if errors:
        raise ValidationFailed(errors)
    return canonical_record(values)


# --- storing and tracking -------------------------------------------------------------------------


async def check_rate_limit(address_key: str) -> None:
    """Raise RateLimited when ``address_key`` sent too many submissions in the last hour or day."""
    now = datetime.datetime.now(datetime.UTC)
    for window, limit in (
        (datetime.timedelta(hours=1), LIMIT_PER_HOUR),
        (datetime.timedelta(days=1), LIMIT_PER_DAY),
    ):
        recent = (
            await Submission.select(Submission.created_at)
            .where(Submission.address_hash == address_key, Submission.created_at > now - window)
            .order_by(Submission.created_at, ascending=False)
            .limit(limit)
        )
        if len(recent) >= limit:
            oldest = recent[-1]["created_at"]
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=datetime.UTC)
            raise RateLimited(max(1, int((oldest + window - now).total_seconds()) + 1))


async def create_submission(
    record: Any,
    submitter: dict,
    kind: str,
    process_id: int | None,
    address: str | None,
    channel: str,
    settings: Settings,
    note: str | None = None,
) -> tuple[int, str]:
    """Store a pending submission; return its id and the private tracking token.

    ``record`` is checked again with :func:`check_record` (ValidationFailed), ``submitter`` comes from
    :func:`validate_submitter`. The address is only kept as a keyed hash, for the rate limit
    (RateLimited). Only the token's hash is stored: the token is shown once, to the submitter.
    """
    if kind not in SUBMISSION_KINDS:
        raise ValueError(f"unknown submission kind {kind!r}")
    key = keyed_digest(address, settings.secret_key)
    await check_rate_limit(key)
    process = await check_record(record)
    token = secrets.token_urlsafe(32)
    now = datetime.datetime.now(datetime.UTC)
    row = Submission(
        token_hash=token_digest(token),
        kind=kind,
        state="in_attesa",
        data={"process": process, "note": note},
        process=process_id,
        submitter_name=submitter["name"],
        submitter_body=submitter["body"],
        submitter_email=submitter["email"],
        privacy_accepted_at=now,
        channel=channel,
        address_hash=key,
        created_at=now,
        updated_at=now,
    )
    await row.save()
    return row.id, token


async def find_submission(submission_id: int) -> dict | None:
    """A submission row by id, with ``data`` as a dict."""
    return await Submission.select().where(Submission.id == submission_id).output(load_json=True).first()


async def find_by_token(token: str) -> dict | None:
    """The submission a tracking token opens, with ``data`` as a dict, or None."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    return (
        await Submission.select()
        .where(Submission.token_hash == token_digest(token))
        .output(load_json=True)
        .first()
    )


async def amend_submission(token: str, record: Any, note: str | None = None) -> dict:
    """Replace the proposed process (and note) of a submission still open to changes.

    Allowed in AMENDABLE_STATES only (NotAmendable otherwise); a submission with changes requested
    goes back to in_attesa. Raise LookupError for an unknown token, ValidationFailed for a wrong record.
    """
    found = await find_by_token(token)
    if found is None:
        raise LookupError("unknown token")
    if found["state"] not in AMENDABLE_STATES:
        raise NotAmendable(found["state"])
    process = await check_record(record)
    now = datetime.datetime.now(datetime.UTC)
    data = {"process": process, "note": note}
    changed = (
        await Submission.update(
            {Submission.data: data, Submission.state: "in_attesa", Submission.updated_at: now}
        )
        .where(Submission.id == found["id"], Submission.state.is_in(list(AMENDABLE_STATES)))
        .returning(Submission.id)
    )
    current = await find_submission(found["id"])
    if not changed:  # an editor decided meanwhile
        raise NotAmendable(current["state"])
    return current


# --- likely duplicates ----------------------------------------------------------------------------


def _span(start: Any, end: Any, ongoing: Any) -> tuple[float, float] | None:
    start = start if isinstance(start, int) else None
    end = end if isinstance(end, int) else None
    low = start if start is not None else end
    if low is None:
        return None
    high = end if end is not None else (float("inf") if ongoing is True else low)
    return low, high


def _overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


def _title_words(searcher, text: str) -> set[str]:
    """The analysed words (Italian stems, no stop words) of a title."""
    return set(searcher.schema["title"].process_text(text, mode="query"))


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


async def _holder_slugs(names: list[str]) -> set[str]:
    keys = {fold(name) for name in names if isinstance(name, str) and fold(name)}
    if not keys:
        return set()
    ids = OrganisationName.select(OrganisationName.organisation).where(
        OrganisationName.name_key.is_in(list(keys))
    )
    return set(
        await Organisation.select(Organisation.slug).where(Organisation.id.is_in(ids)).output(as_list=True)
    )


async def _chains(codes: set[str]) -> dict[str, set[str]]:
    """Each code with the codes of the units containing it (Italy left out: it contains everything)."""
    if not codes:
        return {}
    rows = await Territory.select(Territory.code, Territory.region_code, Territory.province_code).where(
        Territory.code.is_in(list(codes))
    )
    return {
        row["code"]: {c for c in (row["code"], row["region_code"], row["province_code"]) if c and c != "IT"}
        for row in rows
    }


async def likely_duplicates(
    search_index: SearchIndex,
    record: Mapping[str, Any],
    exclude_process_id: int | None = None,
    limit: int = 5,
) -> list[dict]:
    """Published processes that may be the one ``record`` proposes, most likely first.

    Candidates come from the index: processes sharing words with the title (in their title or in
    the names of bodies and places) and processes of the same decision holders. Each gets its
    reasons: "titolo simile" (at least half the title words in common), "stesso titolare", "stesso
    territorio" (the same territory, or one containing the other) and "anni sovrapposti". A similar
    title is enough; otherwise the same holder must come with another reason. Ranked by the number
    of reasons plus the title's likeness (0 to 1).
    Each item: slug, title, start_year, end_year, ongoing, decision_holders and territories (as in
    process lists), reasons (list of str) and score.
    """
    title = record.get("title") if isinstance(record.get("title"), str) else ""
    holders = await _holder_slugs(list(record.get("decision_holders") or []))
    searcher, arrays = search_index.searcher()
    words = _title_words(searcher, title) if title else set()
    candidates: set[int] = set()
    if words:
        query = Or([Term(name, word) for name in ("title", "about") for word in sorted(words)])
        candidates.update(int(hit["pid"]) for hit in searcher.search(query, limit=_CANDIDATES))
    if holders:
        docnums = arrays.mask_for("titolare", holders).nonzero()[0][: _CANDIDATES * 5]
        candidates.update(int(arrays.pid[docnum]) for docnum in docnums)
    candidates.discard(exclude_process_id)
    if not candidates:
        return []
    rows = await Process.select(*catalogue.SUMMARY_COLUMNS).where(
        Process.id.is_in(list(candidates)), catalogue.published()
    )
    summaries = await catalogue.summarise_processes(rows)
    codes = {c for c in record.get("territories") or [] if isinstance(c, str)}
    chains = await _chains(codes | {t["code"] for s in summaries for t in s["territories"]})
    mine = [(c, chains[c]) for c in codes if c in chains]
    span = _span(record.get("start_year"), record.get("end_year"), record.get("ongoing"))
    found = []
    for row, summary in zip(rows, summaries, strict=True):
        likeness = _dice(words, _title_words(searcher, summary["title"]))
        reasons = []
        if likeness >= _TITLE_SIMILAR:
            reasons.append("titolo simile")
        if holders & {h["slug"] for h in summary["decision_holders"]}:
            reasons.append("stesso titolare")
        theirs = [(t["code"], chains[t["code"]]) for t in summary["territories"] if t["code"] in chains]
        if any(a == b or a in b_chain or b in a_chain for a, a_chain in mine for b, b_chain in theirs):
            reasons.append("stesso territorio")
        if _overlap(span, _span(summary["start_year"], summary["end_year"], summary["ongoing"])):
            reasons.append("anni sovrapposti")
        if "titolo simile" not in reasons and len(reasons) < 2:
            continue  # the same decision holder alone is no sign of a duplicate
        found.append(dict(summary, id=row["id"], reasons=reasons, score=round(len(reasons) + likeness, 3)))
    found.sort(key=lambda item: (-item["score"], item["title"]))
    return found[:limit]
