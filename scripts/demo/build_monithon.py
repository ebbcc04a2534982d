#!/usr/bin/env python3
"""Build ``monithon.json``: Monithon civic-monitoring reports in Osservatorio's import format.

Usage, from anywhere::

    python scripts/demo/build_monithon.py [SRC.csv [OUT.json]] [--istat ISTAT.csv]

``SRC.csv`` is by default ``scripts/demo/sources/monithon/monithon_reports.csv`` of the repository
(584 reports, 2013-2019, from github.com/level73/Monithon, licence CC BY-SA 4.0); ``OUT.json`` is by
default ``observatory/data/demo/monithon.json``; ``--istat`` is ISTAT's list of comuni, by default
``observatory/data/territori/istat_elenco_comuni_italiani_2024-12.csv`` (the paths are relative to the
repository's root, found from this file). Every report becomes one process of kind
``monitoraggio-civico``. The mapping is described in the module constants and functions below, and
in ``observatory/data/README.md``.

Only the standard library is used, and the repository's ``observatory.catalogue.places`` (itself
standard library only), to keep a report's point only if it lies in the process's territories.
The output is deterministic: rows are sorted by ``id_monithon``, and running
the script twice gives the same file. A summary (titles re-cased and repaired, points kept) is
printed on standard error.
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

#: The repository's root, and the default files.
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the catalogue's own boundaries, for the points
from observatory.catalogue import places  # noqa: E402

SOURCE = ROOT / "scripts" / "demo" / "sources" / "monithon" / "monithon_reports.csv"
ISTAT = ROOT / "observatory" / "data" / "territori" / "istat_elenco_comuni_italiani_2024-12.csv"
OUTPUT = ROOT / "observatory" / "data" / "demo" / "monithon.json"

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

#: Monithon ``tipo_autore`` -> who took part. ``ASOC <edition>`` is ASOC_PARTICIPANTS.
AUTHOR_KINDS = {
    "Local community": "Comunità locale",
    "Individual citizen": "Cittadini",
    "Higher Education Students": "Studenti universitari",
    "Monithon central staff": "Redazione di Monithon",
    "Special projects in schools": "Studenti (progetti speciali di Monithon)",
}
#: Who took part in the reports of A Scuola di OpenCoesione (the school is in the credits).
ASOC_PARTICIPANTS = "Studenti delle superiori (team di monitoraggio)"
#: Monithon ``tipo_autore`` -> the programme the report was written in, for the credits.
PROGRAMMES = {
    "Monithon central staff": "redazione di Monithon",
    "Special projects in schools": "progetti speciali di Monithon nelle scuole",
}

#: ``giudizio_sintetico`` (folded) -> the state of the monitored project. "Appena iniziato" is
#: unclear (the works may not have started): see ``work_state_of``.
VERDICT_STATES = {
    "concluso e utile": "concluso",
    "concluso e inefficace": "concluso",
    "in corso e procede bene": "in_corso",
    "procede con difficolta": "in_difficolta",
    "bloccato": "bloccato",
}
#: OpenCoesione ``oc_stato_progetto`` (folded) -> the state of the project.
OC_STATES = {
    "non avviato": "non_avviato",
    "in corso": "in_corso",
    "concluso": "concluso",
    "liquidato": "concluso",
}
#: The states of a monitored project, as the catalogue labels them.
WORK_STATES = {
    "non_avviato": "Non avviato",
    "in_corso": "In corso",
    "in_difficolta": "In corso con difficoltà",
    "bloccato": "Bloccato",
    "concluso": "Concluso",
}
MONTHS = (
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre".split()
)
#: Italy's bounding box (south, north, west, east): a report's point outside it is not kept.
ITALY_BOX = (35.4, 47.1, 6.6, 18.6)

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
    value = re.sub(r"(?<!\w)¿(\w[^¿]*?\w)¿(?!\w)", r"“\1”", value)  # ¿LA BANDIERA BLU¿: quotation marks
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
# Titles
# --------------------------------------------------------------------------------------------------

#: A word: a run of letters and digits.
WORD = re.compile(r"[^\W_]+")
#: Web and mail addresses, and hashtags.
ADDRESSES = re.compile(r"\S+@\S+|\b(?:https?://|www\.)\S+|\S+\.(?:it|com|eu|org|net|gov)\b\S*|[#@]\w+", re.I)
#: The free-text columns of a report: the corpus whose spelling the titles are re-cased and repaired by.
CORPUS_COLUMNS = (
    "titolo",
    "descrizione",
    "avanzamento",
    "risultato_progetto",
    "punti_di_forza",
    "punti_deboli",
    "problemi_amministrativi",
    "problemi_tecnici",
    "risultato_insoddisfacente",
    "non_efficace",
    "rischi",
    "soluzioni_progetto",
    "intervista_domande",
    "intervista_risposte",
    "impact_description",
    "admin_altro",
    "media_other",
    "oc_titolo_progetto",
)
#: Words kept upper-case in titles besides those the corpus writes so: acronyms the corpus does not
#: use in running text (or uses ambiguously), and names of projects written in capitals.
TITLE_ACRONYMS = ACRONYMS | _words(
    "ANAS APQ ASL ASOC ASP ATC ATO BAPSAE BURP CCR CEDA CSTP DG DGR FAS FESR FSE GIL GPP GTT IACP ICT "
    "IPAB IPSIA ITIS LDA MAN MARTA MATTM MIUR PIOT PISU PIS PLIS PMI PON POR RFI RNO RSU SERT SGA SIC SIN "
    "SMA SP SPA SS STEAT UNESCO ZTL CHHAB MED SGTL AO"
)
#: Words a title writes upper-case that are ordinary words in lower case (the corpus has too few of them).
TITLE_LOWER = _words("km ml ex ed nonché sc")
#: Words the corpus capitalises as parts of names, or as institutions, but ordinary in a title.
GENERIC = _words(
    "regione provincia comune città università liceo istituto scuola soprintendenza ministero castello "
    "torre palazzo teatro museo parco chiesa basilica santuario abbazia fortino cittadella ostello "
    "policlinico ospedale hospice archeologia archivistica etnografica biotecnologie rianimazione "
    "matematico paleontologico terme carceri camera direzionale ducale prov ass club de health "
    "experience hub science platform agrofood energy station cartoons gioventù"
)
#: Words naming a kind of street: lower-case, and the word after them is a name (via Trento).
STREETS = _words("via viale piazza piazzale largo corso vicolo contrada località loc lungomare rione")
#: Words naming a building, place or natural feature: the word right after them, unless an ordinary
#: word, is a name (Palazzo Belmonte, fiume Pescara); the building word is then capitalised too.
BUILDINGS = _words(
    "palazzo palazzina castello castel teatro chiesa basilica cattedrale abbazia badia convento monastero "
    "santuario villa torre stadio ospedale parco cinema stazione porta mulino masseria casale baglio "
    "stabilimento reggia certosa fortino bastioni colonia grotte cave giardini auditorium monte isola valle"
)
#: Words naming a natural feature or a part of a town: lower-case, and the word after them, unless an
#: ordinary word, is a name (fiume Pescara, lago Trasimeno, quartiere Spagnolo).
NATURE = _words("fiume lago torrente collina oasi quartiere")
#: Institutions capitalised before the name of their place: Regione Calabria, Università della Calabria.
INSTITUTIONS = _words("regione università")
#: Saints: the word after them is a name (San Francesco, S. Rita, Sant'Elmo).
SAINTS = _words("san santa santo sant ss s")
#: Words that, written with a roman "I", are an ordinal (I lotto, II stralcio).
ORDINAL_NOUNS = _words("lotto lot stralcio livello fase atto")
#: Dotted words written their own way.
DOTTED = {"p.zza": "p.zza", "amm.ne": "amm.ne", "for.tuna": "FOR.TUNA"}
#: Abbreviations a dot follows without ending the sentence (PROT. N. 17448).
ABBREVIATIONS = _words(
    "ed cod prot loc n arch rest compl prog progr staz prov bibl quart ass mus amm sc potenz implementaz "
    "riqual archit allest trasf sicur elem mat ampl tecnost"
)
ACCENTED = "àèéìòù"
#: Provinces' two-letter codes, kept upper-case in brackets or after a hyphen: (LE), ISOLA LIRI-FR.
SIGLE = _words(
    "AG AL AN AO AP AQ AR AT AV BA BG BI BL BN BO BR BS BT BZ CA CB CE CH CL CN CO CR CS CT CZ EN FC FE FG "
    "FI FM FR GE GO GR IM IS KR LC LE LI LO LT LU MB MC ME MI MN MO MS MT NA NO NU OR PA PC PD PE PG PI PN "
    "PO PR PT PU PV PZ RA RC RE RG RI RM RN RO SA SI SO SP SR SS SU SV TA TE TN TO TP TR TS TV UD VA VB VC "
    "VE VI VR VT VV"
)
ROMAN = re.compile(r"^(?:X{0,3})(?:IX|IV|V?I{0,3})$")


class Lexicon:
    """How the words of the reports' own texts are written: the dictionary titles are cased by.

    Only words inside a sentence count (not the first of a sentence, line or quotation), and only in
    lines mostly in lower case: there a proper name is capitalised, an acronym is in capitals and an
    ordinary word is in lower case.
    """

    def __init__(self, texts):
        lines = [text_line for value in texts for text_line in (text(value) or "").split("\n")]
        self.ordinary: set[str] = set()
        for first_pass in (True, False):
            self.forms: dict[str, dict[str, int]] = {}  # word -> {"lower"/"cap"/"upper"/spelling: n}
            self.counts: dict[str, int] = {}  # lower-case word -> occurrences anywhere
            self.free: set[str] = set()  # words seen not followed by a dot (not abbreviations)
            self.pairs: dict[tuple[str, str], list[int]] = {}  # two words -> [both capitalised, otherwise]
            for text_line in lines:
                self._line(text_line)
            if first_pass:  # the second pass leaves out headings in title case, found with these
                self.ordinary = {word for word in self.forms if self.common(word)}

    def _line(self, value: str):
        value = ADDRESSES.sub(" ", value)  # web and mail addresses are written in lower case
        letters = [c for c in value if c.isalpha()]
        mostly_lower = sum(c.islower() for c in letters) >= 0.5 * len(letters) if letters else False
        previous = None
        headings = self._headings(value) if mostly_lower else []
        for match in WORD.finditer(value):
            word = match.group()
            key = word.lower()
            self.counts[key] = self.counts.get(key, 0) + 1
            if value[match.end() : match.end() + 1] != ".":
                self.free.add(key)
            in_heading = any(start <= match.start() < end for start, end in headings)
            joined = previous and value[previous.end() : match.start()] == " "
            if mostly_lower and joined and not in_heading and word.isalpha():
                pair = self.pairs.setdefault((previous.group().lower(), key), [0, 0])
                pair[0 if previous.group()[0].isupper() and word[0].isupper() else 1] += 1
            previous = match if word.isalpha() and not self._starts(value, match.start()) else None
            if not mostly_lower or any(c.isdigit() for c in word) or self._starts(value, match.start()):
                continue
            if in_heading and key in self.ordinary:
                previous = None
                continue
            if word.islower():
                form = "lower"
            elif word.isupper():
                form = "upper" if len(word) > 1 else "cap"
            elif word[0].isupper() and (word[1:].islower() or len(word) == 1):
                form = "cap"
            else:
                form = word
            forms = self.forms.setdefault(key, {})
            forms[form] = forms.get(form, 0) + 1

    def _headings(self, value: str) -> list[tuple[int, int]]:
        """Where a line capitalises three words or more in a row, two of them ordinary words
        (Caduta Massi Collina Monforte Intervento di Sistemazione): a title in title case, where the
        capitals of ordinary words do not make them names."""
        runs, start, end, size, ordinary = [], None, None, 0, 0
        for match in re.finditer(r"[^\W\d_]+|[^\w\s']+", value + " ."):
            word = match.group()
            if word[0].isupper() and word.isalpha():
                start = match.start() if start is None else start
                end, size = match.end(), size + 1
                ordinary += word.lower() in self.ordinary
            elif not (word.isalpha() and word in PARTICLES and start is not None):
                if size >= 3 and ordinary >= 2:
                    runs.append((start, end))
                start, end, size, ordinary = None, None, 0, 0
        return runs

    @staticmethod
    def _starts(value: str, start: int) -> bool:
        """Whether the word at ``start`` begins a sentence, a line or a quotation."""
        before = value[:start]
        stripped = before.rstrip()
        if not stripped:
            return True
        last = stripped[-1]
        if last in "'’" and stripped == before and len(before) > 1 and before[-2].isalpha():
            return False  # an elision: dell'Aquila
        return last in ".!?:;\"'’«“”([-–—•*/_>"

    def form(self, word: str) -> str | None:
        """How the corpus writes ``word`` inside sentences: "lower", "cap", "upper", a mixed spelling
        (iOS), or None if it is not used often enough to say."""
        forms = self.forms.get(word.lower())
        if not forms:
            return None
        lower, cap, upper = forms.get("lower", 0), forms.get("cap", 0), forms.get("upper", 0)
        mixed = sorted(((n, f) for f, n in forms.items() if f not in ("lower", "cap", "upper")), reverse=True)
        if mixed and mixed[0][0] >= lower + cap + upper:
            return mixed[0][1]
        if upper >= 2 and upper > 2 * (lower + cap):
            return "upper"
        if cap > 2 * lower:
            return "cap"
        if lower >= cap:
            return "lower" if lower else None
        return None

    def name(self, first: str, second: str) -> bool:
        """Whether the two words, one after the other, are mostly written as a name (Porto Conte)."""
        both, otherwise = self.pairs.get((first.lower(), second.lower()), (0, 0))
        return both >= 2 and both > 2 * otherwise

    def common(self, word: str) -> bool:
        """Whether ``word`` is mostly an ordinary, lower-case word."""
        forms = self.forms.get(word.lower(), {})
        return forms.get("lower", 0) > 0 and forms.get("lower", 0) >= forms.get("cap", 0)

    def accented(self, stem: str, ending: str = "") -> str | None:
        """The one accented spelling of ``stem`` + an accented vowel + ``ending`` the corpus uses most
        (lower case), or None if it uses none."""
        found = [(self.counts.get(f"{stem}{a}{ending}", 0), f"{stem}{a}{ending}") for a in ACCENTED]
        found = sorted((n, w) for n, w in found if n)
        if not found or (len(found) > 1 and found[-1][0] < 3 * found[-2][0]):
            return None
        return found[-1][1]


def _capital(word: str) -> str:
    return word[:1].upper() + word[1:].lower()


class TitleCaser:
    """Repairs titles' lost accents and writes titles in capitals in sentence case."""

    def __init__(self, lexicon: Lexicon, istat: Path):
        self.lexicon = lexicon
        self.names: dict[tuple[str, ...], tuple[bool, ...]] = {}  # folded words -> which are lower-case
        with istat.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                for column in (
                    "Denominazione in italiano",
                    "Denominazione Regione",
                    "Denominazione dell'Unità territoriale sovracomunale (valida a fini statistici)",
                ):
                    for name in row[column].split("/"):
                        words = WORD.findall(name)
                        key = tuple(fold(w) for w in words)
                        if words and all(len(k.split()) == 1 for k in key):
                            self.names[key] = tuple(w.islower() for w in words)
                            if key[0] in ("san", "santa", "santo", "sant"):  # S. EGIDIO ALLA VIBRATA
                                self.names[("s", *key[1:])] = self.names[key]
        self.longest = max(len(k) for k in self.names)

    # -- repairs ------------------------------------------------------------------------------------

    def repair(self, title: str) -> str:
        """Lost accents in words written in capitals: QUALIT? and LEGALITà -> QUALITÀ, LEGALITÀ;
        CITTA' -> CITTÀ when the corpus writes "città". Uncertain repairs are not made."""

        def question(match):
            word = match.group()
            stem, ending = word.split("?", 1)
            found = self.lexicon.accented(stem.lower(), ending.lower()) if "?" not in ending else None
            return found.upper() if found else word

        def stray(match):  # an upper-case word with lower-case accented letters: LEGALITà
            word = match.group()
            if sum(c.isupper() for c in word) >= 2 and all(c.isupper() or c in ACCENTED for c in word):
                return word.upper()
            return word

        quoted = re.search(r"(?<!\w)'\w", title)  # 'REINSERIAMOLI RICICLANDO': a closing quote

        def apostrophe(match):  # CITTA' -> CITTÀ (upper-case texts write accents as apostrophes)
            stem, vowel = match.group(1), match.group(2)
            found = self.lexicon.accented(stem.lower())
            if found and fold(found) == fold(stem + vowel):
                return found.upper()
            if found or (quoted and quoted.start() < match.start()):
                return match.group()
            if vowel == "E":
                return stem + ("É" if stem.endswith("CH") else "È")
            return stem + {"A": "À", "I": "Ì", "O": "Ò", "U": "Ù"}[vowel]

        title = re.sub(r"[A-ZÀ-Ý]+\?[A-ZÀ-Ý]*", question, title)
        title = re.sub(r"[^\W\d_]+", stray, title)
        title = re.sub(r"(?<!\w)([A-Z]{2,})([AEIOU])'(?!\w)", apostrophe, title)
        # A lost apostrophe: DELL IMPIANTO, PER L ADEGUAMENTO, SANT ANGELO.
        return re.sub(r"\b(L|DELL|ALL|DALL|NELL|SULL|SANT) (?=[AEIOUÀÈÉÌÒÙ][A-Z])", r"\1'", title)

    # -- re-casing ----------------------------------------------------------------------------------

    @staticmethod
    def in_capitals(title: str) -> bool:
        """Whether a title is written in capitals, or mostly so (60% of its cased letters)."""
        upper = sum(c.isupper() for c in title)
        lower = sum(c.islower() for c in title)
        return upper > 0 and upper >= 0.6 * (upper + lower)

    def recase(self, title: str) -> str:
        """A title in capitals in sentence case: the first word capitalised, proper names capitalised,
        acronyms and roman numerals in capitals, the rest in lower case. Words already written with
        lower-case letters are kept as they are."""
        return _Recasing(self, title).result()

    def title(self, value: str) -> tuple[str, bool, bool]:
        """(shown title, whether re-cased, whether repaired)."""
        repaired = self.repair(value)
        if self.in_capitals(repaired):
            return self.recase(repaired), True, repaired != value
        return repaired, False, repaired != value


