"""The DCAT-AP_IT catalogue for harvesters: one graph in Turtle, RDF/XML and JSON-LD, valid against
the SEMIC DCAT-AP 2.1.1 shapes, describing the published processes and nothing else."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import make_settings
from helpers import database_count, form_token, login_as, process_row, run_in_app
from litestar.testing import AsyncTestClient
from pyshacl import validate
from rdflib import RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, SH

from observatory.app import create_app
from observatory.settings import Settings

pytestmark = pytest.mark.anyio

# plain namespaces: pytest's look at module globals makes rdflib's closed DCAT and XSD warn
DCAT = Namespace("http://www.w3.org/ns/dcat#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
DCATAPIT = Namespace("http://dati.gov.it/onto/dcatapit#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
CC_BY = URIRef("https://creativecommons.org/licenses/by/4.0/")
CC_BY_SA = URIRef("https://creativecommons.org/licenses/by-sa/4.0/")
#: The SEMIC shapes: cardinalities and literal ranges, and the classes of object values.
SHAPES = [
    Path(__file__).parent / "data" / "dcat-ap" / f"dcat-ap_2.1.1_shacl_{part}.ttl"
    for part in ("shapes", "range")
]
#: Each serialisation: its address, its media type and rdflib's name for it.
SERIALISATIONS = {
    "/dati/catalogo.ttl": ("text/turtle", "turtle"),
    "/dati/catalogo.rdf": ("application/rdf+xml", "xml"),
    "/dati/catalogo.jsonld": ("application/ld+json", "json-ld"),
}
REGIONS = [f"R{number:02d}" for number in range(1, 21)]
#: An instance run by a comune, with an address of its own.
BASE_URL = "https://partecipa.comune.esempio.it"
PUBLISHER = {
    "publisher_name": "Comune di Esempio",
    "publisher_ipa": "c_x000",
    "publisher_email": "partecipazione@comune.esempio.it",
}


@pytest.fixture
async def publisher_client(demo_db_url, tmp_path):
    """The demo catalogue on an instance whose publisher and address are set."""
    settings = dataclasses.replace(make_settings(demo_db_url, tmp_path), base_url=BASE_URL, **PUBLISHER)
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def catalogue(client, path: str = "/dati/catalogo.ttl") -> Graph:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    media_type, rdflib_format = SERIALISATIONS[path]
    assert response.headers["content-type"].split(";")[0] == media_type
    return Graph().parse(data=response.content, format=rdflib_format)


def the(graph: Graph, subject, predicate):
    """The one value of ``predicate`` on ``subject``."""
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, (subject, predicate, values)
    return values[0]


def datasets(graph: Graph) -> dict[str, URIRef]:
    """The datasets by identifier."""
    return {
        str(the(graph, dataset, DCTERMS.identifier)): dataset
        for dataset in graph.subjects(RDF.type, DCAT.Dataset)
    }


def region_counts(graph: Graph) -> dict[str, int]:
    """How many processes each region's dataset says it holds, by region code."""
    counts = {}
    for identifier, dataset in datasets(graph).items():
        if code := re.search(r"-(R\d\d)$", identifier):
            description = str(the(graph, dataset, DCTERMS.description))
            counts[code[1]] = int(re.search(r"\((\d+) process[oi]\)", description)[1])
    return counts


def whole_count(graph: Graph) -> int:
    description = str(the(graph, datasets(graph)["osservatorio:osservatorio"], DCTERMS.description))
    return int(re.search(r"\(([\d.]+) process[oi]\)", description)[1].replace(".", ""))


def violations(graph: Graph) -> str:
    """What the DCAT-AP shapes find wrong with ``graph`` ("" when it conforms)."""
    shapes = Graph()
    for path in SHAPES:
        shapes.parse(path, format="turtle")
    conforms, results, text = validate(graph, shacl_graph=shapes, inference="none")
    found = list(results.subjects(SH.resultSeverity, SH.Violation))
    return "" if conforms and not found else text


async def test_the_three_serialisations_hold_the_same_graph(reader):
    graphs = [await catalogue(reader, path) for path in SERIALISATIONS]
    assert len(graphs[0]) > 200
    for graph in graphs[1:]:
        assert len(graph) == len(graphs[0])
        assert isomorphic(graph, graphs[0])


@pytest.mark.parametrize(
    ("accept", "target"),
    [
        ("text/turtle", "/dati/catalogo.ttl"),
        ("application/ld+json", "/dati/catalogo.jsonld"),
        ("application/rdf+xml;q=0.9, text/turtle;q=0.5", "/dati/catalogo.rdf"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "/dati"),
    ],
)
async def test_the_catalogue_name_leads_to_the_serialisation_asked_for(reader, accept, target):
    response = await reader.get("/dati/catalogo", headers={"Accept": accept}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, target)


