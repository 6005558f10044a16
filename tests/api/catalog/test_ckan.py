"""The CKAN Action API read subset: CKAN's envelope and error shapes at both URL prefixes, package
dicts that match the catalog, search with q/fq/sort/facets, and the real `ckanapi` client."""

from __future__ import annotations

import json

import ckanapi
import pytest

from api.app import create_app
from api.catalog.ckan_search import Term, parse_fq
from opendata.metadata.search import dataset_uuid
from opendata.store.catalog import Catalog
from tests.api.conftest_data import SCRIPT_TITLE, Store, live_server, published_store, table_store

BASE = "http://data.example.test"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return published_store(tmp_path_factory)


@pytest.fixture(scope="module")
def client(store: Store):
    return create_app(store.settings).test_client()


def action(client, name: str, **data):
    return client.post(f"/api/3/action/{name}", json=data)


def result(client, name: str, **data):
    resp = action(client, name, **data)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["success"] is True
    assert resp.json["help"] == f"{BASE}/api/3/action/help_show?name={name}"
    return resp.json["result"]


@pytest.mark.parametrize("prefix", ["/api/3/action", "/api/action"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_package_list_at_both_prefixes_and_methods(client, prefix: str, method: str) -> None:
    resp = getattr(client, method)(f"{prefix}/package_list")
    assert resp.status_code == 200
    assert resp.json["result"] == ["buildings", "services", "streets"]


def test_package_show_by_name_and_by_id_are_equal(client) -> None:
    by_name = result(client, "package_show", id="buildings")
    by_id = result(client, "package_show", id=dataset_uuid("buildings"))
    assert by_name == by_id
    assert by_name["id"] == dataset_uuid("buildings")


def test_package_dict_matches_the_catalog(client, store: Store) -> None:
    pkg = result(client, "package_show", id="streets")
    version = Catalog(store.settings.catalog_url).version("streets")
    assert pkg["title"] == SCRIPT_TITLE
    assert pkg["title_translated"]["sv"] == "Gator och vägar"
    assert pkg["license_id"] == "ODbL-1.0"
    assert pkg["license_title"] == "Open Data Commons Open Database License (ODbL)"
    assert pkg["organization"]["title"] == "Helsingin seudun liikenne"
    assert {t["name"] for t in pkg["tags"]} == {"katu", "liikenne", "vägar", "roads", "traffic"}
    assert pkg["metadata_modified"].startswith(version.created_at[:19])
    spatial = json.loads(next(e["value"] for e in pkg["extras"] if e["key"] == "spatial"))
    assert spatial["type"] == "Polygon"
    assert spatial["coordinates"][0][0] == version.bbox[:2]


def test_resources_cover_every_format_with_sizes_and_urls(client, store: Store) -> None:
    pkg = result(client, "package_show", id="buildings")
    formats = {r["format"]: r for r in pkg["resources"]}
    assert set(formats) == {"GeoParquet", "GeoJSON", "CSV", "GeoPackage", "OGC API Features"}
    parquet = formats["GeoParquet"]
    assert parquet["url"] == f"{BASE}/datasets/buildings/versions/2/buildings.parquet"
    assert parquet["mimetype"] == "application/vnd.apache.parquet"
    assert parquet["size"] == Catalog(store.settings.catalog_url).version("buildings").size_bytes
    assert pkg["num_resources"] == 5


def test_resource_show_returns_the_same_resource(client) -> None:
    resource = result(client, "package_show", id="services")["resources"][2]
    assert result(client, "resource_show", id=resource["id"]) == resource


def test_not_found_has_ckan_error_shape(client) -> None:
    resp = action(client, "package_show", id="nope")
    assert resp.status_code == 404
    assert resp.json["success"] is False
    assert resp.json["error"]["__type"] == "Not Found Error"


def test_missing_id_is_a_409_validation_error(client) -> None:
    resp = action(client, "package_show")
    assert resp.status_code == 409
    assert resp.json["error"] == {"__type": "Validation Error", "id": ["Missing value"]}


def test_unknown_action_is_400(client) -> None:
    resp = client.get("/api/3/action/package_delete")
    assert resp.status_code == 400
    assert resp.json["success"] is False
    assert "Action name not known" in resp.json["error"]["message"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"q": "katu"}, ["streets"]),
        ({"q": "vägar"}, ["streets"]),
        ({"fq": "tags:roads"}, ["streets"]),
        ({"fq": "organization:helsingin-kaupunki"}, ["buildings", "services"]),
        ({"fq": "res_format:GeoParquet"}, ["buildings", "services", "streets"]),
        ({"fq": 'license_id:"CC-BY-4.0"'}, ["buildings", "services"]),
        ({"fq": "groups:tran"}, ["streets"]),
        ({"fq": "-tags:roads"}, ["buildings", "services"]),
        ({"fq": "tags:roads organization:helsingin-kaupunki"}, []),
        ({"q": "tags:kirjasto"}, ["services"]),
        ({"q": "*:*", "fq": "*:*"}, ["buildings", "services", "streets"]),
    ],
)
def test_package_search_q_and_fq(client, data: dict, expected: list[str]) -> None:
    found = result(client, "package_search", **data)
    assert [p["name"] for p in found["results"]] == expected
    assert found["count"] == len(expected)