class _Recasing:
    """One title being written in sentence case: its words, what separates them, and the casing
    decided so far for each (None: lower case, unless it begins a sentence)."""

    def __init__(self, caser: TitleCaser, title: str):
        self.caser, self.lex, self.title = caser, caser.lexicon, title
        self.spans = [(m.start(), m.end()) for m in WORD.finditer(title)]
        self.words = [title[s:e] for s, e in self.spans]
        self.lower = [w.lower() for w in self.words]
        self.n = n = len(self.words)
        ends = [0] + [e for _, e in self.spans]
        starts = [s for s, _ in self.spans] + [len(title)]
        self.seps = [title[ends[i] : starts[i]] for i in range(n + 1)]  # seps[i] is before word i
        #: Words already written with lower-case letters: kept as they are.
        self.fixed = [not w.isupper() and any(c.isalpha() for c in w) for w in self.words]
        self.cased: list[str | None] = [None] * n
        self.locked: set[int] = set()  # codes, acronyms, numbers: no later rule changes them
        self.places: set[int] = set()  # words of the names of comuni, provinces and regions

    # -- helpers --------------------------------------------------------------------------------------

    def letters(self, i: int) -> bool:
        """Whether word i is a word of letters in capitals, still to be cased."""
        return 0 <= i < self.n and not self.fixed[i] and self.words[i].isalpha()

    def word(self, i: int) -> str:
        return self.lower[i] if 0 <= i < self.n else ""

    def lock(self, i: int, value: str):
        self.cased[i] = value
        self.locked.add(i)

    def capitalised(self, i: int) -> bool:
        return self.cased[i] is not None and self.cased[i][:1].isupper()

    def name(self, i: int, forced: bool = False) -> bool:
        """Capitalise word i as (part of) a name, unless the corpus writes it as an ordinary word
        (``forced``: even then). Whether word i is now capitalised."""
        if not self.letters(i):
            return False
        if self.cased[i] is None and (forced or not self.lex.common(self.words[i])):
            self.cased[i] = _capital(self.words[i])
        return self.capitalised(i)

    def within(self, match: re.Match):
        """The words inside a match of the title."""
        return [i for i, (s, e) in enumerate(self.spans) if match.start() <= s and e <= match.end()]

    # -- passes -------------------------------------------------------------------------------------

    def result(self) -> str:
        if not self.n:
            return self.title
        self.codes()
        self.dotted()
        self.words_alone()
        self.place_names()
        self.pairs()
        self.named_after()
        self.repeated()
        for i in range(1, self.n):  # MAGNO-GRECI: one compound word, not a name
            compound = self.seps[i] == "-" and self.letters(i - 1) and not self.capitalised(i - 1)
            if compound and self.letters(i) and i not in self.locked:
                self.cased[i] = None
        values = [
            self.words[i]
            if self.fixed[i]
            else (self.cased[i] if self.cased[i] is not None else self.lower[i])
            for i in range(self.n)
        ]
        out = []
        for i, value in enumerate(values):
            if not self.fixed[i] and value[:1].islower() and self.begins(i, values):
                value = value[:1].upper() + value[1:]
            out.append(self.seps[i] + value)
        return "".join(out) + self.seps[self.n]

    def codes(self):
        """Codes stay as they are: (REG_POR-FESR_2009_6468), VIA_20_51C, ALTA_03_51B, PIS13."""
        for i, word in enumerate(self.words):
            if not self.fixed[i] and not word.isalpha():
                self.lock(i, word)
        for match in re.finditer(r"\([^\s()]*\d[^\s()]*\)|\S*_\S*", self.title):
            if re.search(r"\d", match.group()):
                for i in self.within(match):
                    if match.group().startswith("(") or len(self.words[i]) <= 4:
                        self.lock(i, self.words[i])

    def dotted(self):
        """Dotted abbreviations: S.P.A., C.C.R., G.B. VICO, N. 11, S. RITA, ARCH.P.ORSI, P.ZZA."""
        for match in re.finditer(r"[^\W_]+(?:\.[^\W_]+)+", self.title):
            spelling = DOTTED.get(match.group().lower())
            if spelling:
                for i, part in zip(self.within(match), spelling.split("."), strict=True):
                    self.lock(i, part)
        lower, seps, words = self.lower, self.seps, self.words
        i = 0
        while i < self.n:
            if (
                not (self.letters(i) and len(words[i]) == 1 and seps[i + 1].startswith("."))
                or i in self.locked
            ):
                i += 1
                continue
            j = i
            while j + 1 < self.n and len(words[j + 1]) == 1 and seps[j + 1] == "." and self.letters(j + 1):
                j += 1
            run, after = "".join(lower[i : j + 1]), seps[j + 1]
            if run in ("spa", "srl", "snc"):  # S.p.A., S.r.l.
                for k in range(i, j + 1):
                    upper = k == i or (run == "spa" and k == j)
                    self.lock(k, words[k].upper() if upper else lower[k])
            elif j > i:  # C.C.R., G.I.L.; G.B. VICO
                for k in range(i, j + 1):
                    self.lock(k, words[k].upper())
                if after in (". ", ".") and self.letters(j + 1):
                    self.name(j + 1)
            elif self.letters(j + 1) and after in (". ", "."):  # one letter: S. RITA, N. BERNARDINI
                if lower[i] == "s":
                    self.lock(i, "S")
                    self.name(j + 1, forced=True)
                elif lower[i] in "aeio" and self.lex.common(words[j + 1]):
                    self.lock(i, lower[i])  # PROG.A.CAVALLO
                else:
                    self.lock(i, words[i])
                    self.name(j + 1)
            elif lower[i] == "n":  # N. 11
                self.lock(i, "n")
            i = j + 1

    def words_alone(self):
        """What each word is by itself: an acronym, an ordinary word, a name the corpus capitalises."""
        lex, words, lower, seps = self.lex, self.words, self.lower, self.seps
        for i in range(self.n):
            if not self.letters(i) or self.cased[i] is not None:
                continue
            w, low = words[i], lower[i]
            if seps[i + 1] in ("'", "’") and i + 1 < self.n and low in ELIDED | {"c", "nell", "dell"}:
                self.cased[i] = low  # an elided article or preposition: DELL'AMBIENTE, C'È
            elif low == "i":  # the article, or a roman numeral (I LOTTO, I°)
                ordinal = self.word(i + 1) in ORDINAL_NOUNS or self.word(i - 1) in ORDINAL_NOUNS
                self.cased[i] = "I" if ordinal or seps[i + 1].startswith("°") else "i"
            elif w in TITLE_ACRONYMS or (len(w) > 1 and ROMAN.match(w)) or w == "V":
                self.lock(i, w)
            elif w in SIGLE and re.search(r"[(-]\s*$", seps[i]) and seps[i + 1][:1] in ("", ")"):
                self.lock(i, w)  # a province: (LE), ISOLA LIRI-FR)
            elif low in TITLE_LOWER or low in PARTICLES:
                self.cased[i] = low
            elif len(w) == 1:  # a letter: LOTTO D, ZONA B; the verb È
                self.cased[i] = low if low in "aeio" + ACCENTED else w
            elif not re.search(r"[AEIOUÀÈÉÌÒÙ]", w) and not lex.common(w):
                self.lock(i, w)  # no vowels: an acronym (DGR, PL)
            else:
                form = lex.form(w)
                if form == "upper":
                    self.cased[i] = w
                elif form == "cap" and low not in GENERIC:
                    self.cased[i] = _capital(w)
                elif form not in (None, "lower", "cap"):
                    self.cased[i] = form  # iOS, MArTA

    def place_names(self):
        """Names of comuni, provinces and regions, the longest first (SAN GIOVANNI IN FIORE), in
        ISTAT's spelling; an ordinary word that names a comune only next to another place (COSENZA
        RENDE, not URBANA TERMOLI); a name after an elided article (DELL'AQUILA)."""
        names, lex, words, lower, seps = self.caser.names, self.lex, self.words, self.lower, self.seps
        i = 0
        while i < self.n:
            for size in range(min(self.caser.longest, self.n - i), 0, -1):
                span = range(i, i + size)
                key = tuple(fold(words[k]) for k in span)
                free = all(
                    self.letters(k) and (k not in self.locked or key[0] == "s" == lower[k]) for k in span
                )
                if key not in names or not free:
                    continue
                joined = (
                    re.fullmatch(r"\. ?" if lower[k - 1] == "s" else r" |'|’|-", seps[k]) for k in span[1:]
                )
                if not all(joined):
                    continue
                if size == 1 and (lex.common(words[i]) or len(words[i]) < 3 or lower[i] in PARTICLES):
                    continue
                for k, is_lower in zip(span, names[key], strict=True):
                    if k not in self.locked:
                        self.cased[k] = lower[k] if is_lower else _capital(words[k])
                    self.places.add(k)
                i += size - 1
                break
            i += 1
        for i in range(self.n):
            if not self.letters(i) or i in self.locked or i in self.places or len(words[i]) < 3:
                continue
            key = (fold(words[i]),)
            beside = (i - 1 in self.places and seps[i] in (" ", ", ", "-")) or (
                i + 1 in self.places and seps[i + 1] in (", ", "-")
            )
            elided = seps[i] in ("'", "’") and lower[i - 1] in ("l", "dell", "all", "dall", "nell", "sull")
            if (key in names and beside) or (("l", *key) in names and elided):
                self.cased[i] = _capital(words[i])
                self.places.add(i)

    def pairs(self):
        """Two words the corpus writes as a name (PORTO CONTE, TERZO PARADISO); institutions of a
        place (REGIONE CALABRIA, UNIVERSITÀ DELLA CALABRIA)."""
        lower, words, seps = self.lower, self.words, self.seps
        for i in range(self.n - 1):
            if not (self.letters(i) and self.letters(i + 1)) or seps[i + 1] != " ":
                continue
            pair = {lower[i], lower[i + 1]}
            named = self.lex.name(words[i], words[i + 1]) and lower[i] not in STREETS  # via Roma, not Via
            if named and not pair & PARTICLES and pair - self.lex.ordinary:
                for k in (i, i + 1):
                    if k not in self.locked and (self.cased[k] is None or self.cased[k].islower()):
                        self.cased[k] = _capital(words[k])
        for i in range(self.n):
            if lower[i] in INSTITUTIONS and self.letters(i) and i not in self.locked:
                j = i + 1
                while j < self.n and lower[j] in ("di", "della", "del", "degli", "dell") and seps[j] == " ":
                    j += 1
                region = (
                    fold(" ".join(words[j : j + 3])) in REGIONS or fold(" ".join(words[j : j + 1])) in REGIONS
                )
                if j in self.places and seps[j] in (" ", "'") and (region or lower[i] != "regione"):
                    self.cased[i] = _capital(words[i])  # not CAPOLUOGO DI REGIONE CATANZARO

    def named_after(self):
        """Saints, streets, buildings and places: the word after them is a name (SAN FRANCESCO, VIA
        TRENTO, PALAZZO BELMONTE, FIUME PESCARA)."""
        lower, seps, n = self.lower, self.seps, self.n
        joining = PARTICLES - {"e", "ed", "o", "a", "per", "con", "su", "tra", "fra"}
        for i in range(n):
            if not self.letters(i):
                continue
            low, sep = lower[i], seps[i + 1]
            if low in SAINTS and low != "s" and self.letters(i + 1) and sep in (" ", "'", "’", ". "):
                if low == "ss" and sep != ". ":
                    continue  # SS 125: a road
                if i not in self.locked:
                    self.cased[i] = "SS" if low == "ss" else _capital(self.words[i])
                self.name(i + 1, forced=True)
                continue
            kinds = STREETS | BUILDINGS | NATURE
            if low not in kinds or i in self.locked or self.capitalised(i) and i in self.places:
                continue
            if not (sep == " " or (sep == ". " and low == "loc")):
                continue
            j = i + 1
            while j < n and lower[j] in joining and seps[j + 1] in (" ", "'"):
                j += 1
            if j >= n or (j > i + 1 and seps[j] not in (" ", "'")):
                continue
            if low in STREETS:
                if low == "corso" and j > i + 1:
                    continue  # CORSO DI FORMAZIONE
                named = self.name(j, forced=True)
                if named is False and j in self.locked and j + 1 < n and seps[j + 1] == " ":
                    named = self.name(j + 1, forced=True)  # PIAZZA XVIII LUGLIO
                    j += 1
            else:
                named = self.name(j)
            building = low in BUILDINGS and named and seps[i] != "-"
            if building and (j == i + 1 or lower[j] in SAINTS or j not in self.places):
                self.cased[i] = _capital(self.words[i])  # Palazzo Belmonte; but castello di Melfi
            if named:  # the name goes on: VIA CORSO VITTORIO EMANUELE, LOC. CASE SBORGIA
                k = j + 1
                while k < n and seps[k] == " " and self.letters(k) and not self.lex.common(self.words[k]):
                    self.name(k)
                    k += 1

    def repeated(self):
        """A word capitalised as a name is capitalised wherever the title repeats it (AO BROTZU ...
        OSPEDALE BROTZU)."""
        named = {
            self.lower[i]
            for i in range(self.n)
            if self.letters(i) and self.capitalised(i) and self.lower[i] not in GENERIC
        }
        for i in range(self.n):
            again = self.letters(i) and self.cased[i] is None and self.lower[i] in named
            if again and not self.lex.common(self.words[i]):
                self.cased[i] = _capital(self.words[i])

    def begins(self, i: int, values: list[str]) -> bool:
        """Whether word i begins the title, a sentence or a part of it (after " - ", "*", "_", ">", an
        opening quotation mark, a code in brackets; after a dot ending a word, not an abbreviation)."""
        sep, previous = self.seps[i], self.words[i - 1] if i else ""
        if i == 0 or re.fullmatch(r"\([^\s()]*\d[^\s()]*\)\s*", self.title[: self.spans[i][0]]):
            return True
        if re.search(r"\s[-–—/]|[-–—/]\s|[*_>]|[\"“«]$|\s'$", sep):
            return True
        if sep in ("-", "–"):  # CERIGNOLA-PROGETTO: a name, then a new part
            return values[i - 1][:1].isupper() and len(self.words[i]) >= 5 and self.lex.common(self.words[i])
        if re.fullmatch(r"\.\s+\(?", sep) or (sep == "." and len(self.words[i]) > 3):
            if previous.isdigit():
                return sep != "."
            low = previous.lower()
            full = low in self.lex.free or len(previous) >= 6
            return len(previous) > 2 and low not in ABBREVIATIONS and full
        return False


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
    """Who took part: the kind of author, without the credits (team, school, programme)."""
    author_kind = line(row["tipo_autore"]) or ""
    if author_kind.startswith("ASOC"):
        return ASOC_PARTICIPANTS
    return AUTHOR_KINDS.get(author_kind, author_kind or None)


