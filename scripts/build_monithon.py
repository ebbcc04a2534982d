#!/usr/bin/env python3
"""Build ``monithon.json``: Monithon civic-monitoring reports in Osservatorio's import format.

Usage::

    python build_monithon.py SRC.csv OUT.json [--istat ISTAT.csv]

``SRC.csv`` is ``processi/monithon_reports.csv`` of the shared data folder (584 reports, 2013-2019,
from github.com/level73/Monithon, licence CC BY-SA 4.0). ``--istat`` is ISTAT's list of comuni
(``territori/istat_elenco_comuni_italiani_2024-12.csv``); by default it is looked for next to SRC, in
``../territori/``. Every report becomes one process of kind ``monitoraggio-civico``. The mapping is
described in the module constants and functions below, and summarised in ``../README.md``.

Only the standard library is used. The output is deterministic: rows are sorted by ``id_monithon``,
and running the script twice gives the same file.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

# --------------------------------------------------------------------------------------------------
# Vocabularies and fixed tables
# --------------------------------------------------------------------------------------------------

#: ISTAT region codes, keyed by folded region name (see ``fold``).
REGIONS = {
    "piemonte": "01",
    "valle d aosta": "02",
    "lombardia": "03",
    "trentino alto adige": "04",
    "veneto": "05",
    "friuli venezia giulia": "06",
    "liguria": "07",
    "emilia romagna": "08",
    "toscana": "09",
    "umbria": "10",
    "marche": "11",
    "lazio": "12",
    "abruzzo": "13",
    "molise": "14",
    "campania": "15",
    "puglia": "16",
    "basilicata": "17",
    "calabria": "18",
    "sicilia": "19",
    "sardegna": "20",
}
#: Other spellings of region names met in organisation and programme names.
REGION_SPELLINGS = {
    "siciliana": "sicilia",
    "sicilia": "sicilia",
    "valle d aosta vallee d aoste": "valle d aosta",
}

#: OpenCoesione ``tema sintetico`` -> (ambito, tematica). Keys are folded.
THEMES = {
    "cultura e turismo": ("cultura-istruzione", "cultura-turismo"),
    "ambiente": ("ambiente", "tutela-ambiente"),
    "trasporti": ("trasporti-mobilita", "mobilita-trasporti"),
    "citta e aree rurali": ("territorio-urbanistica", "rigenerazione-urbana"),
    "inclusione sociale": ("welfare-politiche-sociali", "inclusione-sociale"),
    "ricerca e innovazione": ("sviluppo-economico", "ricerca-innovazione"),
    "energia": ("ambiente", "energia"),
    "agenda digitale": ("societa-informazione", "agenda-digitale"),
    "istruzione": ("cultura-istruzione", "istruzione"),
    "occupazione": ("lavoro-formazione", "occupazione"),
    "infanzia e anziani": ("welfare-politiche-sociali", "infanzia-anziani"),
    "servizi di cura infanzia e anziani": ("welfare-politiche-sociali", "infanzia-anziani"),
    "competitivita imprese": ("sviluppo-economico", "competitivita-imprese"),
    "rafforzamento pa": ("assetto-istituzionale", "capacita-amministrativa"),
}
#: Every report is about a project funded by cohesion policy.
COHESION_TOPIC = "politiche-di-coesione"

#: Monithon ``tipo_autore`` -> who took part. ``ASOC <edition>`` is handled in ``participants``.
AUTHOR_KINDS = {
    "Local community": "Comunità locale",
    "Individual citizen": "Cittadini",
    "Higher Education Students": "Studenti universitari",
    "Monithon central staff": "Redazione di Monithon",
    "Special projects in schools": "Studenti delle scuole (progetti speciali di Monithon nelle scuole)",
}

#: 0/1 flags meaning the team interviewed someone (intervista_domande/_risposte are texts, not flags).
INTERVIEW_FLAGS = (
    "intervista_responsabili_progetto",
    "intervista_utenti_beneficiari",
    "intervista_altri_utenti",
    "intervista_soggetto_programmatore",
    "intervista_autorita_gestione",
)

LICENCE = (
    "Dati: Monithon (monithon.eu), report di {author}, licenza CC BY-SA 4.0 "
    "(https://creativecommons.org/licenses/by-sa/4.0/). Dati di progetto da OpenCoesione (CC BY-SA)."
)

#: Organisations also declared by the editors in ``redazione.json``: the same declaration is used here,
#: so that both files agree. Keys are folded names, the values are (name, kind, territory, alt_names).
_MIUR = (
    "Ministero dell'Istruzione",
    "ministero",
    None,
    ["MIUR", "Ministero dell'Istruzione, dell'Università e della Ricerca"],
)
KNOWN_ORGS = {
    "miur": _MIUR,
    "miur istruzione": _MIUR,
    "comune di torino": ("Comune di Torino", "comune", "C001272", ["Città di Torino"]),
    "monithon": ("Monithon", "associazione", None, []),
    "a scuola di opencoesione": ("A Scuola di OpenCoesione", "altro", None, ["ASOC"]),
}
KNOWN_WEBSITES = {
    "Monithon": "https://www.monithon.eu",
    "A Scuola di OpenCoesione": "https://www.ascuoladiopencoesione.it",
}

_DR = "Direzione Regionale per i Beni Culturali e Paesaggistici "
#: Spellings of the same body that differ by more than case or punctuation (folded name -> name).
ORG_ALIASES = {
    "amministrazione regionale regione calabria": "Regione Calabria",
    "regione abruzzo giunta regionale": "Regione Abruzzo",
    "rfi s p a": "Rete Ferroviaria Italiana S.p.A.",
    "rete ferroviaria italiana s p a": "Rete Ferroviaria Italiana S.p.A.",
    "finpiemonte": "Finpiemonte S.p.A.",
    "direzione reg per i bb cc e pp della puglia": _DR + "della Puglia",
    "direzione regionale per i beni culturali e paesag puglia": _DR + "della Puglia",
    "dir reg per i beni culturali e paesaggistici della calabria": _DR + "della Calabria",
    "direzione regionale per i bb cc e pp della campania": _DR + "della Campania",
}

#: Comune names written differently from ISTAT's (folded written form -> ISTAT name).
COMUNE_ALIASES = {
    "s agata militello": "Sant'Agata di Militello",
    "s marco argentano": "San Marco Argentano",
    "cassano allo ionio": "Cassano all'Ionio",
    "reggio calabria": "Reggio di Calabria",
    "lonato": "Lonato del Garda",
}


def _words(value: str) -> frozenset[str]:
    return frozenset(value.split())


#: Words kept lowercase inside a name (unless first).
PARTICLES = _words(
    "di del della dello dei degli delle e ed per la il lo le gli i a al allo alla ai agli alle da dal dallo "
    "dalla dai dagli dalle in nel nello nella nei negli nelle con su sul sullo sulla sui sugli sulle tra fra "
    "o"
)
#: Elided articles and prepositions (DELL'AMBIENTE).
ELIDED = {"dell", "all", "dall", "nell", "sull", "l", "d", "un", "quell"}
#: Words kept uppercase: acronyms and roman numerals.
ACRONYMS = _words(
    "ACT AMAT ANAS APQ ARPACAL ARST ASL ASLCN ASOC ASP ATI ATO CAP CEFRIEL CIPE CNR DGR DGSEC DHITECH EDMA "
    "ENAV FESR FSC FSE GGG ICT IFEL IIS IISS INPS INVALSI IPIA ISIS ISPRA ISRE ITC ITES ITIS ITS MIBACT MIUR "
    "ONLUS OPCM PA PAC PIST22 PNSC PON POR RFI SMA ULSS UNCI II III IV XXIII "
    "AFM CPIA IPAA IPSC IPSEOA IPSIA ISS IT ITCG ITCGT ITE ITET ITL ITST ITT ITTS"
)
#: A school name that already says what kind of school it is (folded), so ``tipo_istituto`` is not added.
SCHOOL_NAME = re.compile(
    r"^(liceo|istituto|ist|iis|iiss|isis|iss|itis|iti|itc|itcg|itcgt|itt|itts|itst|ite|ites|itet|it|ipsia|"
    r"ipsc|ipseoa|ipia|ip|convitto|scuola|polo|cpia|omnicomprensivo|educandato)\b"
)
#: Legal forms, written the usual way.
LEGAL_FORMS = {
    "spa": "S.p.A.",
    "s.p.a.": "S.p.A.",
    "s.p.a": "S.p.A.",
    "srl": "S.r.l.",
    "s.r.l.": "S.r.l.",
    "s.r.l": "S.r.l.",
    "snc": "S.n.c.",
    "s.n.c.": "S.n.c.",
    "scarl": "S.c.a r.l.",
    "scrl": "S.c.r.l.",
}

# --------------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------------

#: C1 control characters that stand for Windows-1252 punctuation; other C1 characters are dropped.
C1_PUNCTUATION = {"\x91": "'", "\x92": "'", "\x93": '"', "\x94": '"', "\x96": "–", "\x97": "—", "\x85": "…"}


def fix_chars(value: str) -> str:
    """Repair encoding leftovers: C1 controls, zero-width spaces, no-break spaces and ``¿``.

    In the source ``¿`` replaces a character lost in an old conversion: an apostrophe inside or at
    the end of a word (``L¿ACCOGLIENZA``, ``LEGALITA¿``), a dash between spaces, ``À`` in one word.
    """
    value = value.replace("\u200b", "").replace("\ufeff", "").replace("\xa0", " ")
    value = "".join(C1_PUNCTUATION.get(c, "" if "\x80" <= c <= "\x9f" else c) for c in value)
    value = value.replace("COMPETITIVIT¿", "COMPETITIVITÀ")
    value = re.sub(r"(?<=\w)¿", "'", value)
    value = re.sub(r"\s¿\s", " – ", value)
    return value


def text(value: str | None) -> str | None:
    """Clean free text: strip, collapse runs of spaces, keep paragraph breaks; ``""`` becomes None."""
    if value is None:
        return None
    value = fix_chars(value).replace("\r\n", "\n").replace("\r", "\n")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in value.split("\n")]
    value = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return value or None


def line(value: str | None) -> str | None:
    """Clean a one-line value: like ``text`` but every run of whitespace becomes one space."""
    value = text(value)
    return re.sub(r"\s+", " ", value) if value else None


def fold(value: str) -> str:
    """Accent-, case- and punctuation-folded form, words separated by one space."""
    value = unicodedata.normalize("NFKD", value.replace("’", "'"))
    value = "".join(c for c in value if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[a-z0-9]+", value))


def slugify(value: str) -> str:
    """ASCII lowercase words joined by hyphens."""
    return fold(value).replace(" ", "-")


def cut_slug(slug: str, length: int) -> str:
    return slug[:length].strip("-")


def unique(items):
    """The items in order, without repeats."""
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


# --------------------------------------------------------------------------------------------------
# Names of organisations
# --------------------------------------------------------------------------------------------------

ACCENTS = {"A": "à", "E": "è", "I": "ì", "O": "ò", "U": "ù"}


def _word(word: str, first: bool, previous: str) -> str:
    """Case one word of an upper-case name (``previous`` is the preceding word, lowercased)."""
    lower = word.lower()
    if lower in LEGAL_FORMS:
        return LEGAL_FORMS[lower]
    # Punctuation around the word: "GIULIO, (A.I.PO), CESARE"
    match = re.match(r"^([^\w]*)(.*?)([^\w.']*)$", word)
    lead, core, trail = match.groups()
    if not core:
        return word
    if lead.endswith("'") and core.endswith("'"):  # 'S.ANNA': quotes, not an accent
        core, trail = core[:-1], "'" + trail
    if lead or trail:
        return lead + _word(core, first or bool(lead), previous) + trail
    if word.upper() in ACRONYMS:
        return word.upper()
    # Elisions: DELL'AMBIENTE -> dell'Ambiente; L'AQUILA after "di" stays a proper name.
    match = re.match(r"^(\w+)'+(\w.*)$", word)
    if match and match.group(1).lower() in ELIDED:
        head = match.group(1).lower()
        if first or (head == "l" and previous in {"di", "de"}):
            head = head.capitalize()
        return f"{head}'{_word(match.group(2), True, head)}"
    if match:  # SANT'EGIDIO
        return f"{_word(match.group(1), first, previous)}'{_word(match.group(2), True, '')}"
    # UNIVERSITA' -> Università (upper-case data writes accents as apostrophes); DE' stays.
    match = re.match(r"^(\w+?)([AEIOU])'$", word)
    if match and len(word) > 3:
        return _word(match.group(1) + match.group(2), first, previous)[:-1] + ACCENTS[match.group(2)]
    # Dotted abbreviations: V.R.P.S. stays, N.TURRIZIANI -> N.Turriziani, INFRATRASPORTI.TO -> ...TO
    if "." in word.strip("."):
        parts = word.split(".")
        return ".".join(p.upper() if len(p) <= 2 else _word(p, True, "") for p in parts)
    # Hyphenated words: MILANO-BICOCCA
    for sep in ("-", "/"):
        if sep in word:
            return sep.join(_word(p, first or i > 0, previous) for i, p in enumerate(word.split(sep)))
    if not first and lower in PARTICLES:
        return lower
    if len(word) > 1 and word.isalpha() and not re.search(r"[AEIOUaeiouÀÈÉÌÒÙàèéìòù]", word):
        return word.upper()  # no vowels: an acronym (DGR, SCM)
    return word[:1].upper() + word[1:].lower()


def title_case(value: str) -> str:
    """Title-case an all-capitals name, keeping particles lowercase and acronyms uppercase.

    Names that already use lowercase letters are left as they are.
    """
    if re.search(r"[a-z]", value):
        return value
    words, out, previous = value.split(" "), [], ""
    for i, word in enumerate(words):
        cased = _word(word, i == 0 or previous.endswith(("-", "–", ":")), previous)
        out.append(cased)
        previous = word.lower()
    return " ".join(out)


class Territories:
    """Look-ups in ISTAT's list of comuni."""

    def __init__(self, path: Path):
        self.comuni: dict[str, list[tuple[str, str, str]]] = {}  # folded name -> [(code, region, name)]
        self.provinces: dict[str, list[tuple[str, str]]] = {}  # folded name -> [(P code, region)]
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                code = row["Codice Comune formato alfanumerico"]
                region = row["Codice Regione"]
                name = row["Denominazione in italiano"]
                self.comuni.setdefault(fold(name), []).append((code, region, name))
                province = (
                    "P" + row["Codice dell'Unità territoriale sovracomunale (valida a fini statistici)"],
                    region,
                )
                key = fold(
                    row["Denominazione dell'Unità territoriale sovracomunale (valida a fini statistici)"]
                )
                if province not in self.provinces.setdefault(key, []):
                    self.provinces[key].append(province)

    @staticmethod
    def _pick(candidates, region, strict=False):
        """The only candidate in ``region``; else (unless ``strict``) the only candidate."""
        if region:
            in_region = [c for c in candidates if c[1] == region]
            if len(in_region) == 1:
                return in_region[0]
        return candidates[0] if len(candidates) == 1 and not strict else None

    def comune(self, name: str, region: str | None, strict: bool = False):
        """(code, ISTAT name) of the comune called ``name``, or None."""
        key = fold(name)
        key = fold(COMUNE_ALIASES.get(key, key))
        found = self._pick(self.comuni.get(key, []), region, strict)
        return (found[0], found[2]) if found else None

    def province(self, name: str, region: str | None) -> str | None:
        found = self._pick(self.provinces.get(fold(name), []), region)
        return found[0] if found else None


