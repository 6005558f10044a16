"""The JSON catalog: multilingual search, facets and filters, paging, sort, the detail document
and its links, and 400s for malformed or hostile parameters."""

from __future__ import annotations

import pytest

from api.app import create_app
from opendata.metadata.search import SearchQuery, dataset_uuid, fold, terms
from tests.api.conftest_data import SCRIPT_TITLE, Store, published_store, table_store

BASE = "http://data.example.test"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return published_store(tmp_path_factory)


@pytest.fixture(scope="module")
def client(store: Store):
    return create_app(store.settings).test_client()


def names(resp) -> list[str]:
    return [d["name"] for d in resp.json["datasets"]]


def test_listing_holds_every_current_dataset_sorted_by_name(client) -> None:
    resp = client.get("/api/datasets")
    assert resp.status_code == 200
    assert resp.json["count"] == 3
    assert names(resp) == ["buildings", "services", "streets"]


def test_summary_carries_current_version_and_rows(client) -> None:
    item = client.get("/api/datasets").json["datasets"][0]
    assert (item["name"], item["version"], item["rows"]) == ("buildings", 2, 300)
    assert item["id"] == dataset_uuid("buildings")
    assert item["formats"] == ["GeoParquet", "GeoJSON", "CSV", "GeoPackage"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("katu", ["streets"]),  # prefix of the Finnish title "Katuverkko"
        ("KATUVERKKO", ["streets"]),  # case-insensitive
        ("vägar", ["streets"]),  # Swedish title "Gator och vägar"
        ("vagar", ["streets"]),  # accent-insensitive
        ("byggnader", ["buildings"]),  # Swedish title
        ("kirjasto", ["services"]),  # Finnish keyword
        ("hälsostationer", ["services"]),  # Swedish description
        ("schools libraries", ["services"]),  # every word must match
        ("schools roads", []),
        ("zzzz", []),
    ],
)
def test_full_text_search_across_languages(client, q: str, expected: list[str]) -> None:
    resp = client.get("/api/datasets", query_string={"q": q})
    assert resp.status_code == 200
    assert names(resp) == expected
    assert resp.json["count"] == len(expected)


def test_title_hits_rank_above_description_hits(client) -> None:
    # "buildings" is the English title of one dataset, "building" a column description elsewhere
    assert names(client.get("/api/datasets?q=buildings"))[0] == "buildings"


def test_facets_count_themes_publishers_licences_formats_keywords(client) -> None:
    facets = client.get("/api/datasets").json["facets"]
    assert {"value": "TRAN", "count": 1} in facets["theme"]
    assert facets["publisher"][0] == {"value": "Helsingin kaupunki", "count": 2}
    assert {"value": "ODbL-1.0", "count": 1} in facets["license"]
    assert {"value": "GeoParquet", "count": 3} in facets["format"]
    assert {"value": "vägar", "count": 1} in facets["keyword"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"theme": "TRAN"}, ["streets"]),
        ({"theme": "tran"}, ["streets"]),
        ({"publisher": "Helsingin kaupunki"}, ["buildings", "services"]),
        ({"license": "ODbL-1.0"}, ["streets"]),
        ({"licence": "CC-BY-4.0"}, ["buildings", "services"]),
        ({"keyword": "katu"}, ["streets"]),
        ({"format": "GeoPackage"}, ["buildings", "services", "streets"]),
        ({"theme": ["EDUC", "HEAL"]}, ["services"]),
        ({"theme": ["EDUC", "TRAN"]}, []),
    ],
)
def test_facet_filters(client, params: dict, expected: list[str]) -> None:
    assert names(client.get("/api/datasets", query_string=params)) == expected


def test_facet_counts_follow_the_filter(client) -> None:
    facets = client.get("/api/datasets?theme=TRAN").json["facets"]
    assert facets["publisher"] == [{"value": "Helsingin seudun liikenne", "count": 1}]


def test_paging_with_next_and_prev_links(client) -> None:
    first = client.get("/api/datasets?limit=2")
    second = client.get("/api/datasets?limit=2&offset=2")
    assert names(first) == ["buildings", "services"]
    assert names(second) == ["streets"]
    rels = {link["rel"]: link["href"] for link in first.json["links"]}
    assert rels["next"] == f"{BASE}/api/datasets?limit=2&offset=2"
    assert "next" not in {link["rel"] for link in second.json["links"]}
    assert {link["rel"] for link in second.json["links"]} >= {"prev"}