def credits_of(row) -> str | None:
    """Who wrote the report: the team (``autore``), the school (``istituto``, with ``tipo_istituto``
    when the name does not say the kind) and the programme (A Scuola di OpenCoesione 2017-2018)."""
    author_kind = line(row["tipo_autore"]) or ""
    author = line(row["autore"])
    parts = []
    if author:
        parts.append(f"Team «{author}»" if author_kind.startswith("ASOC") else author)
    school = line(row["istituto"])
    if school:
        school_kind = line(row["tipo_istituto"])
        school = title_case(school)
        if school_kind and not SCHOOL_NAME.match(fold(school)):
            school = f"{title_case(school_kind)} {school}"
        parts.append(f"istituto: {school}")
    if author_kind.startswith("ASOC"):
        edition = author_kind[len("ASOC") :].strip()
        parts.append(
            f"A Scuola di OpenCoesione {edition}"
            if re.match(r"^\d{4}-\d{4}$", edition)
            else f"A Scuola di OpenCoesione ({author_kind})"
        )
    elif author_kind in PROGRAMMES:
        parts.append(PROGRAMMES[author_kind])
    value = "; ".join(parts)
    return value[:1].upper() + value[1:1000] if value else None


def work_state_of(row) -> tuple[str | None, bool]:
    """The state of the monitored project, and whether it comes from OpenCoesione: from the report's
    ``giudizio_sintetico``; where that is unclear ("Appena iniziato", or empty), from
    ``oc_stato_progetto``."""
    verdict = fold(row["giudizio_sintetico"] or "")
    oc_state = OC_STATES.get(fold(row["oc_stato_progetto"] or ""))
    if verdict in VERDICT_STATES:
        return VERDICT_STATES[verdict], False
    if verdict == "appena iniziato":
        return ("non_avviato", True) if oc_state == "non_avviato" else ("in_corso", False)
    return oc_state, oc_state is not None


