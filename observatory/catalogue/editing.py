"""Writing the catalogue: validating a process record and saving it with its related rows.

Every way data enters (file import, and later forms and the API) goes through
:func:`validate_process` and :func:`save_process`, so the same rules hold everywhere.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

from observatory.catalogue.indexing import record_change
from observatory.catalogue.services import MAX_YEAR, MIN_YEAR
from observatory.catalogue.tables import (
    ORGANISATION_KINDS,
    ORGANISATION_ROLES,
    PROCESS_STATES,
    VOCABULARIES,
    FundingPhase,
    Link,
    Organisation,
    OrganisationName,
    Phase,
    Process,
    ProcessOrganisation,
    ProcessTerm,
    ProcessTerritory,
    SlugRedirect,
    Term,
    Territory,
)
from observatory.database import write_transaction
from observatory.text import clean, fold, slugify

MAX_AMOUNT = Decimal("1e13")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CUP_PATTERN = re.compile(r"^[A-Z][0-9]{2}[A-Z][0-9A-Z]{11}$")
TEXT_LIMITS = {
    "title": 300,
    "summary": 2_000,
    "description": 50_000,
    "goals": 20_000,
    "results": 20_000,
    "participants_kind": 1_000,
    "reported_by": 500,
    "quality_notes": 10_000,
    "regional_call_notes": 10_000,
    "source_licence": 2_000,
}
LIST_LIMIT = 100
PROCESS_FIELDS = (
    "slug",
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
    "reporting_source",
    "reported_by",
    "quality_notes",
    "regional_call_notes",
    "source_licence",
    "source_ref",
    "created_at",
    "updated_at",
    "published_at",
)
FUNDING_FIELDS = ("programme", "fund", "total_investment", "cofinancing", "beneficiary", "cup", "phases")
# Which vocabulary each single-valued and many-valued field takes its terms from.
SINGLE_TERMS = {
    "kind": "tipo",
    "theme": "ambito",
    "participation_level": "livello",
    "reporting_source": "fonte",
}
MANY_TERMS = {"topics": "tematica", "methods": "metodo"}
_KIND_BY_PREFIX = (
    ("comune di ", "comune"),
    ("citta di ", "comune"),
    ("unione dei comuni", "unione_comuni"),
    ("unione comuni", "unione_comuni"),
    ("citta metropolitana", "provincia"),
    ("provincia ", "provincia"),
    ("regione ", "regione"),
    ("ministero", "ministero"),
    ("dipartimento", "ministero"),
    ("presidenza del consiglio", "ministero"),
    ("agenzia", "agenzia"),
    ("fondazione", "fondazione"),
    ("associazione", "associazione"),
    ("cooperativa", "associazione"),
    ("universita", "universita"),
    ("politecnico", "universita"),
    ("istituto", "scuola"),
    ("liceo", "scuola"),
    ("commissione europea", "istituzione_ue"),
)


@dataclass
class FieldError:
    """A problem with one field of one record; ``field`` is a dotted path ("phases.2.end_date")."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationFailed(ValueError):
    """A record did not pass validation."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class References:
    """What validation checks values against: vocabularies, territories, organisation names."""

    terms: dict[str, dict[str, dict]]  # vocabulary → slug → term row
    term_keys: dict[str, dict[str, str]]  # vocabulary → folded label or slug → slug
    territory_codes: set[str]
    territory_names: dict[str, list[str]]  # folded name → codes
    organisation_keys: dict[str, int]  # folded name → organisation id
    declared_organisations: dict[str, dict] = field(default_factory=dict)  # folded name → declaration

    @classmethod
    async def load(cls) -> References:
        """Read the reference data from the database."""
        terms: dict[str, dict[str, dict]] = {name: {} for name in VOCABULARIES}
        term_keys: dict[str, dict[str, str]] = {name: {} for name in VOCABULARIES}
        for row in await Term.select():
            terms.setdefault(row["vocabulary"], {})[row["slug"]] = row
            keys = term_keys.setdefault(row["vocabulary"], {})
            keys[fold(row["label"])] = row["slug"]
            keys[fold(row["slug"])] = row["slug"]
        territory_names: dict[str, list[str]] = {}
        codes = set()
        for row in await Territory.select(Territory.code, Territory.name_key):
            codes.add(row["code"])
            territory_names.setdefault(row["name_key"], []).append(row["code"])
        organisation_keys = {
            row["name_key"]: row["organisation"]
            for row in await OrganisationName.select(OrganisationName.name_key, OrganisationName.organisation)
        }
        return cls(terms, term_keys, codes, territory_names, organisation_keys)


# --- small validators ------------------------------------------------------------------------


def _text(value: Any, name: str, limit: int, errors: list[FieldError], required: bool = False) -> str | None:
    if value is not None and not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        else:
            errors.append(FieldError(name, "deve essere un testo."))
            return None
    text = clean(value)
    if text is None:
        if required:
            errors.append(FieldError(name, "campo obbligatorio."))
        return None
    if len(text) > limit:
        errors.append(FieldError(name, f"troppo lungo: {len(text)} caratteri, al massimo {limit}."))
    return text


def _int(value: Any, name: str, low: int, high: int, errors: list[FieldError]) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        errors.append(FieldError(name, "deve essere un numero intero."))
        return None
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)
        if isinstance(value, float) and value != number:
            raise ValueError
    except (ValueError, TypeError):
        errors.append(FieldError(name, f"«{value}» non è un numero intero."))
        return None
    if not low <= number <= high:
        errors.append(FieldError(name, f"deve essere compreso tra {low} e {high}."))
        return None
    return number


def _bool(value: Any, name: str, errors: list[FieldError]) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "si", "sì", "yes", "vero"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "falso"}:
        return False
    errors.append(FieldError(name, f"«{value}» non è un valore sì/no (true o false)."))
    return False


def parse_amount(value: Any) -> Decimal:
    """An amount in euro from 1234.5, "1234.50" or the Italian "1.234,50"; raise ValueError if not."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = str(value).strip().replace("€", "").replace(" ", "")
    # Italian style ("1.234,50", "1.234.567") only when it cannot be read as a decimal point:
    # "10.123" stays ten euro and 123 thousandths, and is then refused for its three decimals.
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+,\d+|-?\d{1,3}(\.\d{3}){2,}|-?\d+,\d+", text):
        text = text.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(value) from None
    if not amount.is_finite():
        raise ValueError(value)
    return amount


