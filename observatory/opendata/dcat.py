"""The catalogue of the open data in DCAT-AP_IT, the profile harvesters (dati.gov.it, data.europa.eu)
read: one rdflib graph, served as Turtle, RDF/XML and JSON-LD by dcat_controllers.py.

The graph holds the catalogue, a dataset of every published process and one per region that has
any, their distributions (the downloads of /processi, with ``territorio`` for a region, and the ZIP
of the whole catalogue), and the agents, licences, rights and vocabulary concepts they point to.
Each of those objects is typed in the graph itself (a licence as dct:LicenseDocument, a theme as
skos:Concept...): a harvester needs nothing else to read it, and it passes the DCAT-AP range shapes
without the vocabularies.

Only published processes count (``services.published()``): their figures take two aggregate
queries and a look-up of region names, besides the catalogue's stamp.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Count, Max
from rdflib import RDF, RDFS, SKOS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from observatory.catalogue import services
from observatory.catalogue.standard import SCHEMA_PATH
from observatory.catalogue.tables import LICENCE_URLS, LICENCES, Process, ProcessTerritory, Territory
from observatory.opendata.bulk import ARCHIVE_PATH
from observatory.opendata.downloads import LICENCE_NOTICE
from observatory.opendata.freshness import aggregate_moment, catalogue_stamp
from observatory.settings import Settings

DCATAPIT = Namespace("http://dati.gov.it/onto/dcatapit#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
#: The prefixes the serialisations use.
PREFIXES = {
    "dcatapit": DCATAPIT,
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "vcard": VCARD,
    "skos": SKOS,
    "locn": LOCN,
    "rdfs": RDFS,
    "xsd": XSD,
}
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
IANA_MEDIA_TYPES = "http://www.iana.org/assignments/media-types/"
LICENCE_TYPES = "http://purl.org/adms/licencetype/"
#: Where the catalogue's own resources are named: a region's dataset is CATALOGUE_PATH#osservatorio-R01.
CATALOGUE_PATH = "/dati/catalogo"
#: The serialisations served, by extension: rdflib's name for the format and the media type.
SERIALISATIONS = {
    "ttl": ("turtle", "text/turtle"),
    "rdf": ("pretty-xml", "application/rdf+xml"),
    "jsonld": ("json-ld", "application/ld+json"),
}
#: The licence of the datasets; records with another one say so (LICENCE_NOTICE).
DATASET_LICENCE = "CC-BY-4.0"
#: The ADMS licence types of each licence: what it asks of whoever reuses the data.
LICENCE_KINDS = {"CC-BY-4.0": ("Attribution",), "CC-BY-SA-4.0": ("Attribution", "ShareAlike")}
_LICENCE_KIND_LABELS = {"Attribution": "Attribuzione", "ShareAlike": "Condivisione allo stesso modo"}
CATALOGUE_TITLE = "Dati aperti dell'Osservatorio dei processi partecipativi"
CATALOGUE_DESCRIPTION = (
    "Il catalogo dei dati aperti dell'Osservatorio: i processi partecipativi e di amministrazione condivisa "
    "pubblicati, tutti insieme e regione per regione, in CSV, Excel, JSON e in un archivio ZIP completo."
)
KEYWORDS = ("partecipazione", "processi partecipativi", "amministrazione condivisa", "beni comuni")
#: Dates are Italian days: a change at 00:30 in Rome belongs to that day, not to the one before in UTC.
ITALIAN_TIME = ZoneInfo("Europe/Rome")


@dataclass(frozen=True)
class Distribution:
    """One download of a dataset."""

    key: str  #: the end of its name in the graph ("csv": #osservatorio-csv)
    path: str  #: its address on the instance
    file_type: str  #: its code in the EU file-type vocabulary
    media_type: str | None  #: its IANA media type; None when it has no registered one
    title: str
    records: bool = False  #: made of records of the data standard (SCHEMA_PATH)


#: The downloads of the whole catalogue.
DISTRIBUTIONS = (
    Distribution("csv", "/processi.csv", "CSV", "text/csv", "Tabella dei processi (CSV)"),
    Distribution(
        "xlsx",
        "/processi.xlsx",
        "XLSX",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Tabella dei processi con il codebook (Excel)",
    ),
    Distribution("json", "/processi.json", "JSON", "application/json", "Record dei processi (JSON)", True),
    Distribution(
        "jsonl", "/processi.jsonl", "JSON", None, "Record dei processi, uno per riga (JSON Lines)", True
    ),
    Distribution(
        "zip",
        ARCHIVE_PATH,
        "ZIP",
        "application/zip",
        "Archivio completo: CSV, JSON, codebook e descrittore Data Package (ZIP)",
    ),
)
#: The downloads of a region's dataset, as a search of /processi by territory.
REGION_DISTRIBUTIONS = tuple(d for d in DISTRIBUTIONS if d.key in ("csv", "json"))


@dataclass(frozen=True)
class RegionFigures:
    """A region with published processes in it or anywhere inside it."""

    code: str
    name: str
    processes: int
    modified: datetime.date


@dataclass(frozen=True)
class CatalogueFigures:
    """What the catalogue says of the published processes."""

    processes: int
    #: The licences of the published records (SPDX identifiers).
    licences: frozenset[str]
    modified: datetime.date
    regions: tuple[RegionFigures, ...]


def _day(moment: datetime.datetime | str) -> datetime.date:
    return aggregate_moment(moment).astimezone(ITALIAN_TIME).date()


async def catalogue_figures() -> CatalogueFigures:
    """The published processes counted by licence and by region, with the last change of each."""
    by_licence = (
        await Process.select(Process.licence, Count(alias="n"))
        .where(services.published())
        .group_by(Process.licence)
    )
    published_ids = Process.select(Process.id).where(services.published())
    region = ProcessTerritory.territory.region_code
    by_region = (
        await ProcessTerritory.select(
            region.as_alias("code"),
            Count(distinct=[ProcessTerritory.process], alias="n"),
            Max(ProcessTerritory.process.updated_at, alias="at"),
        )
        .where(ProcessTerritory.process.is_in(published_ids), region.is_not_null())
        .group_by(region)
    )
    codes = [row["code"] for row in by_region]
    names = {
        row["code"]: row["name"]
        for row in (
            await Territory.select(Territory.code, Territory.name).where(Territory.code.is_in(codes))
            if codes
            else []
        )
    }
    regions = sorted(
        (RegionFigures(row["code"], names[row["code"]], row["n"], _day(row["at"])) for row in by_region),
        key=lambda figures: figures.code,
    )
    return CatalogueFigures(
        processes=sum(row["n"] for row in by_licence),
        licences=frozenset(row["licence"] for row in by_licence),
        modified=_day((await catalogue_stamp()).modified),
        regions=tuple(regions),
    )


def _count(processes: int) -> str:
    """How many processes, in words: 1 processo, 1.234 processi."""
    return "1 processo" if processes == 1 else f"{processes:,} processi".replace(",", ".")


def _italian(text: str) -> Literal:
    return Literal(text, lang="it")


def licence_document(key: str) -> URIRef:
    """The address of a licence itself (LICENCE_URLS gives its Italian deed)."""
    return URIRef(LICENCE_URLS[key].removesuffix("deed.it"))


class _CatalogueGraph:
    """The graph of one instance's catalogue, built a resource at a time."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.graph = Graph(bind_namespaces="core")
        for prefix, namespace in PREFIXES.items():
            self.graph.bind(prefix, namespace)

    def add(self, subject: URIRef, *pairs: tuple[URIRef, URIRef | Literal]) -> URIRef:
        """``subject`` with each (predicate, object) of ``pairs``."""
        for predicate, value in pairs:
            self.graph.add((subject, predicate, value))
        return subject

    def own(self, name: str) -> URIRef:
        """A resource the catalogue itself defines: CATALOGUE_PATH#name."""
        return URIRef(f"{self.settings.base_url}{CATALOGUE_PATH}#{name}")

    def page(self, path: str) -> URIRef:
        """A page of the instance, typed as the document it is."""
        return self.add(URIRef(self.settings.base_url + path), (RDF.type, FOAF.Document))

    def concept(self, vocabulary: str, code: str, kind: URIRef, label: str) -> URIRef:
        """A concept of an EU vocabulary ("data-theme", "GOVE"), typed as ``kind`` and as skos:Concept."""
        return self.add(
            URIRef(f"{EU_AUTHORITY}{vocabulary}/{code}"),
            (RDF.type, kind),
            (RDF.type, SKOS.Concept),
            (SKOS.prefLabel, _italian(label)),
            (SKOS.inScheme, URIRef(EU_AUTHORITY + vocabulary)),
        )

    def publisher(self) -> URIRef:
        """The body that publishes the catalogue and holds the rights on it."""
        return self.add(
            self.own("ente"),
            (RDF.type, DCATAPIT.Agent),
            (RDF.type, FOAF.Agent),
            (FOAF.name, Literal(self.settings.publisher_name)),
            (DCTERMS.identifier, Literal(self.settings.publisher_ipa)),
        )

    def contact_point(self) -> URIRef:
        """Where to write about the datasets."""
        return self.add(
            self.own("contatti"),
            (RDF.type, DCATAPIT.Organization),
            (RDF.type, VCARD.Organization),
            (RDF.type, VCARD.Kind),
            (VCARD.fn, Literal(self.settings.publisher_name)),
            (VCARD.hasEmail, URIRef(f"mailto:{self.settings.publisher_email}")),
        )

    def licence(self, key: str) -> URIRef:
        """A licence document with its name and its ADMS licence types."""
        document = self.add(
            licence_document(key),
            (RDF.type, DCATAPIT.LicenseDocument),
            (RDF.type, DCTERMS.LicenseDocument),
            (FOAF.name, _italian(LICENCES[key])),
        )
        for kind in LICENCE_KINDS[key]:
            self.graph.add((document, DCTERMS.type, URIRef(LICENCE_TYPES + kind)))
            self.add(
                URIRef(LICENCE_TYPES + kind),
                (RDF.type, SKOS.Concept),
                (SKOS.prefLabel, _italian(_LICENCE_KIND_LABELS[kind])),
                (SKOS.inScheme, URIRef(LICENCE_TYPES + "1.0")),
            )
        return document

    def rights(self, licences: frozenset[str]) -> URIRef:
        """The statement that every record has a licence of its own, pointing to the licences in use."""
        statement = self.add(
            self.own("licenze"), (RDF.type, DCTERMS.RightsStatement), (RDFS.label, _italian(LICENCE_NOTICE))
        )
        for key in LICENCES:
            if key == DATASET_LICENCE or key in licences:
                self.graph.add((statement, RDFS.seeAlso, self.licence(key)))
        return statement

    def distribution(
        self, name: str, download: Distribution, rights: URIRef, region: RegionFigures | None = None
    ) -> URIRef:
        """A download of the whole catalogue, or of the search of a region's processes."""
        address, title = f"{self.settings.base_url}{download.path}", download.title
        if region:
            address, title = f"{address}?territorio={region.code}", f"{region.name} – {title}"
        file_type = self.concept(
            "file-type", download.file_type, DCTERMS.MediaTypeOrExtent, download.file_type
        )
        distribution = self.add(
            self.own(name),
            (RDF.type, DCATAPIT.Distribution),
            (RDF.type, DCAT.Distribution),
            (DCTERMS.title, _italian(title)),
            (DCTERMS.format, file_type),
            (DCAT.accessURL, URIRef(address)),
            (DCAT.downloadURL, URIRef(address)),
            (DCTERMS.license, licence_document(DATASET_LICENCE)),
            (DCTERMS.rights, rights),
        )
        if download.media_type:
            media_type = URIRef(IANA_MEDIA_TYPES + download.media_type)
            self.add(distribution, (DCAT.mediaType, self.add(media_type, (RDF.type, DCTERMS.MediaType))))
        if download.records:
            standard = self.add(
                URIRef(self.settings.base_url + SCHEMA_PATH),
                (RDF.type, DCTERMS.Standard),
                (DCTERMS.title, _italian("Standard dei dati dei processi partecipativi, versione 1")),
            )
            self.add(distribution, (DCTERMS.conformsTo, standard))
        return distribution

    def dataset(self, name: str, title: str, description: str, modified: datetime.date, *pairs) -> URIRef:
        """A dataset with the properties every dataset of the catalogue has, and ``pairs``."""
        publisher = self.own("ente")
        return self.add(
            self.own(name),
            (RDF.type, DCATAPIT.Dataset),
            (RDF.type, DCAT.Dataset),
            (DCTERMS.identifier, Literal(f"{self.settings.publisher_ipa}:{name}")),
            (DCTERMS.title, _italian(title)),
            (
                DCTERMS.description,
                _italian(f"{description} Ogni record indica la sua licenza e la sua attribuzione."),
            ),
            (DCTERMS.modified, Literal(modified, datatype=XSD.date)),
            (DCAT.theme, self.concept("data-theme", "GOVE", SKOS.Concept, "Governo e settore pubblico")),
            (DCTERMS.accrualPeriodicity, self.concept("frequency", "IRREG", DCTERMS.Frequency, "irregolare")),
            (DCTERMS.language, self.concept("language", "ITA", DCTERMS.LinguisticSystem, "italiano")),
            (DCTERMS.publisher, publisher),
            (DCTERMS.rightsHolder, publisher),
            (DCAT.contactPoint, self.own("contatti")),
            *((DCAT.keyword, _italian(keyword)) for keyword in KEYWORDS),
            *pairs,
        )

    def whole_dataset(self, figures: CatalogueFigures, rights: URIRef) -> URIRef:
        """Every published process."""
        return self.dataset(
            "osservatorio",
            "Processi partecipativi e di amministrazione condivisa",
            f"Tutti i processi partecipativi e di amministrazione condivisa pubblicati nell'Osservatorio "
            f"({_count(figures.processes)}), con le loro fasi, i progetti, gli enti, i territori e i "
            "finanziamenti.",
            figures.modified,
            (DCAT.landingPage, self.page("/dati")),
            *(
                (DCAT.distribution, self.distribution(f"osservatorio-{download.key}", download, rights))
                for download in DISTRIBUTIONS
            ),
        )

    def region_dataset(self, region: RegionFigures, rights: URIRef) -> URIRef:
        """The published processes in a region or inside it, as /processi?territorio=R01 finds them."""
        name = f"osservatorio-{region.code}"
        place = self.add(
            self.own(region.code),
            (RDF.type, DCTERMS.Location),
            (LOCN.geographicalName, _italian(region.name)),
        )
        return self.dataset(
            name,
            f"Processi partecipativi e di amministrazione condivisa: {region.name}",
            f"I processi partecipativi e di amministrazione condivisa pubblicati nell'Osservatorio che "
            f"riguardano la regione {region.name} o un suo territorio ({_count(region.processes)}).",
            region.modified,
            (DCTERMS.spatial, place),
            (DCAT.keyword, _italian(region.name)),
            (DCAT.landingPage, self.page(f"/territori/{region.code}")),
            *(
                (DCAT.distribution, self.distribution(f"{name}-{download.key}", download, rights, region))
                for download in REGION_DISTRIBUTIONS
            ),
        )

    def catalogue(self, figures: CatalogueFigures) -> Graph:
        """The whole graph: the catalogue, its datasets and what they point to."""
        self.publisher()
        self.contact_point()
        rights = self.rights(figures.licences)
        datasets = [self.whole_dataset(figures, rights)]
        datasets += [self.region_dataset(region, rights) for region in figures.regions]
        themes = self.add(
            URIRef(EU_AUTHORITY + "data-theme"),
            (RDF.type, SKOS.ConceptScheme),
            (DCTERMS.title, _italian("Temi dei dati (Unione europea)")),
        )
        self.add(
            URIRef(self.settings.base_url + CATALOGUE_PATH),
            (RDF.type, DCATAPIT.Catalog),
            (RDF.type, DCAT.Catalog),
            (DCTERMS.title, _italian(CATALOGUE_TITLE)),
            (DCTERMS.description, _italian(CATALOGUE_DESCRIPTION)),
            (DCTERMS.publisher, self.own("ente")),
            (DCTERMS.modified, Literal(figures.modified, datatype=XSD.date)),
            (DCTERMS.language, self.concept("language", "ITA", DCTERMS.LinguisticSystem, "italiano")),
            (DCAT.themeTaxonomy, themes),
            (FOAF.homepage, self.page("/")),
            (DCTERMS.rights, rights),
            *((DCAT.dataset, dataset) for dataset in datasets),
        )
        return self.graph


def catalogue_graph(settings: Settings, figures: CatalogueFigures) -> Graph:
    """The DCAT-AP_IT graph of the instance of ``settings``, its processes described by ``figures``."""
    return _CatalogueGraph(settings).catalogue(figures)


def serialised(graph: Graph, extension: str) -> bytes:
    """``graph`` in the serialisation of SERIALISATIONS[extension], in UTF-8."""
    rdflib_format = SERIALISATIONS[extension][0]
    if rdflib_format == "json-ld":  # compacted with the graph's prefixes, so it reads as JSON
        context = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
        return graph.serialize(format="json-ld", context=context, auto_compact=True, encoding="utf-8")
    return graph.serialize(format=rdflib_format, encoding="utf-8")