async def test_catalogue_and_datasets_name_the_publisher_of_the_instance(publisher_client):
    graph = await catalogue(publisher_client)
    (catalog,) = graph.subjects(RDF.type, DCATAPIT.Catalog)
    assert (catalog, RDF.type, DCAT.Catalog) in graph
    assert catalog == URIRef(f"{BASE_URL}/dati/catalogo")
    for predicate in (DCTERMS.title, DCTERMS.description):
        assert the(graph, catalog, predicate).language == "it"
    assert the(graph, catalog, DCTERMS.modified).datatype == XSD.date
    assert the(graph, catalog, DCAT.themeTaxonomy) == URIRef(EU + "data-theme")
    assert the(graph, catalog, DCTERMS.language) == URIRef(EU + "language/ITA")
    assert the(graph, catalog, FOAF.homepage) == URIRef(BASE_URL + "/")
    publisher = the(graph, catalog, DCTERMS.publisher)
    assert {DCATAPIT.Agent, FOAF.Agent} <= set(graph.objects(publisher, RDF.type))
    assert the(graph, publisher, FOAF.name) == Literal("Comune di Esempio")
    assert the(graph, publisher, DCTERMS.identifier) == Literal("c_x000")

    found = datasets(graph)
    assert set(graph.objects(catalog, DCAT.dataset)) == set(found.values())
    assert all(identifier.startswith("c_x000:osservatorio") for identifier in found)
    for dataset in found.values():
        assert (dataset, RDF.type, DCATAPIT.Dataset) in graph
        assert (
            the(graph, dataset, DCTERMS.publisher) == the(graph, dataset, DCTERMS.rightsHolder) == publisher
        )
        assert the(graph, dataset, DCAT.theme) == URIRef(EU + "data-theme/GOVE")
        assert the(graph, dataset, DCTERMS.accrualPeriodicity) == URIRef(EU + "frequency/IRREG")
        assert the(graph, dataset, DCTERMS.modified).datatype == XSD.date
        assert Literal("amministrazione condivisa", lang="it") in set(graph.objects(dataset, DCAT.keyword))
        assert str(the(graph, dataset, DCAT.landingPage)).startswith(BASE_URL + "/")
        contact = the(graph, dataset, DCAT.contactPoint)
        assert {VCARD.Organization, DCATAPIT.Organization} <= set(graph.objects(contact, RDF.type))
        assert the(graph, contact, VCARD.hasEmail) == URIRef("mailto:partecipazione@comune.esempio.it")
        assert the(graph, contact, VCARD.fn) == Literal("Comune di Esempio")


async def test_the_whole_catalogue_is_offered_in_every_download_under_cc_by(publisher_client):
    graph = await catalogue(publisher_client)
    whole = datasets(graph)["c_x000:osservatorio"]
    files = {the(graph, d, DCAT.downloadURL): d for d in graph.objects(whole, DCAT.distribution)}
    paths = ["/processi.csv", "/processi.xlsx", "/processi.json", "/processi.jsonl", "/dati/osservatorio.zip"]
    assert set(files) == {URIRef(BASE_URL + path) for path in paths}
    formats = {str(the(graph, files[URIRef(BASE_URL + p)], DCTERMS.format)).rsplit("/", 1)[1] for p in paths}
    assert formats == {"CSV", "XLSX", "JSON", "ZIP"}
    csv = files[URIRef(BASE_URL + "/processi.csv")]
    assert the(graph, csv, DCAT.mediaType) == URIRef("http://www.iana.org/assignments/media-types/text/csv")
    schema = URIRef(BASE_URL + "/dati/schema/processo-v1.json")
    assert {url for url, d in files.items() if (d, DCTERMS.conformsTo, schema) in graph} == {
        URIRef(BASE_URL + "/processi.json"),
        URIRef(BASE_URL + "/processi.jsonl"),
    }
    for distribution in graph.subjects(RDF.type, DCAT.Distribution):
        assert (distribution, RDF.type, DCATAPIT.Distribution) in graph
        assert the(graph, distribution, DCAT.accessURL) == the(graph, distribution, DCAT.downloadURL)
        assert the(graph, distribution, DCTERMS.title).language == "it"
        assert the(graph, distribution, DCTERMS.license) == CC_BY
    assert {DCATAPIT.LicenseDocument, DCTERMS.LicenseDocument} <= set(graph.objects(CC_BY, RDF.type))
    assert the(graph, CC_BY, DCTERMS.type) == URIRef("http://purl.org/adms/licencetype/Attribution")
    assert "CC BY 4.0" in the(graph, CC_BY, FOAF.name)


