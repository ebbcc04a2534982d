"""Reference data the catalogue needs before any process: ISTAT territories and vocabularies."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from observatory.catalogue.fields import VOCABULARIES
from observatory.catalogue.tables import Term, Territory
from observatory.database import write_transaction
from observatory.i18n import set_term_labels
from observatory.settings import DATA_DIR
from observatory.text import fold

logger = logging.getLogger("observatory")
ISTAT_FILE = DATA_DIR / "territori" / "istat_elenco_comuni_italiani_2024-12.csv"
VOCABULARY_FILE = DATA_DIR / "vocabolari.json"

# ISTAT "Tipologia di Unità territoriale sovracomunale" → how the unit is called.
_SUPRA_MUNICIPAL_NAMES = {
    "1": "Provincia di {}",
    "2": "Provincia autonoma di {}",
    "3": "Città metropolitana di {}",
    "4": "Libero consorzio comunale di {}",
    "5": "Ente di decentramento regionale di {}",
}
_BATCH = 500


@dataclass(frozen=True)
class TerritoryCounts:
    regions: int
    provinces: int
    comuni: int

    @property
    def total(self) -> int:
        return 1 + self.regions + self.provinces + self.comuni


def _unit(code: str, name: str, level: str, parent: str | None, **codes: str | None) -> Territory:
    return Territory(code=code, name=name, name_key=fold(name), level=level, parent=parent, **codes)


def read_istat_file(path: Path = ISTAT_FILE) -> list[Territory]:
    """Territories of the ISTAT list: Italia, its regions, provinces and comuni, parents first."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    units: dict[str, Territory] = {"IT": _unit("IT", "Italia", "paese", None)}
    comuni: list[Territory] = []
    for row in rows:
        region = "R" + row["Codice Regione"]
        province = "P" + row["Codice dell'Unità territoriale sovracomunale (valida a fini statistici)"]
        pattern = _SUPRA_MUNICIPAL_NAMES[row["Tipologia di Unità territoriale sovracomunale"]]
        province_name = pattern.format(
            row["Denominazione dell'Unità territoriale sovracomunale (valida a fini statistici)"]
        )
        plate = row["Sigla automobilistica"] or None
        if region not in units:
            units[region] = _unit(region, row["Denominazione Regione"], "regione", "IT", region_code=region)
        if province not in units:
            units[province] = _unit(
                province,
                province_name,
                "provincia",
                region,
                region_code=region,
                province_code=province,
                plate=plate,
            )
        code, name = "C" + row["Codice Comune formato alfanumerico"], row["Denominazione in italiano"]
        comuni.append(
            _unit(code, name, "comune", province, region_code=region, province_code=province, plate=plate)
        )
    regions = [unit for unit in units.values() if unit.level == "regione"]
    provinces = [unit for unit in units.values() if unit.level == "provincia"]
    return [units["IT"], *regions, *provinces, *comuni]


async def load_territories(path: Path = ISTAT_FILE) -> TerritoryCounts:
    """Insert the ISTAT territories that are missing; existing ones are kept as they are."""
    territories = read_istat_file(path)
    existing = set(await Territory.select(Territory.code).output(as_list=True))
    missing = [t for t in territories if t.code not in existing]
    async with write_transaction():
        for start in range(0, len(missing), _BATCH):
            await Territory.insert(*missing[start : start + _BATCH])
    by_level: dict[str, int] = {}
    for territory in territories:
        by_level[territory.level] = by_level.get(territory.level, 0) + 1
    return TerritoryCounts(
        regions=by_level.get("regione", 0),
        provinces=by_level.get("provincia", 0),
        comuni=by_level.get("comune", 0),
    )


async def load_vocabularies(path: Path = VOCABULARY_FILE) -> int:
    """Insert the shipped vocabulary terms that are missing and give the English label to those that
    have none (a database from before English labels); return how many terms were added."""
    data = json.loads(path.read_text(encoding="utf-8"))
    unknown = set(data) - set(VOCABULARIES)
    if unknown:
        raise ValueError(f"{path}: unknown vocabularies {sorted(unknown)}")
    existing = {
        (row["vocabulary"], row["slug"]): row
        for row in await Term.select(Term.id, Term.vocabulary, Term.slug, Term.label_en)
    }
    new_terms = [
        Term(vocabulary=vocabulary, slug=slug, label=label, label_en=label_en, position=position)
        for vocabulary, entries in data.items()
        for position, (slug, label, label_en) in enumerate(entries)
        if (vocabulary, slug) not in existing
    ]
    unlabelled = [
        (existing[vocabulary, slug]["id"], label_en)
        for vocabulary, entries in data.items()
        for slug, _, label_en in entries
        if (vocabulary, slug) in existing and existing[vocabulary, slug]["label_en"] is None
    ]
    if new_terms or unlabelled:
        async with write_transaction():
            if new_terms:
                await Term.insert(*new_terms)
            for term_id, label_en in unlabelled:
                await Term.update({Term.label_en: label_en}).where(Term.id == term_id)
    await load_english_labels()
    return len(new_terms)


async def load_english_labels() -> None:
    """Hand the English label of every term to the English pages (after any change of a label)."""
    rows = await Term.select(Term.label, Term.label_en).where(Term.label_en.is_not_null())
    set_term_labels({row["label"]: row["label_en"] for row in rows})


async def keep_english_labels_current(every: float) -> None:
    """Background task: read the English labels again every ``every`` seconds, so that a label an
    editor changed through another instance reaches this one's English pages."""
    while True:
        await asyncio.sleep(every)
        try:
            await load_english_labels()
        except Exception:  # the next round retries; pages go on with the labels they have
            logger.exception("The English labels could not be read from the database; the next round retries")
