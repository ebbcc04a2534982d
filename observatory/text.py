"""Text helpers shared by every part: cleaning what people type, folding names for matching,
slugs, and the Italian way of writing amounts, dates and years (also Jinja filters)."""

from __future__ import annotations

import datetime
import re
import unicodedata
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date

from observatory.i18n import ITALIAN, current_language, gettext

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "‛": "'"})
_NON_WORD = re.compile(r"[^0-9a-z]+")
MONTHS = (
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
)
#: The Babel locale that writes dates in each interface language other than Italian.
_LOCALES = {"en": "en_GB"}
#: The time readers see: Italian local time, whatever the server's zone.
ITALIAN_TIME = ZoneInfo("Europe/Rome")


#: Control characters but tab, line feed and carriage return: never part of a text anyone types,
#: and PostgreSQL cannot store NUL at all.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Characters that show nothing but change how the text around them reads: bidirectional
#: overrides, embeddings, isolates and marks, zero-width spaces and joiners, the byte order mark.
INVISIBLE_CHARACTERS = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character (other than tab and line breaks)."""
    return CONTROL_CHARACTERS.search(text) is not None


#: What a terminal would act on instead of showing: control characters (carriage return too).
_TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` safe for a terminal: control and invisible characters written as escapes (\\x1b)."""
    return INVISIBLE_CHARACTERS.sub(_escaped, _TERMINAL_CONTROLS.sub(_escaped, text))


def _escaped(match: re.Match) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def fold(text: str) -> str:
    """Lowercase, accent-free, punctuation-free form of ``text`` ("Città di Torino" → "citta di torino")."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text).strip()


def slugify(text: str, max_length: int = 80) -> str:
    """URL slug of ``text``: ASCII, lowercase, words joined by hyphens, at most ``max_length``."""
    slug = fold(text).replace(" ", "-")[:max_length].strip("-")
    return slug or "voce"


def clean(text: str | None) -> str | None:
    """``text`` in Unicode NFC without invisible characters, trimmed, runs of blanks inside lines
    collapsed; None when nothing is left. Control characters are the caller's to refuse."""
    if text is None:
        return None
    text = INVISIBLE_CHARACTERS.sub("", unicodedata.normalize("NFC", str(text)))
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    joined = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return joined or None


def italian_amount(value: Decimal | int | float | str) -> str:
    """An amount with Italian separators and two decimals: 1.580.579,61."""
    whole, _, cents = f"{Decimal(value):,.2f}".partition(".")
    return f"{whole.replace(',', '.')},{cents}"


def euro(value: Decimal | None) -> str:
    """An amount in euro, the Italian way: € 1.580.579,61 (empty when unknown)."""
    return "" if value is None else f"€ {italian_amount(value)}"


def whole(number: float) -> str:
    """A whole number the Italian way: 12.345."""
    return f"{round(number):,}".replace(",", ".")


def euro_short(amount: float) -> str:
    """An amount in euro, shortened: € 12,3 mln, € 1,2 mld, € 950.000."""
    for size, word in ((1e9, "mld"), (1e6, "mln")):
        if amount >= size:
            return f"€ {amount / size:.1f} {word}".replace(".", ",")
    return f"€ {whole(amount)}"


def italian_date(value: datetime.date | datetime.datetime | None) -> str:
    """A date in words: 18 aprile 2020."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def italian_datetime(value: datetime.datetime | None) -> str:
    """A moment in Italian local time, in words: 3 dicembre 2026 alle 14:05."""
    if value is None:
        return ""
    local = value.astimezone(ITALIAN_TIME)
    return f"{italian_date(local)} alle {local:%H:%M}"


def date_in_words(value: datetime.date | datetime.datetime | None) -> str:
    """A date in words in the current language: 18 aprile 2020, 18 April 2020."""
    if value is None:
        return ""
    language = current_language()
    return (
        italian_date(value) if language == ITALIAN else format_date(value, "long", locale=_LOCALES[language])
    )


def datetime_in_words(value: datetime.datetime | None) -> str:
    """A moment in Italian local time, in words in the current language: 3 dicembre 2026 alle
    14:05, 3 December 2026 at 14:05."""
    if value is None:
        return ""
    local = value.astimezone(ITALIAN_TIME)
    return gettext("%(date)s alle %(time)s") % {"date": date_in_words(local), "time": f"{local:%H:%M}"}


def years(process: dict) -> str:
    """The years of a process: "2017", "2015–2019", "dal 2013, in corso", or an empty string."""
    start, end = process.get("start_year"), process.get("end_year")
    if process.get("ongoing"):
        return gettext("dal %(year)s, in corso") % {"year": start} if start else gettext("in corso")
    if start and end and end != start:
        return f"{start}–{end}"
    return str(start or end or "")