async def test_records_under_share_alike_are_told_apart_in_the_rights(reader):
    graph = await catalogue(reader)
    (rights,) = graph.subjects(RDF.type, DCTERMS.RightsStatement)
    assert "CC BY-SA 4.0" in the(graph, rights, RDFS.label)
    assert set(graph.objects(rights, RDFS.seeAlso)) == {CC_BY, CC_BY_SA}
    assert "CC BY-SA 4.0" in the(graph, CC_BY_SA, FOAF.name)
    assert URIRef("http://purl.org/adms/licencetype/ShareAlike") in set(graph.objects(CC_BY_SA, DCTERMS.type))
    for distribution in graph.subjects(RDF.type, DCAT.Distribution):
        assert the(graph, distribution, DCTERMS.rights) == rights


async def test_every_region_with_published_processes_has_a_dataset_of_its_search(reader):
    graph = await catalogue(reader)
    expected = {code: run_in_app(reader, database_count, "territorio", code) for code in REGIONS}
    assert region_counts(graph) == {code: n for code, n in expected.items() if n}
    assert whole_count(graph) == (await reader.get("/api/v1/processi")).json()["total"]
    piemonte = datasets(graph)["osservatorio:osservatorio-R01"]
    place = the(graph, piemonte, DCTERMS.spatial)
    assert (place, RDF.type, DCTERMS.Location) in graph
    assert Literal("Piemonte", lang="it") in set(graph.objects(piemonte, DCAT.keyword))
    assert the(graph, piemonte, DCAT.landingPage) == URIRef("http://127.0.0.1:8000/territori/R01")
    files = {str(the(graph, d, DCAT.downloadURL)) for d in graph.objects(piemonte, DCAT.distribution)}
    assert files == {f"http://127.0.0.1:8000/processi.{kind}?territorio=R01" for kind in ("csv", "json")}


async def test_catalogue_conforms_to_the_dcat_ap_shapes(reader):
    graph = await catalogue(reader)
    for kind in (DCTERMS.LicenseDocument, DCTERMS.Frequency, DCTERMS.Location, SKOS.Concept, FOAF.Agent):
        assert any(graph.subjects(RDF.type, kind)), kind  # the range shapes check these classes
    assert violations(graph) == ""


async def test_an_empty_catalogue_still_describes_its_downloads(empty_client):
    graph = await catalogue(empty_client)
    assert list(datasets(graph)) == ["osservatorio:osservatorio"]
    assert whole_count(graph) == 0
    assert (CC_BY_SA, RDF.type, DCTERMS.LicenseDocument) not in graph
    assert len(list(graph.subjects(RDF.type, DCAT.Distribution))) == 5
    assert violations(graph) == ""


async def test_a_withdrawn_process_no_longer_counts(client):
    before = await catalogue(client)
    counts = region_counts(before)
    region = min(counts, key=lambda code: (counts[code], code))
    listed = await client.get("/api/v1/processi", params={"territorio": region, "per_pagina": "100"})
    slugs = [item["slug"] for item in listed.json()["items"]]
    assert len(slugs) == counts[region]
    await login_as(client)
    for slug in slugs:
        path = f"/redazione/processi/{process_row(client, slug)['id']}/ritira"
        token = await form_token(client)
        response = await client.post(
            path, data={"_csrf_token": token, "motivo": "Scheda doppia."}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
    after = await catalogue(client)
    assert region not in region_counts(after)
    assert whole_count(after) == whole_count(before) - len(slugs)


def test_publisher_settings_are_read_and_checked():
    settings = Settings.from_env(
        {
            "OBSERVATORY_PUBLISHER_NAME": " Comune di Esempio ",
            "OBSERVATORY_PUBLISHER_IPA": "c_x000",
            "OBSERVATORY_PUBLISHER_EMAIL": "partecipazione@comune.esempio.it",
        }
    )
    assert (settings.publisher_name, settings.publisher_ipa, settings.publisher_email) == (
        "Comune di Esempio",
        "c_x000",
        "partecipazione@comune.esempio.it",
    )
    defaults = Settings.from_env({})
    assert defaults.publisher_ipa == "osservatorio" and defaults.publisher_email == "redazione@example.org"
    with pytest.raises(ValueError, match="OBSERVATORY_PUBLISHER_IPA"):
        Settings.from_env({"OBSERVATORY_PUBLISHER_IPA": "c x000:1"})
    with pytest.raises(ValueError, match="OBSERVATORY_PUBLISHER_EMAIL"):
        Settings.from_env({"OBSERVATORY_PUBLISHER_EMAIL": "redazione"})