def region_in(name: str) -> str | None:
    """The ISTAT region code of the only region named in ``name``, if exactly one is."""
    folded = f" {fold(name)} "
    for spelling, canonical in REGION_SPELLINGS.items():
        folded = folded.replace(f" {spelling} ", f" {canonical} ")
    found = {code for region, code in REGIONS.items() if f" {region} " in folded}
    return found.pop() if len(found) == 1 else None


def org_kind(name: str) -> str:
    """Kind of organisation, guessed from its name."""
    f = f" {fold(name)} "

    def has(*words):
        return any(f" {w} " in f for w in words)

    def starts(*words):
        return any(f.startswith(f" {w} ") for w in words)

    if starts("commissario"):
        return "agenzia"
    if starts("comune", "roma capitale"):
        return "comune"
    if starts("unione dei comuni", "unione comuni", "comunita montana", "comunita montanta"):
        return "unione_comuni"
    if starts("regione"):
        return "regione"
    if starts("provincia", "citta metropolitana", "amministrazione provinciale"):
        return "provincia"
    if has("ministero", "miur", "mibact", "soprintendenza") or starts(
        "direzione regionale", "dir reg", "segretariato regionale", "parco archeologico"
    ):
        return "ministero"
    if has("universita", "politecnico", "consiglio nazionale delle ricerche") or starts("scuola sup"):
        return "universita"
    if has("fondazione"):
        return "fondazione"
    if has(
        "s p a", "spa", "s r l", "srl", "s n c", "scarl", "scrl", "s c a r l", "s c r l", "societa", "holding"
    ):
        return "impresa"
    if has(
        "agenzia",
        "asl",
        "aslcn",
        "asp",
        "ulss",
        "u l s s",
        "autorita",
        "ispra",
        "inps",
        "invalsi",
        "arpacal",
        "isre",
        "azienda sanitaria",
        "azienda ospedaliera",
        "azienda ospedaliero",
        "a o",
        "case popolari",
        "istituto pubblico assistenza",
        "genio civile",
        "ente parco",
        "riserva naturale",
        "ente di gestione",
    ) or starts("parco"):
        return "agenzia"
    if has("associazione", "ass", "cooperativa", "coop", "onlus", "arciconfraternita"):
        return "associazione"
    if has("istituto", "liceo", "i i s s", "iis", "ipia", "itis", "ist", "scuola"):
        return "scuola"
    return "altro"