def summary_of(row, day: date | None, work_state: str | None, from_oc: bool) -> str:
    """Both states, the monitoring's and the monitored project's, and the report's verdict."""
    parts = [
        f"Monitoraggio civico concluso: report del {day.day} {MONTHS[day.month - 1]} {day.year}."
        if day
        else "Monitoraggio civico concluso."
    ]
    if work_state:
        source = " (secondo OpenCoesione)" if from_oc else ""
        parts.append(f"Progetto monitorato: {WORK_STATES[work_state].lower()}{source}.")
    verdict = line(row["giudizio_sintetico"])
    if verdict:
        parts.append(f"Giudizio sintetico del report: {verdict}.")
    return " ".join(parts)


def point_of(row, territories: list[str], checked: bool = True) -> tuple[float | None, float | None]:
    """The report's point (``lat``, ``lon``), rounded to 6 decimals, if both are numbers inside
    Italy's bounding box and the point lies in the process's territories (its comune, its region or
    Italy), by the boundaries of the comuni shipped with the catalogue (unless not ``checked``); else
    none."""
    try:
        latitude, longitude = round(float(row["lat"]), 6), round(float(row["lon"]), 6)
    except (TypeError, ValueError):
        return None, None
    south, north, west, east = ITALY_BOX
    if not (south <= latitude <= north and west <= longitude <= east):
        return None, None
    if checked and "IT" not in territories:
        comune = places.comune_at(latitude, longitude)
        if comune is None or not {comune.code, comune.region} & set(territories):
            return None, None
    return latitude, longitude