def test_sort_by_date_puts_newest_first(client) -> None:
    modified = [d["modified"] for d in client.get("/api/datasets?sort=date").json["datasets"]]
    assert modified == sorted(modified, reverse=True)


def test_listing_has_etag_and_answers_304(client) -> None:
    etag = client.get("/api/datasets").headers["ETag"]
    assert client.get("/api/datasets", headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize(
    "query",
    [
        "limit=-1",
        "limit=abc",
        "limit=100000",
        "offset=-5",
        "offset=1e3",
        "sort=random",
        "sort=name;DROP TABLE datasets",
        "f=html",
        "colour=blue",
        "limit=1%20OR%201=1",
    ],
)
def test_bad_parameters_are_400_problems(client, query: str) -> None:
    resp = client.get(f"/api/datasets?{query}")
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.json["detail"]


@pytest.mark.parametrize(
    "q",
    [
        "' OR 1=1 --",
        '"; DROP TABLE datasets; --',
        "%",
        "_",
        "*",
        "<script>alert(1)</script>",
        "\\",
        "katu' UNION SELECT 1 --",
    ],
)
def test_injection_strings_in_q_are_just_text(client, q: str) -> None:
    resp = client.get("/api/datasets", query_string={"q": q})
    assert resp.status_code == 200
    assert resp.json["count"] <= 3
    assert client.get("/api/datasets").json["count"] == 3


def test_detail_has_schema_versions_quality_and_links(client) -> None:
    resp = client.get("/api/datasets/buildings")
    body = resp.json
    assert resp.status_code == 200
    assert [c["name"] for c in body["schema"]["columns"]] == ["name", "floors", "area_m2"]
    assert [(v["version"], v["rows"]) for v in body["versions"]] == [(1, 280), (2, 300)]
    assert all(v["created_at"] for v in body["versions"])
    assert body["quality"]["rows_published"] == 300
    hrefs = {link["href"] for link in body["links"]}
    assert f"{BASE}/collections/buildings" in hrefs
    assert f"{BASE}/dcat/datasets/buildings.rdf" in hrefs
    assert f"{BASE}/api/3/action/package_show?id=buildings" in hrefs
    assert f"{BASE}/datasets/buildings/versions/2/buildings.parquet" in hrefs
    assert body["latest"]["gpkg"] == f"{BASE}/datasets/buildings/latest.gpkg"
    assert (
        body["versions"][0]["downloads"]["csv"]
        == f"{BASE}/datasets/buildings/versions/1/buildings.csv"
    )


def test_every_detail_link_resolves(client) -> None:
    for link in client.get("/api/datasets/services").json["links"]:
        path = link["href"].removeprefix(BASE)
        if path.startswith("/collections/"):
            continue  # served by api.ogc.features (another blueprint)
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("name", ["nope", "..", "buildings'--", "BUILDINGS", "a" * 300, "%00"])
def test_unknown_dataset_is_404_problem(client, name: str) -> None:
    resp = client.get(f"/api/datasets/{name}")
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/problem+json"


def test_script_in_title_is_served_as_json_data_not_html(client) -> None:
    resp = client.get("/api/datasets/streets")
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json["title"]["en"] == SCRIPT_TITLE


def test_fold_and_terms_are_accent_and_case_insensitive() -> None:
    assert fold("Åkerlundinkatu ÖSTRA Væg") == "akerlundinkatu ostra vaeg"
    assert terms("Gator och VÄGAR!") == ["gator", "och", "vagar"]


def test_search_query_rejects_out_of_range_values() -> None:
    with pytest.raises(ValueError, match="limit"):
        SearchQuery(limit=5000)
    with pytest.raises(ValueError, match="filter"):
        SearchQuery(filters={"colour": ("blue",)})


def test_scenario_results_are_listed_with_kind_facet(tmp_path_factory) -> None:
    client = create_app(table_store(tmp_path_factory).settings).test_client()
    body = client.get("/api/datasets?kind=scenario").json
    assert [d["name"] for d in body["datasets"]] == ["scenario_trips"]
    assert body["datasets"][0]["formats"] == ["Parquet", "CSV"]
    assert body["facets"]["kind"] == [{"value": "scenario", "count": 1}]
