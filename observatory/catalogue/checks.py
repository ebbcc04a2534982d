"""Checking one value of each field type (fields.py): texts, numbers, amounts, dates, addresses,
CUP codes, slugs, vocabulary terms and territories; and the errors a check reports.

Each check takes the raw value and the dotted path of its field ("funding.cup"), adds what is wrong
to ``errors`` (in Italian) and returns the clean value, or None.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

from observatory.catalogue import fields as f
from observatory.catalogue.fields import VOCABULARIES
from observatory.catalogue.tables import Organisation, OrganisationName, Term, Territory
from observatory.i18n import N_, _
from observatory.text import clean, fold, has_control_characters

#: The longest message one person leaves another: an editors' request or reason, a correction's note.
MAX_MESSAGE = 5_000
#: The error for a text holding a control character (a NUL, an escape sequence).
CONTROL_MESSAGE = N_("contiene caratteri di controllo (invisibili, come il carattere nullo): cancellali.")
#: The longest slug of an organisation or a vocabulary term; one made from a name is cut at
#: SLUG_FROM_NAME characters, leaving room for "-2", "-3"...
MAX_SLUG, SLUG_FROM_NAME = 120, 110
MAX_AMOUNT = Decimal("1e13")
CENT = Decimal("0.01")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CUP_PATTERN = re.compile(r"^[A-Z][0-9]{2}[A-Z][0-9A-Z]{11}$")
#: An address typed without its scheme: a host name with a dot ("www.comune.chieri.to.it/x").
BARE_HOST = re.compile(r"^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?(?:[/?#]|$)")
_TRUE = {"1", "true", "si", "sì", "yes", "vero"}
_FALSE = {"0", "false", "no", "falso"}


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
    organisation_names: dict[int, str]  # organisation id → preferred name
    declared_organisations: dict[str, dict] = field(default_factory=dict)  # folded name → declaration
    #: territory code → the codes of the units it lies in (C037006 → P237, R08, IT).
    territory_within: dict[str, tuple[str, ...]] = field(default_factory=dict)

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
        within = {}
        columns = (Territory.code, Territory.name_key, Territory.province_code, Territory.region_code)
        for row in await Territory.select(*columns):
            codes.add(row["code"])
            territory_names.setdefault(row["name_key"], []).append(row["code"])
            within[row["code"]] = tuple(
                code for code in (row["province_code"], row["region_code"], "IT") if code != row["code"]
            )
        organisation_keys = {
            row["name_key"]: row["organisation"]
            for row in await OrganisationName.select(OrganisationName.name_key, OrganisationName.organisation)
        }
        names = {
            row["id"]: row["name"] for row in await Organisation.select(Organisation.id, Organisation.name)
        }
        return cls(
            terms, term_keys, codes, territory_names, organisation_keys, names, territory_within=within
        )


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any, path: str, limit: int | None, errors: list[FieldError], required: bool = False):
    """Trimmed text (numbers are taken as text); None when empty."""
    if value is not None and not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        else:
            errors.append(FieldError(path, _("deve essere un testo.")))
            return None
    if value is not None and has_control_characters(value):
        errors.append(FieldError(path, _(CONTROL_MESSAGE)))
        return None
    text = clean(value)
    if text is None:
        if required:
            errors.append(FieldError(path, _("campo obbligatorio.")))
        return None
    if limit is not None and len(text) > limit:
        message = _("troppo lungo: {length} caratteri, al massimo {limit}.")
        errors.append(FieldError(path, message.format(length=len(text), limit=limit)))
    return text


def message(value: Any, path: str, missing: str) -> str:
    """A message one person writes to another, trimmed: required (``missing`` says what to write
    when there is none) and at most MAX_MESSAGE characters; ValidationFailed otherwise."""
    errors: list[FieldError] = []
    written = text(value, path, MAX_MESSAGE, errors)
    if written is None and not errors:
        errors.append(FieldError(path, missing))
    if errors:
        raise ValidationFailed(errors)
    return written


def whole(value: Any, path: str, low: int, high: int, errors: list[FieldError]) -> int | None:
    if blank(value):
        return None
    if isinstance(value, bool):
        errors.append(FieldError(path, _("deve essere un numero intero.")))
        return None
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)
        if isinstance(value, float) and value != number:
            raise ValueError
    except (ValueError, TypeError):
        errors.append(FieldError(path, _("«{value}» non è un numero intero.").format(value=value)))
        return None
    if not low <= number <= high:
        errors.append(
            FieldError(path, _("deve essere compreso tra {low} e {high}.").format(low=low, high=high))
        )
        return None
    return number


def flag(value: Any, path: str, errors: list[FieldError]) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    errors.append(FieldError(path, _("«{value}» non è un valore sì/no (true o false).").format(value=value)))
    return False


def choice(declared: f.Field, value: Any, path: str, errors: list[FieldError]) -> str | None:
    if blank(value):
        if declared.required:
            errors.append(FieldError(path, _("campo obbligatorio.")))
        return None
    choices = declared.choices or {}
    by_key = {fold(k): k for k in choices} | {fold(v): k for k, v in choices.items()}
    chosen = by_key.get(fold(str(value)))
    if chosen is None:
        errors.append(
            FieldError(
                path,
                _("valore sconosciuto «{value}». Valori ammessi: {allowed}.").format(
                    value=value, allowed=", ".join(choices)
                ),
            )
        )
    return chosen


def coordinate(value: Any, path: str, low: float, high: float, what: str, errors: list[FieldError]):
    """A latitude or longitude in decimal degrees between ``low`` and ``high`` (a comma is a decimal
    point too), rounded to fields.COORDINATE_DECIMALS places; None when empty."""
    if blank(value):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        number = float(value if isinstance(value, int | float | Decimal) else str(value).replace(",", "."))
    except ValueError:
        message = _("«{value}» non è un numero in gradi decimali (esempio: 44.4938).")
        errors.append(FieldError(path, message.format(value=value)))
        return None
    if not low <= number <= high:
        message = _("{what} deve essere compresa tra {low} e {high} gradi (in Italia).")
        errors.append(FieldError(path, message.format(what=_(what), low=low, high=high)))
        return None
    return round(number, f.COORDINATE_DECIMALS)


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


def amount(value: Any, path: str, errors: list[FieldError]) -> Decimal | None:
    if blank(value):
        return None
    try:
        amount = parse_amount(value)
    except ValueError:
        message = _("«{value}» non è un importo in euro (esempio: {example}).")
        errors.append(FieldError(path, message.format(value=value, example=f.AMOUNT_EXAMPLE)))
        return None
    if amount < 0:
        errors.append(FieldError(path, _("un importo non può essere negativo.")))
    elif amount >= MAX_AMOUNT:
        errors.append(FieldError(path, _("importo troppo grande.")))
    elif amount != amount.quantize(CENT):
        errors.append(FieldError(path, _("al massimo due cifre decimali.")))
    else:
        return amount.quantize(CENT)
    return None


def date(value: Any, path: str, errors: list[FieldError]) -> datetime.date | None:
    if blank(value):
        return None
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            parsed = datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if not f.MIN_YEAR <= parsed.year <= f.MAX_YEAR:
            message = _("l'anno deve essere compreso tra {low} e {high}.")
            errors.append(FieldError(path, message.format(low=f.MIN_YEAR, high=f.MAX_YEAR)))
            return None
        return parsed
    message = _("«{value}» non è una data (AAAA-MM-GG oppure GG/MM/AAAA).")
    errors.append(FieldError(path, message.format(value=text)))
    return None


def timestamp(value: Any, path: str, errors: list[FieldError]) -> datetime.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        stamp = value
    else:
        try:
            stamp = datetime.datetime.fromisoformat(str(value).strip())
        except ValueError:
            errors.append(FieldError(path, _("«{value}» non è una data e ora ISO 8601.").format(value=value)))
            return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.UTC)
    return stamp.astimezone(datetime.UTC)


def web_address(value: Any) -> str | None:
    """The address if it is a well-formed http(s) address of at most MAX_URL characters, else None;
    one typed without its scheme ("www.comune.it/pagina") gains https://."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if BARE_HOST.match(url):
        url = "https://" + url
    if has_control_characters(url):
        return None
    try:
        parsed = urlparse(url)
        hostname = parsed.hostname
    except ValueError:  # an unclosed "[" of an IPv6 host
        return None
    if parsed.scheme not in {"http", "https"} or len(url) > f.MAX_URL or any(ch.isspace() for ch in url):
        return None
    if not hostname or "." not in hostname:
        return None
    return url