def _amount_cents(value: Any, name: str, errors: list[FieldError]) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = parse_amount(value)
    except ValueError:
        errors.append(FieldError(name, f"«{value}» non è un importo in euro (esempio: 900579.61)."))
        return None
    if amount < 0:
        errors.append(FieldError(name, "un importo non può essere negativo."))
        return None
    if amount >= MAX_AMOUNT:
        errors.append(FieldError(name, "importo troppo grande."))
        return None
    cents = amount * 100
    if cents != cents.to_integral_value():
        errors.append(FieldError(name, "al massimo due cifre decimali."))
        return None
    return int(cents)


def _date(value: Any, name: str, errors: list[FieldError]) -> datetime.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            parsed = datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            errors.append(FieldError(name, f"l'anno deve essere compreso tra {MIN_YEAR} e {MAX_YEAR}."))
            return None
        return parsed
    errors.append(FieldError(name, f"«{text}» non è una data (AAAA-MM-GG oppure GG/MM/AAAA)."))
    return None


def _timestamp(value: Any, name: str, errors: list[FieldError]) -> datetime.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        stamp = value
    else:
        try:
            stamp = datetime.datetime.fromisoformat(str(value).strip())
        except ValueError:
            errors.append(FieldError(name, f"«{value}» non è una data e ora ISO 8601."))
            return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.UTC)
    return stamp.astimezone(datetime.UTC)