class Organisations:
    """Normalises the organisations named in the reports and collects their declarations."""

    def __init__(self, territories: Territories):
        self.territories = territories
        self.by_key: dict[str, dict] = {}
        self.slugs: set[str] = set()

    def _declare(self, name, kind=None, territory=None, alt_names=()):
        key = fold(name)
        if key in self.by_key:
            return self.by_key[key]["name"]
        slug = base = cut_slug(slugify(name), 120)
        n = 2
        while slug in self.slugs:
            slug = f"{cut_slug(base, 115)}-{n}"
            n += 1
        self.slugs.add(slug)
        self.by_key[key] = {
            "slug": slug,
            "name": name,
            "kind": kind or org_kind(name),
            "territory": territory,
            "alt_names": [a for a in alt_names if fold(a) != key],
            "description": None,
            "website": KNOWN_WEBSITES.get(name),
        }
        return name

    def declare_known(self, key: str) -> str:
        name, kind, territory, alt_names = KNOWN_ORGS[key]
        return self._declare(name, kind, territory, alt_names)

    def resolve(self, raw: str | None, region: str | None) -> list[str]:
        """Normalised names of the organisations in a Monithon cell (``:::`` separates several)."""
        names = []
        for part in (raw or "").split(":::"):
            part = line(part)
            if not part or part == "#NAME?":
                continue
            name = self._one(part, region)
            if name:
                names.append(name)
        return unique(names)

    def _one(self, raw: str, region: str | None) -> str | None:
        raw = re.sub(r"\s*\(CODICE BENEFICIARIO EDMA \d+\)$", "", raw, flags=re.I)
        key = fold(raw)
        if key in KNOWN_ORGS:
            return self.declare_known(key)
        # Comuni: "COMUNE DI X (PR)", "X COMUNE", "COMUNE X", "COMUNE DELLA X", a bare comune name.
        place = None
        match = re.match(r"^COMUNE(?: DI| D'|)\s*(.+?)\s*(?:\(\w\w\))?$", raw, re.I)
        if match and not re.match(r"^COMUNE (CAPOFILA|DELLA|DEL)\b", raw, re.I):
            place = match.group(1)
        elif re.match(r"^COMUNE DELLA (.+)$", raw, re.I):
            place = "La " + raw[len("COMUNE DELLA ") :]
        elif re.match(r"^(.+) COMUNE$", raw, re.I):
            place = raw[: -len(" COMUNE")]
        elif region and self.territories.comune(raw, region, strict=True) and fold(raw) not in REGIONS:
            place = raw
        if place:
            found = self.territories.comune(place, region)
            if found:
                return self._declare(f"Comune di {found[1]}", "comune", "C" + found[0])
            if re.match(r"^COMUNE", raw, re.I):  # a comune missing from ISTAT's list: no territory
                return self._declare(f"Comune di {title_case(place)}", "comune")
        if fold(raw) == "roma capitale":
            return self._declare("Roma Capitale", "comune", "C058091")
        raw = re.sub(r"^AMMINISTRAZIONE PROVINCIALE DI ", "PROVINCIA DI ", raw, flags=re.I)
        raw = re.sub(r"\bS\.C\.A\.? R\.L\.?", "SCARL", raw, flags=re.I)
        name = title_case(raw)
        name = ORG_ALIASES.get(fold(name), name)
        kind = org_kind(name)
        territory = None
        if kind == "regione":
            code = region_in(name) or region
            territory = f"R{code}" if code else None
        elif kind == "provincia":
            match = re.match(
                r"^(?:Provincia(?: Regionale)?(?: di)?|Città Metropolitana di)\s+(.+?)(?:\s*\(.*\))?$",
                name,
                re.I,
            )
            if match:
                territory = self.territories.province(match.group(1), region)
        return self._declare(name, kind, territory)

    def declarations(self) -> list[dict]:
        return sorted(self.by_key.values(), key=lambda org: org["slug"])


