"""DCAT-AP 3 / DCAT-AP-SE: the official SHACL shapes give zero violations, the serialisations are
isomorphic, there are no blank nodes, IRIs are absolute and stable, and paging works."""

from __future__ import annotations

import uuid

import pyshacl
import pytest
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, SH

from api.app import create_app
from opendata.metadata.dcat_vocab import DCAT, HYDRA, VCARD
from opendata.metadata.search import dataset_uuid
from tests.api.conftest_data import SCRIPT_TITLE, Store, published_store, table_store
from tests.conftest import TEST_DATA

SHAPES = TEST_DATA / "dcat-ap-shacl"
LEVEL_1 = ["dcat-ap-3.0.1/html-shacl/shapes.ttl", "dcat-ap-se/dcat-ap-se-additions.ttl"]
RANGES = ["dcat-ap-3.0.1/html-shacl/range.ttl"]
BASE = "http://data.example.test"
FORMATS = {
    "rdf": ("application/rdf+xml", "xml"),
    "ttl": ("text/turtle", "turtle"),
    "jsonld": ("application/ld+json", "json-ld"),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return published_store(tmp_path_factory)


@pytest.fixture(scope="module")
def client(store: Store):
    return create_app(store.settings).test_client()


@pytest.fixture(scope="module")
def graphs(client) -> dict[str, Graph]:
    out = {}
    for ext, (media, fmt) in FORMATS.items():
        resp = client.get(f"/dcat/catalog.{ext}")
        assert resp.status_code == 200
        assert resp.mimetype == media
        out[ext] = Graph().parse(data=resp.data, format=fmt)
    return out


def shapes(files: list[str]) -> Graph:
    graph = Graph()
    for name in files:
        graph.parse(SHAPES / name)
    return graph


def violations(data: Graph, files: list[str]) -> tuple[int, str]:
    """How many sh:Violation results the shapes give, and the readable report."""
    _, report, text = pyshacl.validate(data, shacl_graph=shapes(files))
    return len(set(report.subjects(SH.resultSeverity, SH.Violation))), text


@pytest.mark.parametrize("ext", list(FORMATS))
def test_catalog_has_zero_level_1_violations(graphs, ext: str) -> None:
    count, text = violations(graphs[ext], LEVEL_1)
    assert count == 0, text


def test_catalog_meets_class_ranges_without_loading_vocabularies(graphs) -> None:
    count, text = violations(graphs["ttl"], RANGES)
    assert count == 0, text


def test_each_dataset_document_has_zero_level_1_violations(client) -> None:
    for name in ("buildings", "services", "streets"):
        graph = Graph().parse(data=client.get(f"/dcat/datasets/{name}.ttl").data, format="turtle")
        count, text = violations(graph, LEVEL_1)
        assert count == 0, text


def test_recommended_shapes_warn_only_about_what_specs_lack(graphs) -> None:
    """Level 2: the remaining warnings are temporal coverage (specs have none yet), the
    catalog's spatial coverage and the data service's contact point."""
    _, report, _ = pyshacl.validate(
        graphs["ttl"], shacl_graph=shapes(["dcat-ap-3.0.1/html-shacl/shapes_recommended.ttl"])
    )
    paths = {
        str(report.value(r, SH.resultPath)).rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        for r in report.subjects(RDF.type, SH.ValidationResult)
    }
    assert paths <= {"temporal", "spatial", "contactPoint"}


def test_shapes_do_catch_a_missing_publisher(graphs) -> None:
    broken = Graph()
    for triple in graphs["ttl"]:
        if triple[1] != DCTERMS.publisher:
            broken.add(triple)
    count, text = violations(broken, LEVEL_1)
    assert count == 4, text  # the catalog (EU) and each of the three datasets (DCAT-AP-SE)


def test_serialisations_are_isomorphic(graphs) -> None:
    assert isomorphic(graphs["rdf"], graphs["ttl"])
    assert isomorphic(graphs["ttl"], graphs["jsonld"])


@pytest.mark.parametrize("ext", list(FORMATS))
def test_no_blank_nodes_and_only_absolute_iris(graphs, ext: str) -> None:
    for triple in graphs[ext]:
        assert not any(isinstance(term, BNode) for term in triple)
        for term in triple:
            if isinstance(term, URIRef):
                assert str(term).startswith(("http://", "https://", "mailto:")), term


def test_dataset_has_stable_uuid_identifier_and_multilingual_text(graphs) -> None:
    graph = graphs["ttl"]
    node = URIRef(f"{BASE}/dcat/datasets/streets")
    identifier = str(graph.value(node, DCTERMS.identifier))
    assert identifier == dataset_uuid("streets") == str(uuid.UUID(identifier))
    titles = {(t.language, str(t)) for t in graph.objects(node, DCTERMS.title)}
    assert titles == {("fi", "Katuverkko"), ("sv", "Gator och vägar"), ("en", SCRIPT_TITLE)}
    assert Literal("vägar", lang="sv") in set(graph.objects(node, DCAT.keyword))


def test_dataset_vocabularies_use_eu_iris(graphs) -> None:
    graph = graphs["ttl"]
    node = URIRef(f"{BASE}/dcat/datasets/streets")
    eu = "http://publications.europa.eu/resource/authority/"
    assert set(graph.objects(node, DCAT.theme)) == {URIRef(eu + "data-theme/TRAN")}
    assert graph.value(node, DCTERMS.accrualPeriodicity) == URIRef(eu + "frequency/DAILY")
    publisher = graph.value(node, DCTERMS.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in graph
    assert graph.value(publisher, DCTERMS.type) == URIRef(
        "http://purl.org/adms/publishertype/RegionalAuthority"
    )
    contact = graph.value(node, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in graph
    assert graph.value(contact, VCARD.hasEmail) == URIRef("mailto:opendata@hel.fi")
    assert graph.value(graph.value(node, DCTERMS.spatial), DCAT.bbox) is not None


def test_distributions_per_format_with_media_types_and_sizes(graphs, store: Store) -> None:
    graph = graphs["ttl"]
    node = URIRef(f"{BASE}/dcat/datasets/buildings")
    by_format = {
        str(graph.value(d, DCTERMS.format)).rsplit("/", 1)[-1]: d
        for d in graph.objects(node, DCAT.distribution)
    }
    assert set(by_format) == {"PARQUET", "GEOJSON", "CSV", "GPKG"}
    parquet = by_format["PARQUET"]
    assert graph.value(parquet, DCAT.mediaType) == URIRef(
        "http://www.iana.org/assignments/media-types/application/vnd.apache.parquet"
    )
    assert graph.value(parquet, DCAT.downloadURL) == URIRef(
        f"{BASE}/datasets/buildings/versions/2/buildings.parquet"
    )
    assert graph.value(parquet, DCTERMS.license) == URIRef(
        "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
    )
    assert int(graph.value(parquet, DCAT.byteSize)) > 0


def test_ogc_api_is_a_data_service_serving_the_datasets(graphs) -> None:
    graph = graphs["ttl"]
    service = URIRef(f"{BASE}/dcat/services/ogc-api-features")
    assert (service, RDF.type, DCAT.DataService) in graph
    assert len(set(graph.objects(service, DCAT.servesDataset))) == 3
    api_dists = set(graph.subjects(DCAT.accessService, service))
    assert URIRef(f"{BASE}/dcat/datasets/services#ogcapi") in api_dists


def test_catalog_has_publisher_licence_and_homepage(graphs) -> None:
    graph = graphs["ttl"]
    catalog = URIRef(f"{BASE}/dcat/catalog")
    assert graph.value(catalog, FOAF.homepage) == URIRef(f"{BASE}/")
    assert graph.value(catalog, DCTERMS.license) is not None
    assert graph.value(graph.value(catalog, DCTERMS.publisher), DCTERMS.type) is not None


def test_paging_with_hydra_and_link_headers(client) -> None:
    resp = client.get("/dcat/catalog.ttl?page=1&page_size=2")
    graph = Graph().parse(data=resp.data, format="turtle")
    page = URIRef(f"{BASE}/dcat/catalog.ttl?page=1&page_size=2")
    assert (page, RDF.type, HYDRA.PagedCollection) in graph
    assert int(graph.value(page, HYDRA.totalItems)) == 3
    assert str(graph.value(page, HYDRA.nextPage)) == f"{BASE}/dcat/catalog.ttl?page=2&page_size=2"
    assert len(set(graph.objects(URIRef(f"{BASE}/dcat/catalog"), DCAT.dataset))) == 2
    assert 'rel="next"' in resp.headers["Link"]
    last = Graph().parse(
        data=client.get("/dcat/catalog.ttl?page=2&page_size=2").data, format="turtle"
    )
    assert len(set(last.objects(URIRef(f"{BASE}/dcat/catalog"), DCAT.dataset))) == 1


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/turtle", "text/turtle"),
        ("application/ld+json", "application/ld+json"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("*/*", "application/rdf+xml"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "application/rdf+xml"),
    ],
)
def test_content_negotiation(client, accept: str, media: str) -> None:
    resp = client.get("/dcat/catalog", headers={"Accept": accept})
    assert resp.status_code == 200
    assert resp.mimetype == media
    assert "Accept" in resp.headers["Vary"]


def test_unacceptable_media_type_is_406(client) -> None:
    resp = client.get("/dcat/catalog", headers={"Accept": "image/png"})
    assert resp.status_code == 406
    assert resp.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "url",
    [
        "/dcat/catalog.xyz",
        "/dcat/catalog?page=0",
        "/dcat/catalog?page=x",
        "/dcat/catalog?page_size=5000",
        "/dcat/catalog?page=99",
        "/dcat/catalog?page=1%27%20OR%201=1",
        "/dcat/catalog?foo=1",
        "/dcat/datasets/nope.ttl",
        "/dcat/datasets/..%2f..%2fetc.ttl",
    ],
)
def test_bad_requests_are_problems(client, url: str) -> None:
    resp = client.get(url)
    assert resp.status_code in (400, 404)
    assert resp.headers["Content-Type"] == "application/problem+json"


def test_dataset_iri_dereferences_to_its_description(client) -> None:
    resp = client.get("/dcat/datasets/services", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=resp.data, format="turtle")
    assert (URIRef(f"{BASE}/dcat/datasets/services"), RDF.type, DCAT.Dataset) in graph


def test_script_title_is_escaped_in_rdf_xml(client) -> None:
    body = client.get("/dcat/catalog.rdf").get_data(as_text=True)
    assert "<script>" not in body
    assert "&lt;script&gt;" in body


def test_conditional_get(client) -> None:
    etag = client.get("/dcat/catalog.ttl").headers["ETag"]
    assert client.get("/dcat/catalog.ttl", headers={"If-None-Match": etag}).status_code == 304


def test_minimal_scenario_table_still_has_zero_level_1_violations(tmp_path_factory) -> None:
    client = create_app(table_store(tmp_path_factory).settings).test_client()
    graph = Graph().parse(data=client.get("/dcat/catalog.ttl").data, format="turtle")
    count, text = violations(graph, LEVEL_1)
    assert count == 0, text
    dataset = URIRef(f"{BASE}/dcat/datasets/scenario_trips")
    formats = {
        str(graph.value(d, DCTERMS.format)).rsplit("/", 1)[-1]
        for d in graph.objects(dataset, DCAT.distribution)
    }
    assert formats == {"PARQUET", "CSV"}