def verbatim(value: str | None) -> str:
    """The source's text as it is, but on one line: runs of whitespace become one space, and the
    invisible control characters that stand for punctuation are written as that punctuation."""
    value = "".join(C1_PUNCTUATION.get(c, "" if "\x80" <= c <= "\x9f" else c) for c in value or "")
    return " ".join(value.split())


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


def convert(row, orgs: Organisations, slugs: set[str], titles: TitleCaser, counts: dict) -> dict:
    id_monithon = row["id_monithon"].strip()
    region = REGIONS.get(fold(row["regione_nome"] or ""))
    programme = line(row["oc_descrizione_programma"])
    region_hint = region or region_in(programme or "")

    source_title = verbatim(row["titolo"])
    title, recased, repaired = titles.title(line(row["titolo"]) or "")
    counts["recased"] += recased
    counts["repaired"] += repaired or (line(row["titolo"]) or "") != source_title
    title = short_title(title or f"Report Monithon {id_monithon}")
    slug = cut_slug(slugify(title), 80) or f"monithon-{id_monithon}"
    if slug in slugs:
        slug = f"{slug}-{id_monithon}"
    slugs.add(slug)

    beneficiaries = orgs.resolve(row["oc_beneficiario"], region_hint)
    ben_keys = {fold(b) for b in beneficiaries}
    implementers = [a for a in orgs.resolve(row["oc_attuatore"], region_hint) if fold(a) not in ben_keys]
    roles = [{"name": orgs.declare_known("monithon"), "role": "promotore"}]
    roles += [{"name": name, "role": "attuatore"} for name in implementers]

    theme, topic = THEMES.get(fold(row["oc_tema_sintetico"] or ""), (None, None))
    topics = unique([t for t in (topic, COHESION_TOPIC) if t])

    day = report_date(row)
    year = day.year if day else None
    stamp = f"{day.isoformat()}T00:00:00+00:00" if day else None

    work_state, from_oc = work_state_of(row)
    results = [t for t in (text(row["risultato_progetto"]), text(row["impact_description"])) if t]
    author = line(row["autore"]) or "Monithon"
    territories = territories_of(row, beneficiaries, orgs, programme)
    latitude, longitude = point_of(row, territories)
    counts["points"] += latitude is not None
    counts["outside"] += latitude is None and point_of(row, territories, checked=False)[0] is not None

    return {
        "slug": slug,
        "title": title,
        "kind": "monitoraggio-civico",
        "summary": summary_of(row, day, work_state, from_oc),
        "description": text(row["descrizione"]),
        "decision_holders": beneficiaries,
        "organisations": roles,
        "territories": territories,
        "district": None,
        "address": None,
        "latitude": latitude,
        "longitude": longitude,
        "theme": theme,
        "topics": topics,
        "start_year": year,
        "end_year": year,
        "ongoing": False,
        "state": "concluso",
        "work_state": work_state,
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
        "projects": [],
        "participation_level": None,
        "methods": methods(row),
        "participants_count": None,
        "participants_kind": participants(row),
        "funding": funding_of(row, beneficiaries),
        "links": links_of(row, id_monithon),
        "reporting_source": "importazione",
        "reported_by": author,
        "credits": credits_of(row),
        "quality_notes": None,
        "regional_call_notes": None,
        "source_licence": LICENCE.format(author=author),
        "source_ref": f"monithon:{id_monithon}",
        "original_title": source_title if title != source_title else None,
        "licence": "CC-BY-SA-4.0",
        "created_at": stamp,
        "updated_at": stamp,
        "published_at": stamp,
    }