# --------------------------------------------------------------------------------------------------
# Field conversions
# --------------------------------------------------------------------------------------------------


def report_date(row) -> date | None:
    """Date of the report: ``report_created_at``, else ``tab_3_created_at`` (DD-MM-YY H:MM)."""
    value = (row["report_created_at"] or "").strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value[:10])
    match = re.match(r"^(\d{2})-(\d{2})-(\d{2})\b", (row["tab_3_created_at"] or "").strip())
    if match:
        return date(2000 + int(match.group(3)), int(match.group(2)), int(match.group(1)))
    return None


def oc_date(value: str | None) -> str | None:
    """OpenCoesione YYYYMMDD -> YYYY-MM-DD (None if not a real date)."""
    value = (value or "").strip()
    if not re.match(r"^\d{8}$", value):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError:
        return None


def amount(value: str | None) -> str | None:
    """A euro amount as a string with two decimals, or None."""
    try:
        number = Decimal((value or "").strip())
    except InvalidOperation:
        return None
    if number < 0:
        return None
    return str(number.quantize(Decimal("0.01")))


def url(value: str | None) -> str | None:
    """A well-formed http(s) URL, adding ``https://`` when the scheme is missing; otherwise None."""
    value = (value or "").strip()
    if not value or re.search(r"\s", value):
        return None
    if re.match(r"^www\.", value, re.I):
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or "." not in parts.netloc or len(value) > 1000:
        return None
    return value


