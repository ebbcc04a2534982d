"""Where the catalogue's records and reference data come from, under which licence, credited how.

Declared once here for the open-data and legal pages; each record also carries its own attribution
(``source_licence``) and licence (``licence``), written by the import that brought it in. A record's
source is the part of its ``source_ref`` before the colon ("monithon:757" → "monithon"); records
without one were written by the editorial office.
"""

from __future__ import annotations

from dataclasses import dataclass

from observatory.catalogue import services
from observatory.catalogue.tables import LICENCE_URLS, LICENCES, Process
from observatory.i18n import gettext


@dataclass(frozen=True)
class Source:
    """A source of records or of reference data."""

    key: str  #: the prefix of ``source_ref`` of its records; "" for the editorial office's own
    name: str  #: who publishes it
    content: str  #: what it gives the catalogue
    licence: str  #: SPDX identifier, a key of tables.LICENCES
    attribution: str  #: the credit its licence asks for
    url: str  #: where it is published

    @property
    def licence_label(self) -> str:
        return gettext(LICENCES[self.licence])

    @property
    def licence_url(self) -> str:
        return LICENCE_URLS[self.licence]


CC_BY, CC_BY_SA = "CC-BY-4.0", "CC-BY-SA-4.0"
#: The sources of process records, the editorial office first.
RECORD_SOURCES = (
    Source(
        "",
        "Redazione dell'Osservatorio",
        "Schede scritte dalla redazione da documenti pubblici, e le segnalazioni approvate",
        CC_BY,
        "Redazione dell'Osservatorio",
        "",
    ),
    Source(
        "bologna-bp",
        "Comune di Bologna – Open Data",
        "Bilancio partecipativo di Bologna, tutte le edizioni (2017–2023), con i progetti e i loro luoghi",
        CC_BY,
        "Comune di Bologna – Open Data, dataset «Bilancio partecipativo», CC BY 4.0",
        "https://opendata.comune.bologna.it/explore/dataset/bilancio-partecipativo/",
    ),
    Source(
        "palermo-patti",
        "Comune di Palermo, rielaborazione gbvitrano / PalermoHub",
        "Proposte e patti di collaborazione del Comune di Palermo",
        CC_BY,
        "Patti di collaborazione – Comune di Palermo, rielaborazione gbvitrano / PalermoHub, CC BY 4.0",
        "https://palermohub.github.io/Dashboard-Monitoraggio/",
    ),
    Source(
        "trento-patti",
        "Comune di Trento",
        "Patti di collaborazione del Comune di Trento",
        CC_BY,
        "Comune di Trento, Patti di collaborazione e adesioni, CC BY 4.0",
        "https://www.comune.trento.it/Aree-tematiche/Beni-comuni/Patti-di-collaborazione-e-adesioni",
    ),
    Source(
        "monithon",
        "Monithon",
        "Report di monitoraggio civico (2013–2019), con i dati di progetto di OpenCoesione",
        CC_BY_SA,
        "Monithon (monithon.eu) e gli autori dei report, CC BY-SA 4.0; "
        "dati di progetto OpenCoesione (CC BY-SA)",
        "https://www.monithon.eu",
    ),
)
#: The reference data: territories and their boundaries.
REFERENCE_SOURCES = (
    Source(
        "istat",
        "ISTAT",
        "Elenco dei comuni italiani (dicembre 2024): regioni, unità sovracomunali, comuni e codici",
        CC_BY,
        "ISTAT, Elenco dei comuni italiani, CC BY 4.0",
        "https://www.istat.it/it/archivio/6789",
    ),
    Source(
        "confini",
        "Openpolis",
        "Confini dei comuni (ISTAT, giugno 2023, semplificati): dove cade un punto",
        CC_BY,
        "Openpolis, geojson-italy, da confini ISTAT, CC BY 4.0",
        "https://github.com/openpolis/geojson-italy",
    ),
)


async def published_by_source() -> list[tuple[Source, int]]:
    """Each source of records with how many published processes come from it."""
    refs = await Process.select(Process.source_ref).where(services.published()).output(as_list=True)
    counts: dict[str, int] = {}
    for ref in refs:
        key = ref.partition(":")[0] if ref else ""
        counts[key] = counts.get(key, 0) + 1
    return [(source, counts.get(source.key, 0)) for source in RECORD_SOURCES]