def url(value: Any, path: str, errors: list[FieldError]) -> str | None:
    if blank(value):
        return None
    url = web_address(value)
    if url is None:
        message = _("«{value}» non è un indirizzo web valido (http o https).")
        errors.append(FieldError(path, message.format(value=value)))
    return url


def cup(value: Any, path: str, errors: list[FieldError]) -> str | None:
    if blank(value):
        return None
    cup = str(value).strip().upper()
    if not CUP_PATTERN.match(cup):
        errors.append(
            FieldError(
                path,
                _("«{value}» non è un codice CUP valido (15 caratteri, es. J41B12000010007).").format(
                    value=value
                ),
            )
        )
        return None
    return cup


def slug(value: Any, path: str, limit: int, errors: list[FieldError]) -> str | None:
    """A URL slug (lower-case letters, digits and hyphens); None when empty."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not SLUG_PATTERN.match(value) or len(value) > limit:
        errors.append(
            FieldError(
                path,
                _("solo lettere minuscole, cifre e trattini, al massimo {limit} caratteri.").format(
                    limit=limit
                ),
            )
        )
        return None
    return value


def term(refs: References, vocabulary: str, value: Any, path: str, errors: list[FieldError]) -> str | None:
    if blank(value):
        return None
    slug = refs.term_keys.get(vocabulary, {}).get(fold(str(value)))
    if slug is None:
        allowed = ", ".join(refs.terms.get(vocabulary, {}))
        errors.append(
            FieldError(
                path,
                _("valore sconosciuto «{value}» per «{vocabulary}». Valori ammessi: {allowed}.").format(
                    value=value, vocabulary=f.vocabulary_name(vocabulary), allowed=allowed
                ),
            )
        )
    return slug


def territory(refs: References, value: Any, path: str, errors: list[FieldError]) -> str | None:
    """The code of a territory given by code or by its exact ISTAT name."""
    text = str(value).strip() if value is not None else ""
    if text.upper() in refs.territory_codes:
        return text.upper()
    codes = refs.territory_names.get(fold(text), [])
    if len(codes) == 1:
        return codes[0]
    if len(codes) > 1:
        errors.append(
            FieldError(
                path,
                _("«{value}» è ambiguo ({codes}): indicare il codice ISTAT.").format(
                    value=text, codes=", ".join(sorted(codes))
                ),
            )
        )
    else:
        errors.append(
            FieldError(
                path,
                _(
                    "territorio sconosciuto «{value}»: indicare il codice (IT, R01, P201, C001272) "
                    "o il nome esatto ISTAT."
                ).format(value=text),
            )
        )
    return None


def items(value: Any, path: str, errors: list[FieldError], most: int = f.MAX_ITEMS) -> list:
    """The items of a many-valued field (at most ``most``): a list, or a text with items separated by "|"."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split("|") if part.strip()]
    if not isinstance(value, list):
        errors.append(FieldError(path, _("deve essere un elenco.")))
        return []
    if len(value) > most:
        errors.append(FieldError(path, _("troppi elementi: al massimo {most}.").format(most=most)))
        return []
    return value