def participants(row) -> str | None:
    author_kind = line(row["tipo_autore"]) or ""
    if author_kind.startswith("ASOC"):
        edition = author_kind[len("ASOC") :].strip()
        edition = f"edizione {edition}" if re.match(r"^\d{4}-\d{4}$", edition) else author_kind
        base = f"Studenti delle scuole secondarie superiori (A Scuola di OpenCoesione, {edition})"
    else:
        base = AUTHOR_KINDS.get(author_kind, author_kind or None)
    school = line(row["istituto"])
    if school:
        school_kind = line(row["tipo_istituto"])
        school = title_case(school)
        if school_kind and not SCHOOL_NAME.match(fold(school)):
            school = f"{title_case(school_kind)} {school}"
        base = f"{base}; istituto: {school}" if base else f"Istituto: {school}"
    return base


def methods(row) -> list[str]:
    def flag(*columns):
        return any((row.get(c) or "").strip() == "1" for c in columns)

    found = []
    if flag("visita_diretta"):
        found.append("visita-diretta")
    if flag(*INTERVIEW_FLAGS):
        found.append("interviste")
    if flag("raccolta_info_web", "raccolta_info_attuatore"):
        found.append("ricerca-documentale")
    if flag("diffusione_eventi", "diffusione_incontri"):
        found.append("eventi-divulgazione")
    found.append("open-data")
    return found