def build(source: Path, istat: Path, counts: dict | None = None) -> dict:
    """The import file; ``counts`` gets how many titles were re-cased and repaired, and how many
    points were kept."""
    with source.open(encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: int(r["id_monithon"]))
    orgs = Organisations(Territories(istat))
    titles = TitleCaser(Lexicon(row[column] for row in rows for column in CORPUS_COLUMNS), istat)
    slugs: set[str] = set()
    counts = counts if counts is not None else {}
    counts.update(recased=0, repaired=0, points=0, outside=0)
    if places is None:
        print(
            "observatory/catalogue/places.py not found: points are not checked against territories",
            file=sys.stderr,
        )
    processes = [convert(row, orgs, slugs, titles, counts) for row in rows]
    return {
        "format": "osservatorio/processi",
        "version": 1,
        "organisations": orgs.declarations(),
        "processes": processes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "source",
        type=Path,
        nargs="?",
        default=SOURCE,
        help=f"the reports (default: {SOURCE.relative_to(ROOT)})",
    )
    parser.add_argument(
        "output",
        type=Path,
        nargs="?",
        default=OUTPUT,
        help=f"the JSON file to write (default: {OUTPUT.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--istat",
        type=Path,
        default=ISTAT,
        help=f"ISTAT's list of comuni (default: {ISTAT.relative_to(ROOT)})",
    )
    args = parser.parse_args(argv)
    counts: dict = {}
    data = build(args.source, args.istat, counts)
    with args.output.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    print(
        f"{len(data['processes'])} processes, {len(data['organisations'])} organisations -> {args.output}\n"
        f"titles: {counts['recased']} re-cased from capitals, {counts['repaired']} with their encoding "
        f"repaired; points: {counts['points']} kept, {counts['outside']} left out (outside the territories)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