def check_url(value: Any) -> str | None:
    """The URL if it is a well-formed http(s) address of at most 1000 characters, else None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or len(url) > 1000 or any(ch.isspace() for ch in url):
        return None
    if not parsed.hostname or "." not in parsed.hostname:
        return None
    return url


def _list(value: Any, name: str, errors: list[FieldError]) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split("|") if part.strip()]
    if not isinstance(value, list):
        errors.append(FieldError(name, "deve essere un elenco."))
        return []
    if len(value) > LIST_LIMIT:
        errors.append(FieldError(name, f"troppi elementi: al massimo {LIST_LIMIT}."))
        return []
    return value


def _term(refs: References, vocabulary: str, value: Any, name: str, errors: list[FieldError]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    slug = refs.term_keys.get(vocabulary, {}).get(fold(str(value)))
    if slug is None:
        allowed = ", ".join(refs.terms.get(vocabulary, {}))
        errors.append(
            FieldError(
                name,
                f"valore sconosciuto «{value}» per «{VOCABULARIES[vocabulary]}». Valori ammessi: {allowed}.",
            )
        )
    return slug


def _territory(refs: References, value: Any, name: str, errors: list[FieldError]) -> str | None:
    text = str(value).strip() if value is not None else ""
    if text.upper() in refs.territory_codes:
        return text.upper()
    codes = refs.territory_names.get(fold(text), [])
    if len(codes) == 1:
        return codes[0]
    if len(codes) > 1:
        errors.append(
            FieldError(name, f"«{text}» è ambiguo ({', '.join(sorted(codes))}): indicare il codice ISTAT.")
        )
    else:
        errors.append(
            FieldError(
                name,
                f"territorio sconosciuto «{text}»: indicare il codice (IT, R01, P201, C001272) "
                "o il nome esatto ISTAT.",
            )
        )
    return None


# --- the record ------------------------------------------------------------------------------


def validate_process(data: Any, refs: References) -> dict:
    """Check one process record; return its clean values or raise ValidationFailed with every problem."""
    errors: list[FieldError] = []
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("record", "deve essere un oggetto con i campi del processo.")])
    for key in data:
        if key not in PROCESS_FIELDS:
            errors.append(FieldError(str(key), "campo sconosciuto."))
    result: dict[str, Any] = {}
    slug = data.get("slug")
    if slug not in (None, ""):
        if not isinstance(slug, str) or not SLUG_PATTERN.match(slug) or len(slug) > 160:
            errors.append(
                FieldError("slug", "solo lettere minuscole, cifre e trattini, al massimo 160 caratteri.")
            )
        else:
            result["slug"] = slug
    for name, limit in TEXT_LIMITS.items():
        result[name] = _text(data.get(name), name, limit, errors, required=name == "title")
    if result["title"] is not None and len(result["title"]) < 3:
        errors.append(FieldError("title", "troppo corto: almeno 3 caratteri."))
    for name, vocabulary in SINGLE_TERMS.items():
        result[name] = _term(refs, vocabulary, data.get(name), name, errors)
    for name, vocabulary in MANY_TERMS.items():
        slugs = [
            _term(refs, vocabulary, v, f"{name}.{i + 1}", errors)
            for i, v in enumerate(_list(data.get(name), name, errors))
        ]
        result[name] = list(dict.fromkeys(s for s in slugs if s))
    result["start_year"] = _int(data.get("start_year"), "start_year", MIN_YEAR, MAX_YEAR, errors)
    result["end_year"] = _int(data.get("end_year"), "end_year", MIN_YEAR, MAX_YEAR, errors)
    result["ongoing"] = _bool(data.get("ongoing"), "ongoing", errors)
    if result["start_year"] and result["end_year"] and result["end_year"] < result["start_year"]:
        errors.append(FieldError("end_year", "l'anno di chiusura non può precedere l'anno di avvio."))
    if result["ongoing"] and result["end_year"]:
        errors.append(FieldError("end_year", "un processo ancora in corso non ha anno di chiusura."))
    state = data.get("state")
    if state in (None, ""):
        result["state"] = None
    else:
        by_key = {fold(k): k for k in PROCESS_STATES} | {fold(v): k for k, v in PROCESS_STATES.items()}
        result["state"] = by_key.get(fold(str(state)))
        if result["state"] is None:
            errors.append(
                FieldError(
                    "state", f"valore sconosciuto «{state}». Valori ammessi: {', '.join(PROCESS_STATES)}."
                )
            )
    result["participants_count"] = _int(
        data.get("participants_count"), "participants_count", 0, 100_000_000, errors
    )
    result["decision_holders"] = _organisation_names(data.get("decision_holders"), "decision_holders", errors)
    result["organisations"] = _organisation_roles(data.get("organisations"), errors)
    territories = []
    for i, value in enumerate(_list(data.get("territories"), "territories", errors)):
        code = _territory(refs, value, f"territories.{i + 1}", errors)
        if code and code not in territories:
            territories.append(code)
    result["territories"] = territories
    result["phases"] = _phases(data.get("phases"), errors)
    result["funding"] = _funding(data.get("funding"), errors)
    result["links"] = _links(data.get("links"), errors)
    result["source_ref"] = _text(data.get("source_ref"), "source_ref", 120, errors)
    for name in ("created_at", "updated_at", "published_at"):
        result[name] = _timestamp(data.get(name), name, errors)
    if errors:
        raise ValidationFailed(errors)
    return result


def _organisation_names(value: Any, name: str, errors: list[FieldError]) -> list[str]:
    names = []
    for i, item in enumerate(_list(value, name, errors)):
        text = _text(item, f"{name}.{i + 1}", 300, errors, required=True)
        if text and fold(text) and text not in names:
            names.append(text)
    return names


def _organisation_roles(value: Any, errors: list[FieldError]) -> list[dict]:
    result = []
    roles = [role for role in ORGANISATION_ROLES if role != "titolare"]
    for i, item in enumerate(_list(value, "organisations", errors)):
        path = f"organisations.{i + 1}"
        if isinstance(item, str):  # "Nome (ruolo)" is not guessed: a plain name is a partner
            item = {"name": item, "role": "partner"}
        if not isinstance(item, dict):
            errors.append(FieldError(path, "deve avere i campi name e role."))
            continue
        name = _text(item.get("name"), f"{path}.name", 300, errors, required=True)
        role = item.get("role")
        if role not in roles:
            errors.append(
                FieldError(f"{path}.role", f"ruolo sconosciuto «{role}». Valori ammessi: {', '.join(roles)}.")
            )
            continue
        if name:
            result.append({"name": name, "role": role})
    return result


def _phases(value: Any, errors: list[FieldError]) -> list[dict]:
    phases = []
    for i, item in enumerate(_list(value, "phases", errors)):
        path = f"phases.{i + 1}"
        if isinstance(item, str):
            item = {"title": item}
        if not isinstance(item, dict):
            errors.append(FieldError(path, "deve avere almeno il campo title."))
            continue
        for key in item:
            if key not in ("title", "description", "start_date", "end_date"):
                errors.append(FieldError(f"{path}.{key}", "campo sconosciuto."))
        phase = {
            "title": _text(item.get("title"), f"{path}.title", 300, errors, required=True),
            "description": _text(item.get("description"), f"{path}.description", 20_000, errors),
            "start_date": _date(item.get("start_date"), f"{path}.start_date", errors),
            "end_date": _date(item.get("end_date"), f"{path}.end_date", errors),
        }
        if phase["start_date"] and phase["end_date"] and phase["end_date"] < phase["start_date"]:
            errors.append(FieldError(f"{path}.end_date", "la fine non può precedere l'inizio."))
        phases.append(phase)
    return phases


def _funding(value: Any, errors: list[FieldError]) -> dict | None:
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict):
        errors.append(FieldError("funding", "deve essere un oggetto (programme, fund, total_investment...)."))
        return None
    for key in value:
        if key not in FUNDING_FIELDS:
            errors.append(FieldError(f"funding.{key}", "campo sconosciuto."))
    funding = {
        "programme": _text(value.get("programme"), "funding.programme", 2_000, errors),
        "fund": _text(value.get("fund"), "funding.fund", 300, errors),
        "total_investment_cents": _amount_cents(
            value.get("total_investment"), "funding.total_investment", errors
        ),
        "cofinancing_cents": _amount_cents(value.get("cofinancing"), "funding.cofinancing", errors),
        "beneficiary": _text(value.get("beneficiary"), "funding.beneficiary", 500, errors),
        "cup": None,
        "phases": [],
    }
    cup = value.get("cup")
    if cup not in (None, ""):
        cup_text = str(cup).strip().upper()
        if not CUP_PATTERN.match(cup_text):
            errors.append(
                FieldError(
                    "funding.cup", f"«{cup}» non è un codice CUP valido (15 caratteri, es. J41B12000010007)."
                )
            )
        else:
            funding["cup"] = cup_text
    for i, item in enumerate(_list(value.get("phases"), "funding.phases", errors)):
        path = f"funding.phases.{i + 1}"
        if not isinstance(item, dict):
            errors.append(
                FieldError(path, "deve essere un oggetto (label, start_date, end_date, investment...).")
            )
            continue
        for key in item:
            if key not in ("label", "start_date", "end_date", "investment", "cofinancing", "beneficiary"):
                errors.append(FieldError(f"{path}.{key}", "campo sconosciuto."))
        phase = {
            "label": _text(item.get("label"), f"{path}.label", 200, errors, required=True),
            "start_date": _date(item.get("start_date"), f"{path}.start_date", errors),
            "end_date": _date(item.get("end_date"), f"{path}.end_date", errors),
            "investment_cents": _amount_cents(item.get("investment"), f"{path}.investment", errors),
            "cofinancing_cents": _amount_cents(item.get("cofinancing"), f"{path}.cofinancing", errors),
            "beneficiary": _text(item.get("beneficiary"), f"{path}.beneficiary", 500, errors),
        }
        if phase["start_date"] and phase["end_date"] and phase["end_date"] < phase["start_date"]:
            errors.append(FieldError(f"{path}.end_date", "la fine non può precedere l'inizio."))
        funding["phases"].append(phase)
    if (
        funding["cofinancing_cents"]
        and funding["total_investment_cents"] is not None
        and (funding["cofinancing_cents"] > funding["total_investment_cents"])
    ):
        errors.append(FieldError("funding.cofinancing", "il cofinanziamento supera l'investimento totale."))
    return funding


def _links(value: Any, errors: list[FieldError]) -> list[dict]:
    links = []
    for i, item in enumerate(_list(value, "links", errors)):
        path = f"links.{i + 1}"
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict):
            errors.append(FieldError(path, "deve avere i campi label e url."))
            continue
        url = check_url(item.get("url"))
        if url is None:
            errors.append(
                FieldError(
                    f"{path}.url", f"«{item.get('url')}» non è un indirizzo web valido (http o https)."
                )
            )
            continue
        label = _text(item.get("label"), f"{path}.label", 300, errors) or urlparse(url).hostname
        links.append({"label": label, "url": url})
    return links


# --- organisations ---------------------------------------------------------------------------


def guess_organisation_kind(name: str) -> str:
    """The kind a new organisation probably is, from the words its name starts with."""
    key = fold(name)
    for prefix, kind in _KIND_BY_PREFIX:
        if key.startswith(prefix):
            return kind
    if re.search(r"\b(s p a|spa|s r l|srl|s c a r l)\b", key):
        return "impresa"
    return "altro"


async def _unique_slug(table, base: str, exclude_id: int | None = None) -> str:
    slug, n = base, 1
    while True:
        query = table.exists().where(table.slug == slug)
        if exclude_id is not None:
            query = query.where(table.id != exclude_id)
        if not await query:
            return slug
        n += 1
        slug = f"{base[:150]}-{n}"


async def add_organisation_names(
    organisation_id: int, names: list[str], refs: References | None = None
) -> None:
    """Record alternative names of an organisation, skipping names already known."""
    for name in names:
        key = fold(name)
        if not key or await OrganisationName.exists().where(OrganisationName.name_key == key):
            continue
        await OrganisationName.insert(OrganisationName(organisation=organisation_id, name=name, name_key=key))
        if refs is not None:
            refs.organisation_keys[key] = organisation_id


async def resolve_organisation(name: str, refs: References) -> int:
    """The id of the organisation called ``name`` (or so also called); created if none is."""
    key = fold(name)
    if key in refs.organisation_keys:
        return refs.organisation_keys[key]
    declared = refs.declared_organisations.get(key, {})
    all_names = [declared.get("name") or name, *declared.get("alt_names", [])]
    for other in all_names:  # an alternative name may already be known
        if fold(other) in refs.organisation_keys:
            organisation_id = refs.organisation_keys[fold(other)]
            await add_organisation_names(organisation_id, all_names, refs)
            return organisation_id
    preferred = declared.get("name") or name
    kind = declared.get("kind") or guess_organisation_kind(preferred)
    territory = declared.get("territory")
    if territory is None and kind == "comune":
        place = re.sub(r"^(comune|citta) di ", "", fold(preferred))
        candidates = [c for c in refs.territory_names.get(place, []) if c.startswith("C")]
        territory = candidates[0] if len(candidates) == 1 else None
    slug = await _unique_slug(Organisation, declared.get("slug") or slugify(preferred, 110))
    row = Organisation(
        slug=slug,
        name=preferred,
        kind=kind,
        territory=territory,
        description=declared.get("description"),
        website=declared.get("website"),
    )
    await row.save()
    await add_organisation_names(row.id, all_names, refs)
    return row.id


def validate_organisation(data: Any, refs: References) -> dict:
    """Check an organisation declared in an import file; raise ValidationFailed with every problem."""
    errors: list[FieldError] = []
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("organisation", "deve essere un oggetto (slug, name, kind...).")])
    for key in data:
        if key not in ("slug", "name", "kind", "territory", "alt_names", "description", "website"):
            errors.append(FieldError(key, "campo sconosciuto."))
    result = {
        "name": _text(data.get("name"), "name", 300, errors, required=True),
        "slug": None,
        "kind": data.get("kind") or None,
        "territory": None,
        "alt_names": _organisation_names(data.get("alt_names"), "alt_names", errors),
        "description": _text(data.get("description"), "description", 5_000, errors),
        "website": None,
    }
    slug = data.get("slug")
    if slug not in (None, ""):
        if not isinstance(slug, str) or not SLUG_PATTERN.match(slug) or len(slug) > 120:
            errors.append(
                FieldError("slug", "solo lettere minuscole, cifre e trattini, al massimo 120 caratteri.")
            )
        else:
            result["slug"] = slug
    if result["kind"] is not None and result["kind"] not in ORGANISATION_KINDS:
        errors.append(
            FieldError(
                "kind",
                f"tipo sconosciuto «{result['kind']}». Valori ammessi: {', '.join(ORGANISATION_KINDS)}.",
            )
        )
    if data.get("territory") not in (None, ""):
        result["territory"] = _territory(refs, data["territory"], "territory", errors)
    if data.get("website") not in (None, ""):
        result["website"] = check_url(data["website"])
        if result["website"] is None:
            errors.append(FieldError("website", f"«{data['website']}» non è un indirizzo web valido."))
    if errors:
        raise ValidationFailed(errors)
    return result


# --- saving ----------------------------------------------------------------------------------


async def save_process(values: dict, refs: References, process_id: int | None = None) -> int:
    """Create (or replace the fields of) a published process from validated values; return its id.

    Call inside a transaction: the process row and its related rows change together.
    """
    now = datetime.datetime.now(datetime.UTC)
    term_id = {
        (vocabulary, slug): row["id"] for vocabulary, rows in refs.terms.items() for slug, row in rows.items()
    }
    base_slug = values.get("slug") or slugify(values["title"], 150)
    slug = values.get("slug") or await _unique_slug(Process, base_slug, exclude_id=process_id)
    funding = values["funding"] or {}
    columns = {
        "slug": slug,
        "title": values["title"],
        "title_key": fold(values["title"]),
        "kind": term_id.get(("tipo", values["kind"])),
        "summary": values["summary"],
        "description": values["description"],
        "theme": term_id.get(("ambito", values["theme"])),
        "start_year": values["start_year"],
        "end_year": values["end_year"],
        "ongoing": values["ongoing"],
        "state": values["state"],
        "goals": values["goals"],
        "results": values["results"],
        "participation_level": term_id.get(("livello", values["participation_level"])),
        "participants_count": values["participants_count"],
        "participants_kind": values["participants_kind"],
        "funding_programme": funding.get("programme"),
        "funding_fund": funding.get("fund"),
        "total_investment_cents": funding.get("total_investment_cents"),
        "cofinancing_cents": funding.get("cofinancing_cents"),
        "funding_beneficiary": funding.get("beneficiary"),
        "cup": funding.get("cup"),
        "reporting_source": term_id.get(("fonte", values["reporting_source"])),
        "reported_by": values["reported_by"],
        "quality_notes": values["quality_notes"],
        "regional_call_notes": values["regional_call_notes"],
        "source_licence": values["source_licence"],
        "source_ref": values["source_ref"],
        "publication": "published",
        "updated_at": values["updated_at"] or now,
    }
    if process_id is None:
        columns["created_at"] = values["created_at"] or now
        columns["published_at"] = values["published_at"] or columns["created_at"]
        row = Process(**columns)
        await row.save()
        process_id = row.id
    else:
        old = await Process.select(Process.slug, Process.published_at).where(Process.id == process_id).first()
        if values["created_at"]:
            columns["created_at"] = values["created_at"]
        columns["published_at"] = values["published_at"] or old["published_at"] or now
        await Process.update(columns, force=True).where(Process.id == process_id)
        if old["slug"] != slug:
            await SlugRedirect.delete().where(SlugRedirect.old_slug == slug)
            await SlugRedirect.insert(SlugRedirect(old_slug=old["slug"], process=process_id))
        for table in (ProcessOrganisation, ProcessTerritory, ProcessTerm, Phase, FundingPhase, Link):
            await table.delete().where(table.process == process_id)
    await _save_related(process_id, values, refs, term_id)
    await record_change(process_id)
    return process_id


async def _save_related(process_id: int, values: dict, refs: References, term_id: dict) -> None:
    memberships = [("titolare", name) for name in values["decision_holders"]]
    memberships += [(item["role"], item["name"]) for item in values["organisations"]]
    rows, seen = [], set()
    for position, (role, name) in enumerate(memberships):
        organisation_id = await resolve_organisation(name, refs)
        if (role, organisation_id) in seen:
            continue
        seen.add((role, organisation_id))
        rows.append(
            ProcessOrganisation(
                process=process_id, organisation=organisation_id, role=role, position=position
            )
        )
    if rows:
        await ProcessOrganisation.insert(*rows)
    if values["territories"]:
        await ProcessTerritory.insert(
            *[
                ProcessTerritory(process=process_id, territory=code, position=i)
                for i, code in enumerate(values["territories"])
            ]
        )
    tags = [("tematica", slug) for slug in values["topics"]] + [
        ("metodo", slug) for slug in values["methods"]
    ]
    if tags:
        await ProcessTerm.insert(
            *[ProcessTerm(process=process_id, term=term_id[tag], position=i) for i, tag in enumerate(tags)]
        )
    if values["phases"]:
        await Phase.insert(
            *[Phase(process=process_id, position=i, **phase) for i, phase in enumerate(values["phases"])]
        )
    funding_phases = (values["funding"] or {}).get("phases", [])
    if funding_phases:
        await FundingPhase.insert(
            *[FundingPhase(process=process_id, position=i, **phase) for i, phase in enumerate(funding_phases)]
        )
    if values["links"]:
        await Link.insert(
            *[Link(process=process_id, position=i, **link) for i, link in enumerate(values["links"])]
        )


async def withdraw_process(process_id: int, reason: str | None) -> None:
    """Take a process off the public catalogue; its page then answers 410 with ``reason``."""
    async with write_transaction():
        await Process.update(
            {
                Process.publication: "withdrawn",
                Process.withdrawal_reason: clean(reason),
                Process.updated_at: datetime.datetime.now(datetime.UTC),
            }
        ).where(Process.id == process_id)
        await record_change(process_id)