def territories_of(row, beneficiaries, orgs: Organisations, programme: str | None) -> list[str]:
    """The report's comune; else its region; else the comune of a beneficiary or the region of a
    regional programme; else the whole country."""
    if (row["comune_istat"] or "").strip():
        return ["C" + row["comune_istat"].strip()]
    code = REGIONS.get(fold(row["regione_nome"] or ""))
    if code:
        return [f"R{code}"]
    for name in beneficiaries:
        territory = orgs.by_key[fold(name)]["territory"]
        if territory and territory.startswith("C"):
            return [territory]
    code = region_in(programme or "")
    return [f"R{code}"] if code else ["IT"]


def funding_of(row, beneficiaries) -> dict | None:
    fields = (
        "oc_descrizione_programma",
        "oc_descr_ciclo",
        "oc_finanz_tot_pub_netto",
        "oc_data_inizio_progetto",
        "oc_data_fine_progetto_effettiva",
        "oc_beneficiario",
    )
    if not any((row[f] or "").strip() for f in fields):
        return None
    programme = line(row["oc_descrizione_programma"])
    if programme:
        programme = " / ".join(p.strip() for p in programme.split(":::") if p.strip())
    funds = unique(re.findall(r"\b(FESR|FSE|FSC|FEASR)\b", programme or ""))
    total = amount(row["oc_finanz_tot_pub_netto"])
    beneficiary = "; ".join(beneficiaries) or None
    start = oc_date(row["oc_data_inizio_progetto"])
    end = oc_date(row["oc_data_fine_progetto_effettiva"])
    if start and end and end < start:
        # 3 rows give 2015-12-31 (the close of the 2007-2013 cycle) as start, after the end: not a start.
        start = None
    return {
        "programme": programme,
        "fund": ", ".join(funds) or None,
        "total_investment": total,
        "cofinancing": None,
        "beneficiary": beneficiary,
        "cup": None,
        "phases": [
            {
                "label": line(row["oc_descr_ciclo"]) or "Finanziamento del progetto",
                "start_date": start,
                "end_date": end,
                "investment": total,
                "cofinancing": None,
                "beneficiary": beneficiary,
            }
        ],
    }


