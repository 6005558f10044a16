"""The city's publisher and contact (city.toml) reach every place a reader or a harvester looks:
DCAT, CKAN, the OpenAPI document's `info.contact` and the dataset page."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF

from api.app import create_app
from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import load_spec
from opendata.metadata.dcat_vocab import DCAT, VCARD
from opendata.settings import Settings
from tests.conftest import write_toml
from tests.opendata.helpers import nordic_csv, places_spec
from tests.opendata.test_city import CITY


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    folder: Path = tmp_path_factory.mktemp("turku")
    (folder / "city.toml").write_text(CITY, encoding="utf-8")
    nordic_csv(folder / "places.csv")
    spec = places_spec(folder)
    data = tomllib.loads(spec.read_text(encoding="utf-8"))
    del data["metadata"]["publisher"], data["metadata"]["contact"]  # inherit the city's
    write_toml(spec, data)
    settings = Settings(data_dir=folder / "data", datasets_dir=folder, source_roots=(folder,))
    assert settings.city.publisher_name == "Turun kaupunki"
    assert ingest(load_spec(spec, settings.city), settings).status == "published"
    return create_app(settings).test_client()


def test_dcat_names_the_citys_publisher_and_contact(client):
    resp = client.get("/dcat/catalog.ttl")
    assert resp.status_code == 200
    graph = Graph().parse(data=resp.data, format="turtle")
    names = {str(graph.value(agent, FOAF.name)) for agent in graph.objects(None, DCTERMS.publisher)}
    assert names == {"Turun kaupunki"}  # the catalog's and the dataset's
    contacts = list(graph.objects(None, DCAT.contactPoint))
    assert [graph.value(c, VCARD.hasEmail) for c in contacts] == [
        URIRef("mailto:avoindata@turku.fi")
    ]
    assert (contacts[0], VCARD.fn, Literal("Avoin data")) in graph
    assert b"example.org" not in resp.data


def test_ckan_names_the_citys_organization_and_maintainer(client):
    resp = client.get("/api/3/action/package_show?id=places")
    assert resp.status_code == 200
    package = resp.get_json()["result"]
    assert package["organization"]["title"] == "Turun kaupunki"
    assert (package["maintainer"], package["maintainer_email"]) == (
        "Avoin data",
        "avoindata@turku.fi",
    )
    assert b"example.org" not in resp.data


def test_openapi_info_contact_and_the_dataset_page_come_from_the_city(client):
    info = client.get("/openapi?f=json").get_json()["info"]
    assert info["contact"] == {
        "name": "Avoin data",
        "email": "avoindata@turku.fi",
        "url": "https://www.turku.fi/",
    }
    page = client.get("/datasets/places?lang=fi")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="mailto:avoindata@turku.fi"' in html and "Turun kaupunki" in html
    assert "example.org" not in html
