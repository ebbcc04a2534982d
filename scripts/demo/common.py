"""What the demo builders share: reading CSV files, cleaning text, slugs, records, writing JSON.

The builders (``build_bologna.py``, ``build_palermo.py``, ``build_trento.py``) turn an open-data set
into a file of Osservatorio's import format (``osservatorio/processi``, version 1). This module uses
the standard library only; it does not import the ``observatory`` package, so that the builders run
anywhere. :data:`RECORD_KEYS` and :data:`TEXT_LIMITS` repeat what ``observatory/catalogue/fields.py``
declares (the order of the keys of a record, the length limits of its texts): keep them in step.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: The root of the repository (this file is ``scripts/demo/common.py``).
REPOSITORY = Path(__file__).resolve().parents[2]
#: Where the source files are kept, one folder per data set.
SOURCES = REPOSITORY / "scripts" / "demo" / "sources"
#: Where the demo files are written.
DEMO = REPOSITORY / "observatory" / "data" / "demo"

FORMAT, VERSION = "osservatorio/processi", 1
CC_BY_4 = "CC-BY-4.0"
CC_BY_4_URL = "https://creativecommons.org/licenses/by/4.0/"

#: The keys of a process record, in record order (``FIELDS`` of observatory/catalogue/fields.py),
#: each with the value a record has when the source says nothing of it.
RECORD_KEYS: tuple[tuple[str, Any], ...] = (
    ("slug", None),
    ("title", None),
    ("kind", None),
    ("summary", None),
    ("description", None),
    ("decision_holders", []),
    ("organisations", []),
    ("territories", []),
    ("district", None),
    ("address", None),
    ("latitude", None),
    ("longitude", None),
    ("theme", None),
    ("topics", []),
    ("start_year", None),
    ("end_year", None),
    ("ongoing", False),
    ("state", None),
    ("work_state", None),
    ("phases", []),
    ("goals", None),
    ("results", None),
    ("projects", []),
    ("participation_level", None),
    ("methods", []),
    ("participants_count", None),
    ("participants_kind", None),
    ("funding", None),
    ("links", []),
    ("reporting_source", "importazione"),
    ("reported_by", None),
    ("credits", None),
    ("quality_notes", None),
    ("regional_call_notes", None),
    ("source_licence", None),
    ("source_ref", None),
    ("original_title", None),
    ("licence", CC_BY_4),
    ("created_at", None),
    ("updated_at", None),
    ("published_at", None),
)
#: The keys of a project row (``projects``), in order.
PROJECT_KEYS = (
    "title",
    "description",
    "district",
    "address",
    "latitude",
    "longitude",
    "amount",
    "state",
    "votes",
    "link",
)
#: Project states (PROJECT_STATES of observatory/catalogue/tables.py).
PROJECT_STATES = frozenset(
    {"proposto", "ammesso", "non_ammesso", "vincitore", "in_realizzazione", "realizzato"}
)
#: Process states (PROCESS_STATES).
PROCESS_STATES = frozenset({"in_progetto", "in_corso", "concluso"})
#: Organisation kinds (ORGANISATION_KINDS).
ORGANISATION_KINDS = frozenset(
    {
        "comune",
        "unione_comuni",
        "provincia",
        "regione",
        "ministero",
        "agenzia",
        "fondazione",
        "associazione",
        "universita",
        "scuola",
        "impresa",
        "istituzione_ue",
        "gruppo_informale",
        "altro",
    }
)
#: The most characters of each text, by dotted path (``projects.title``), as in fields.py.
TEXT_LIMITS = {
    "slug": 160,
    "title": 300,
    "summary": 2_000,
    "description": 50_000,
    "decision_holders": 300,
    "organisations.name": 300,
    "district": 200,
    "address": 300,
    "goals": 20_000,
    "results": 20_000,
    "projects.title": 300,
    "projects.description": 10_000,
    "projects.district": 200,
    "projects.address": 300,
    "projects.link": 1_000,
    "participants_kind": 1_000,
    "links.label": 300,
    "links.url": 1_000,
    "reported_by": 500,
    "credits": 1_000,
    "source_licence": 2_000,
    "source_ref": 120,
    "original_title": 300,
}
#: Decimal places kept of a coordinate (about 10 cm).
COORDINATE_DECIMALS = 6

# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """The rows of a CSV file (UTF-8, with or without a byte order mark), keyed by trimmed header."""
    with open(path, encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        first = next(reader, None)
        if first is None:
            raise SystemExit(f"{path}: an empty file")
        header = [name.strip() for name in first]
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise SystemExit(f"{path}: row {number} has {len(cells)} cells, the header {len(header)}")
            rows.append(dict(zip(header, cells, strict=True)))
    return rows


# --------------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------------

#: Characters that are spaces in all but name.
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
#: Characters that are dropped: zero-width ones and the byte order mark.
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")


def clean(value: str | None) -> str | None:
    """Text as published: control characters and invisible ones dropped, spaces collapsed, lines
    trimmed, at most one empty line between paragraphs, no empty lines at either end; ``None`` when
    nothing is left."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _INVISIBLE.sub("", text)
    text = "".join(ch if ch == "\n" or unicodedata.category(ch) != "Cc" else " " for ch in text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text or None


def one_line(value: str | None) -> str | None:
    """:func:`clean` text on a single line (titles, names, places)."""
    text = clean(value)
    return None if text is None else re.sub(r"\s*\n\s*", " ", text)


def tidy_punctuation(text: str | None) -> str | None:
    """No space before a comma, semicolon, colon, full stop, question or exclamation mark; one after
    a comma or semicolon that is followed by a letter."""
    if text is None:
        return None
    text = re.sub(r"(?<=\S) +([,;:.!?])", r"\1", text)
    return re.sub(r"([,;])(?=[^\W\d_])", r"\1 ", text)


def unquote(text: str | None) -> str | None:
    """Text without the quotation marks that wrap all of it (``"Meano Bella"``)."""
    if text and len(text) > 2:
        for opening, closing in ('""', "«»", "“”"):
            inner = text[1:-1]
            if text[0] == opening and text[-1] == closing and opening not in inner and closing not in inner:
                return inner.strip()
    return text


def sentence_case(text: str) -> str:
    """Text written all in capitals, in normal case ("PIAZZA PULITA" -> "Piazza pulita")."""
    lowered = text.lower()
    return lowered[:1].upper() + lowered[1:]


def all_capitals(text: str) -> bool:
    """Whether a text of several words is written all in capitals."""
    letters = [ch for ch in text if ch.isalpha()]
    return len(text.split()) >= 3 and len(letters) >= 8 and all(ch.isupper() for ch in letters)


def fold(text: str) -> str:
    """Text reduced to compare names: lower case, no accents, punctuation as single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", plain).strip()


def slugify(text: str, limit: int = 80) -> str:
    """ASCII lower-case letters, digits and hyphens, at most ``limit`` characters, cut at a hyphen."""
    slug = fold(text).replace(" ", "-")
    if len(slug) > limit:
        slug = slug[: limit + 1]
        slug = slug[: slug.rfind("-")] if "-" in slug else slug[:limit]
    return slug.strip("-")


def unique_slug(slug: str, used: set[str], suffix: str) -> str:
    """``slug``, or ``slug-suffix`` when ``slug`` is already in ``used``; adds the result to ``used``."""
    if slug in used:
        slug = f"{slug}-{suffix}"
    if slug in used:
        raise SystemExit(f"slug {slug!r} used twice")
    used.add(slug)
    return slug


def italian_count(number: int, one: str, many: str) -> str:
    """ "1 progetto", "27 progetti"."""
    return f"{number} {one if number == 1 else many}"


# --------------------------------------------------------------------------------------------------
# Numbers, addresses, moments
# --------------------------------------------------------------------------------------------------


def amount(value: str | None) -> str | None:
    """An amount in euro with two decimals ("136000.0" -> "136000.00"); ``None`` when empty."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        number = Decimal(text.replace(" ", ""))
    except InvalidOperation:
        raise SystemExit(f"not an amount: {value!r}") from None
    if number < 0 or number != number.quantize(Decimal("0.01")):
        raise SystemExit(f"not an amount in euro and cents: {value!r}")
    return str(number.quantize(Decimal("0.01")))


def euro(value: Decimal) -> str:
    """An amount the Italian way: "1.234.567" or "1.234,50"."""
    whole, cents = divmod(value.quantize(Decimal("0.01")), 1)
    grouped = f"{int(whole):,}".replace(",", ".")
    return grouped if cents == 0 else f"{grouped},{int(cents * 100):02d}"


def coordinate(value: str | float | None) -> float | None:
    """A coordinate in decimal degrees rounded to six decimals; ``None`` when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = round(float(value), COORDINATE_DECIMALS)
    return number + 0.0  # never -0.0


def web_address(value: str | None) -> str | None:
    """A well-formed http(s) address, or ``None``."""
    text = (value or "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
        raise SystemExit(f"not a web address: {value!r}")
    return text


def timestamp(day: date) -> str:
    """Midnight UTC of a day, as written in the import format."""
    return f"{day.isoformat()}T00:00:00+00:00"


# --------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------


def organisation(
    name: str,
    kind: str,
    territory: str | None = None,
    *,
    slug: str | None = None,
    alt_names: Iterable[str] = (),
    description: str | None = None,
    website: str | None = None,
) -> dict:
    """An organisation of the ``organisations`` list."""
    if kind not in ORGANISATION_KINDS:
        raise SystemExit(f"{name}: unknown organisation kind {kind!r}")
    return {
        "slug": slug or slugify(name),
        "name": name,
        "kind": kind,
        "territory": territory,
        "alt_names": sorted(alt_names),
        "description": description,
        "website": website,
    }


def comune(name: str, code: str) -> dict:
    """The organisation of a comune: "Comune di Bologna", ``comune-di-bologna``, ``C037006``."""
    return organisation(f"Comune di {name}", "comune", code)


def project(**values: Any) -> dict:
    """A row of ``projects``, with every key, in order."""
    unknown = set(values) - set(PROJECT_KEYS)
    if unknown:
        raise SystemExit(f"unknown project keys: {sorted(unknown)}")
    row = {key: values.get(key) for key in PROJECT_KEYS}
    if not row["title"]:
        raise SystemExit(f"a project without a title: {values!r}")
    if row["state"] is not None and row["state"] not in PROJECT_STATES:
        raise SystemExit(f"unknown project state {row['state']!r}")
    return row


def record(**values: Any) -> dict:
    """A process record: every key of :data:`RECORD_KEYS`, in order, with its default when not given."""
    unknown = set(values) - {key for key, _ in RECORD_KEYS}
    if unknown:
        raise SystemExit(f"unknown record keys: {sorted(unknown)}")
    result = {
        key: values.get(key, list(default) if isinstance(default, list) else default)
        for key, default in RECORD_KEYS
    }
    check(result)
    return result


def _check_text(path: str, value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise SystemExit(f"{where}: {path} is not a text: {value!r}")
    limit = TEXT_LIMITS.get(path)
    if limit is not None and len(value) > limit:
        raise SystemExit(f"{where}: {path} has {len(value)} characters, more than {limit}")
    if any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in value):
        raise SystemExit(f"{where}: {path} holds control characters")


def _check_point(row: Mapping[str, Any], where: str) -> None:
    latitude, longitude = row["latitude"], row["longitude"]
    if (latitude is None) != (longitude is None):
        raise SystemExit(f"{where}: a latitude without a longitude, or the other way round")
    for value in (latitude, longitude):
        if value is not None and (not isinstance(value, float) or round(value, COORDINATE_DECIMALS) != value):
            raise SystemExit(f"{where}: coordinate {value!r} is not a number with six decimals at most")


def check(process: Mapping[str, Any]) -> None:
    """Fails loudly if a record breaks a rule the builders can check on their own: text limits,
    control characters, states, coordinates in pairs."""
    where = process.get("source_ref") or process.get("title")
    for path in ("slug", "title", "summary", "description", "district", "address", "goals", "results"):
        _check_text(path, process[path], where)
    for path in (
        "participants_kind",
        "reported_by",
        "credits",
        "source_licence",
        "source_ref",
        "original_title",
    ):
        _check_text(path, process[path], where)
    for name in process["decision_holders"]:
        _check_text("decision_holders", name, where)
    for row in process["organisations"]:
        _check_text("organisations.name", row["name"], where)
    for row in process["links"]:
        _check_text("links.label", row["label"], where)
        _check_text("links.url", row["url"], where)
    if (
        not process["title"]
        or not process["slug"]
        or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", process["slug"])
    ):
        raise SystemExit(f"{where}: bad title or slug")
    if process["state"] is not None and process["state"] not in PROCESS_STATES:
        raise SystemExit(f"{where}: unknown state {process['state']!r}")
    _check_point(process, where)
    if len(process["projects"]) > 1_000:
        raise SystemExit(f"{where}: more than 1000 projects")
    for row in process["projects"]:
        for part in ("title", "description", "district", "address", "link"):
            _check_text(f"projects.{part}", row[part], where)
        _check_point(row, f"{where}, project {row['title']!r}")


def document(organisations: Iterable[dict], processes: Iterable[dict]) -> dict:
    """The import file: organisations sorted by slug (each declared once), processes as given."""
    by_slug: dict[str, dict] = {}
    for declared in organisations:
        known = by_slug.setdefault(declared["slug"], declared)
        if known != declared:
            raise SystemExit(f"organisation {declared['slug']!r} declared twice, differently")
    processes = list(processes)
    names = {declared["name"] for declared in by_slug.values()}
    for process in processes:
        used = list(process["decision_holders"]) + [row["name"] for row in process["organisations"]]
        missing = [name for name in used if name not in names]
        if missing:
            raise SystemExit(f"{process['source_ref']}: organisations not declared: {missing}")
    slugs = [process["slug"] for process in processes]
    if len(set(slugs)) != len(slugs):
        raise SystemExit("two processes have the same slug")
    return {
        "format": FORMAT,
        "version": VERSION,
        "organisations": [by_slug[slug] for slug in sorted(by_slug)],
        "processes": processes,
    }


def write_json(path: Path, data: Any) -> None:
    """Writes ``data`` as UTF-8 JSON indented by two spaces, with a final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