def links_of(row, id_monithon: str) -> list[dict]:
    candidates = [
        ("Scheda del progetto su OpenCoesione", row["id_open_coesione"]),
        ("Blog del team", row["link_blog"]),
        ("Report / elaborato", row["link_elaborato"]),
        ("Video", row["video_daASOC"]),
        ("Report su Monithon", f"https://www.monithon.eu/report/view/{id_monithon}"),
    ]
    links, seen = [], set()
    for label, value in candidates:
        address = url(value)
        if address and address not in seen:
            seen.add(address)
            links.append({"label": label, "url": address})
    return links


def short_title(value: str) -> str:
    if len(value) <= 300:
        return value
    return value[:299].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


def convert(row, orgs: Organisations, slugs: set[str]) -> dict:
    id_monithon = row["id_monithon"].strip()
    region = REGIONS.get(fold(row["regione_nome"] or ""))
    programme = line(row["oc_descrizione_programma"])
    region_hint = region or region_in(programme or "")

    title = short_title(line(row["titolo"]) or f"Report Monithon {id_monithon}")
    slug = cut_slug(slugify(title), 80) or f"monithon-{id_monithon}"
    if slug in slugs:
        slug = f"{slug}-{id_monithon}"
    slugs.add(slug)

    beneficiaries = orgs.resolve(row["oc_beneficiario"], region_hint)
    ben_keys = {fold(b) for b in beneficiaries}
    implementers = [a for a in orgs.resolve(row["oc_attuatore"], region_hint) if fold(a) not in ben_keys]
    roles = [{"name": orgs.declare_known("monithon"), "role": "promotore"}]
    if (row["tipo_autore"] or "").strip().startswith("ASOC"):
        roles.append({"name": orgs.declare_known("a scuola di opencoesione"), "role": "promotore"})
    roles += [{"name": name, "role": "attuatore"} for name in implementers]

    theme, topic = THEMES.get(fold(row["oc_tema_sintetico"] or ""), (None, None))
    topics = unique([t for t in (topic, COHESION_TOPIC) if t])

    day = report_date(row)
    year = day.year if day else None
    stamp = f"{day.isoformat()}T00:00:00+00:00" if day else None

    verdict = line(row["giudizio_sintetico"])
    results = [t for t in (text(row["risultato_progetto"]), text(row["impact_description"])) if t]
    author = line(row["autore"]) or "Monithon"

    return {
        "slug": slug,
        "title": title,
        "kind": "monitoraggio-civico",
        "summary": f"Giudizio sintetico del report: {verdict}." if verdict else None,
        "description": text(row["descrizione"]),
        "decision_holders": beneficiaries,
        "organisations": roles,
        "territories": territories_of(row, beneficiaries, orgs, programme),
        "theme": theme,
        "topics": topics,
        "start_year": year,
        "end_year": year,
        "ongoing": False,
        "state": "concluso",
        "phases": [
            {
                "title": "Monitoraggio civico",
                "description": text(row["avanzamento"]),
                "start_date": None,
                "end_date": day.isoformat() if day else None,
            }
        ],
        "goals": None,
        "results": "\n\n".join(results) or None,
        "participation_level": None,
        "methods": methods(row),
        "participants_count": None,
        "participants_kind": participants(row),
        "funding": funding_of(row, beneficiaries),
        "links": links_of(row, id_monithon),
        "reporting_source": "importazione",
        "reported_by": author,
        "quality_notes": None,
        "regional_call_notes": None,
        "source_licence": LICENCE.format(author=author),
        "source_ref": f"monithon:{id_monithon}",
        "created_at": stamp,
        "updated_at": stamp,
        "published_at": stamp,
    }


def build(source: Path, istat: Path) -> dict:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: int(r["id_monithon"]))
    orgs = Organisations(Territories(istat))
    slugs: set[str] = set()
    processes = [convert(row, orgs, slugs) for row in rows]
    return {
        "format": "osservatorio/processi",
        "version": 1,
        "organisations": orgs.declarations(),
        "processes": processes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="monithon_reports.csv")
    parser.add_argument("output", type=Path, help="the JSON file to write")
    parser.add_argument(
        "--istat",
        type=Path,
        default=None,
        help="ISTAT list of comuni (default: ../territori/istat_elenco_comuni_italiani_2024-12.csv "
        "next to SOURCE)",
    )
    args = parser.parse_args(argv)
    istat = (
        args.istat
        or args.source.resolve().parent.parent / "territori" / "istat_elenco_comuni_italiani_2024-12.csv"
    )
    data = build(args.source, istat)
    with args.output.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    print(
        f"{len(data['processes'])} processes, {len(data['organisations'])} organisations -> {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