def test_package_search_rows_start_and_sort(client) -> None:
    page = result(client, "package_search", rows=1, start=1, sort="name desc")
    assert [p["name"] for p in page["results"]] == ["services"]
    assert page["count"] == 3
    newest = result(client, "package_search", sort="metadata_modified desc")["results"]
    stamps = [p["metadata_modified"] for p in newest]
    assert stamps == sorted(stamps, reverse=True)


def test_rows_are_capped_at_1000(client) -> None:
    assert len(result(client, "package_search", rows=100000)["results"]) == 3


def test_search_facets(client) -> None:
    found = result(
        client, "package_search", **{"facet.field": json.dumps(["organization", "tags"])}
    )
    assert found["facets"]["organization"] == {
        "helsingin-kaupunki": 2,
        "helsingin-seudun-liikenne": 1,
    }
    items = {i["name"]: i["count"] for i in found["search_facets"]["tags"]["items"]}
    assert items["roads"] == 1


def test_organization_list(client) -> None:
    assert result(client, "organization_list") == [
        "helsingin-kaupunki",
        "helsingin-seudun-liikenne",
    ]
    full = result(client, "organization_list", all_fields=True)
    assert [(o["title"], o["package_count"]) for o in full] == [
        ("Helsingin kaupunki", 2),
        ("Helsingin seudun liikenne", 1),
    ]


def test_status_show(client) -> None:
    status = result(client, "status_show")
    assert status["ckan_version"].startswith("2.")
    assert status["site_url"] == BASE


def test_form_post_and_query_string_work_like_json(client) -> None:
    by_form = client.post("/api/action/package_show", data={"id": "streets"}).json["result"]
    by_get = client.get("/api/action/package_show?id=streets").json["result"]
    assert by_form == by_get == result(client, "package_show", id="streets")


@pytest.mark.parametrize(
    ("data", "status", "kind"),
    [
        ({"fq": "name:x OR 1=1; DROP TABLE datasets"}, 409, "Search Query Error"),
        ({"fq": "secret_field:1"}, 409, "Search Query Error"),
        ({"sort": "name; DELETE"}, 409, "Search Query Error"),
        ({"sort": "password asc"}, 409, "Search Query Error"),
        ({"rows": "ten"}, 409, "Validation Error"),
        ({"start": -1}, 409, "Validation Error"),
        ({"facet.field": "[not json"}, 409, "Validation Error"),
        ({"facet.field": '["password"]'}, 409, "Search Query Error"),
    ],
)
def test_hostile_search_parameters_get_ckan_errors(
    client, data: dict, status: int, kind: str
) -> None:
    resp = action(client, "package_search", **data)
    assert resp.status_code == status
    assert resp.json["success"] is False
    assert resp.json["error"]["__type"] == kind


@pytest.mark.parametrize("q", ["' OR '1'='1", "name:x) OR (1=1", "<script>", "%00", "\\"])
def test_hostile_q_is_just_text(client, q: str) -> None:
    assert action(client, "package_search", q=q).status_code in (200, 409)
    assert result(client, "package_list") == ["buildings", "services", "streets"]


def test_non_object_json_body_is_400(client) -> None:
    resp = client.post("/api/action/package_show", data="[1]", content_type="application/json")
    assert resp.status_code == 400
    assert resp.json["success"] is False


def test_parse_fq_handles_quotes_and_negation() -> None:
    assert parse_fq('tags:"two words" -organization:x') == [
        [Term(True, "tags", "two words")],
        [Term(False, "organization", "x")],
    ]


@pytest.mark.e2e
def test_ckanapi_client_against_a_live_server(store: Store) -> None:
    catalog = Catalog(store.settings.catalog_url)
    with live_server(store.settings) as url, ckanapi.RemoteCKAN(url) as ckan:
        names = ckan.action.package_list()
        shown = ckan.action.package_show(id="buildings")
        searched = ckan.action.package_search(
            q="katu", fq="res_format:GeoParquet", rows=5, facet_field=["tags", "organization"]
        )
        dotted = ckan.call_action("package_search", {"fq": "tags:koulu", "facet.field": ["tags"]})
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id="no_such_dataset")
        with pytest.raises(ckanapi.ValidationError):
            ckan.action.package_show()
    assert names == [d.name for d in catalog.datasets()]
    assert shown["id"] == dataset_uuid("buildings")
    assert shown["version"] == str(catalog.version("buildings").version)
    assert shown["resources"][0]["url"] == f"{url}/datasets/buildings/versions/2/buildings.parquet"
    assert [p["name"] for p in searched["results"]] == ["streets"]
    assert (
        searched["search_facets"]["organization"]["items"][0]["name"] == "helsingin-seudun-liikenne"
    )
    assert [p["name"] for p in dotted["results"]] == ["services"]
    assert dotted["facets"]["tags"]["koulu"] == 1


def test_scenario_table_is_a_package_with_two_resources(tmp_path_factory) -> None:
    client = create_app(table_store(tmp_path_factory).settings).test_client()
    pkg = result(client, "package_show", id="scenario_trips")
    assert [r["format"] for r in pkg["resources"]] == ["Parquet", "CSV"]
    assert "spatial" not in {e["key"] for e in pkg["extras"]}
