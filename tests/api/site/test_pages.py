"""The website through Flask's test client: JSON twins, languages, escaping, errors and content."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import geopandas as gpd
import pytest
import shapely

from api.app import create_app
from api.site import usage as pages_usage
from api.site.catalog import PER_PAGE, CatalogRequest, catalog_page
from api.site.pages import site_for_request
from opendata.ingest.computed import publish_frame
from opendata.metadata.search import entries
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from tests.api.site.site_data import ADDRESS, BIG, HOSTILE, SCENARIO, SCRIPT, TABLE
from tests.conftest import BASE_METADATA

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}
PAGES = [
    "/datasets",
    "/datasets/roads",
    "/map?layers=roads",
    "/scenarios",
    f"/scenarios/{SCENARIO}",
]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_has_a_json_twin_by_f_parameter(client, url):
    resp = client.get(url + ("&" if "?" in url else "?") + "f=json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.get_json()["lang"] == "en"


@pytest.mark.parametrize("url", PAGES)
def test_every_page_has_a_json_twin_by_accept_header(client, url):
    resp = client.get(url, headers=JSON)
    assert resp.mimetype == "application/json"
    assert {link["rel"] for link in resp.get_json()["links"]} == {"self", "alternate"}


@pytest.mark.parametrize("url", PAGES)
def test_every_page_advertises_its_json_twin(client, url):
    body = client.get(url, headers=HTML).get_data(as_text=True)
    match = re.search(r'<link rel="alternate" type="application/json" href="([^"]+)">', body)
    assert match and "f=json" in match.group(1)
    assert match.group(1).startswith("http://site.test/")


def test_home_page_is_html_for_browsers_and_the_ogc_landing_page_for_programs(client):
    html = client.get("/", headers=HTML)
    assert html.mimetype == "text/html"
    assert 'action="/datasets"' in html.get_data(as_text=True)
    assert '<link rel="alternate" type="application/json" href="http://site.test/?f=json">' in (
        html.get_data(as_text=True)
    )
    landing = client.get("/", headers=JSON).get_json()
    assert "conformance" in {link["rel"] for link in landing["links"]}


def test_home_page_lists_themes_newest_and_the_scenario(client):
    body = client.get("/", headers=HTML).get_data(as_text=True)
    assert 'href="/datasets?theme=TRAN"' in body
    assert f'href="/scenarios/{SCENARIO}"' in body
    assert "Newest datasets" in body


def test_accept_language_chooses_the_page_language(client):
    resp = client.get("/datasets", headers={**HTML, "Accept-Language": "sv-FI,sv;q=0.9,en;q=0.5"})
    assert '<html lang="sv">' in resp.get_data(as_text=True)
    assert resp.headers["Content-Language"] == "sv"
    assert "<h1>Datamängder</h1>" in resp.get_data(as_text=True)


def test_lang_parameter_sets_a_cookie_that_later_pages_follow(client):
    first = client.get("/datasets?lang=fi", headers=HTML)
    assert "civic_lang=fi" in first.headers["Set-Cookie"]
    later = client.get("/map", headers={**HTML, "Accept-Language": "en"})
    assert '<html lang="fi">' in later.get_data(as_text=True)


def test_language_switch_redirects_back_with_a_cookie(client):
    resp = client.get("/language?lang=da&next=/datasets%3Fq%3Dkatu")
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/datasets?q=katu"
    assert "civic_lang=da" in resp.headers["Set-Cookie"]


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_language_switch_never_redirects_off_site(client, target):
    resp = client.get("/language", query_string={"lang": "sv", "next": target})
    assert resp.headers["Location"] == "/"


def test_unknown_language_in_switch_is_a_bad_request(client):
    resp = client.get("/language?lang=xx")
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"


def test_home_page_takes_lang_like_every_page(client):
    resp = client.get("/?lang=fi", headers=HTML)
    assert resp.status_code == 200
    assert resp.headers["Content-Language"] == "fi"
    assert "civic_lang=fi" in resp.headers["Set-Cookie"]
    body = resp.get_data(as_text=True)
    assert '<html lang="fi">' in body
    assert 'href="/?lang=sv"' in body
    assert client.get("/?lang=fi&f=json").status_code == 200  # the OGC landing page too


def test_metadata_without_the_page_language_falls_back_and_is_marked(client):
    body = client.get("/datasets/roads?lang=da", headers=HTML).get_data(as_text=True)
    assert '<html lang="da">' in body
    assert '<h1 lang="fi">Katuverkko (Helsingin keskusta)</h1>' in body


@pytest.mark.parametrize(
    "url",
    [
        f"/datasets/{HOSTILE}",
        "/datasets?q=names",
        "/datasets?q=%3Cscript%3Ealert(1)%3C/script%3E",
        f"/map?layers={HOSTILE}",
        "/",
    ],
)
def test_hostile_metadata_is_escaped(client, url):
    body = client.get(url, headers=HTML).get_data(as_text=True)
    assert SCRIPT not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body or "\\u003cscript" in body


def test_links_from_metadata_are_only_web_or_mail_addresses(client):
    body = client.get(f"/datasets/{HOSTILE}", headers=HTML).get_data(as_text=True)
    assert "javascript:" not in body
    assert "mailto:" not in body


def test_hostile_values_in_the_table_preview_are_escaped(client):
    body = client.get(f"/datasets/{HOSTILE}", headers=HTML).get_data(as_text=True)
    assert "Paikka &lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "Kallio&#34; onmouseover=&#34;alert(3)" in body


def test_unknown_dataset_is_a_404_page_for_people(client):
    resp = client.get("/datasets/no_such_thing", headers=HTML)
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    assert "no_such_thing" in resp.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/datasets/no_such_thing", "/scenarios/nothing_here"])
def test_unknown_resource_is_problem_json_for_programs(client, url):
    resp = client.get(url, headers=JSON)
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["status"] == 404


def test_unknown_scenario_is_a_404_page(client):
    resp = client.get("/scenarios/nothing_here", headers=HTML)
    assert resp.status_code == 404 and "<h1>" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    ["/datasets?sort=sideways", "/datasets?page=0", "/map?lat=95&lon=24&z=3", "/datasets?f=xml"],
)
def test_bad_parameters_are_problem_json(client, url):
    resp = client.get(url, headers=HTML)
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"


def test_theme_facet_filters_and_counts(client):
    everything = client.get("/datasets?f=json").get_json()
    counts = {
        v["value"]: v["count"]
        for g in everything["facets"]
        if g["key"] == "theme"
        for v in g["values"]
    }
    transport = client.get("/datasets?f=json&theme=TRAN").get_json()
    # the facets count source datasets (the list) and scenario results (their own section)
    assert transport["total"] + transport["scenario_total"] == counts["TRAN"]
    assert all("Transport" in card["themes"] for card in transport["items"])


def test_search_finds_roads_in_finnish(client):
    found = client.get("/datasets?f=json&q=katuverkko").get_json()
    assert [card["name"] for card in found["items"]] == ["roads"]


def test_licence_alias_and_format_facets_combine(client):
    both = client.get("/datasets?f=json&licence=ODbL-1.0&format=GeoPackage").get_json()
    assert both["total"] > 0
    assert {f["key"] for f in both["filters"]} == {"license", "format"}


def test_paging_links_walk_through_all_results(site_app):
    # The store holds fewer than 10 source datasets, so the catalog is padded with renamed
    # copies of its own entries (catalog_page is a pure function of the entries).
    with site_app.test_request_context("/datasets?lang=en"):
        site = site_for_request()
        items = [e for e in entries(Catalog(site_app.config["CIVIC_SETTINGS"].catalog_url))]
    many = [
        replace(e, name=f"{e.name}_{i}") for i in range(3) for e in items if e.kind != "scenario"
    ]
    first = catalog_page(many, CatalogRequest(), site)
    second = catalog_page(many, CatalogRequest(page=2), site)
    names = [c.name for c in first.items + second.items]
    assert first.total > 10 and len(set(names)) == len(names) == 2 * PER_PAGE
    assert first.next_href == "/datasets?page=2" and second.prev_href == "/datasets"


def test_sort_by_date_puts_the_newest_first(client):
    items = client.get("/datasets?f=json&sort=date").get_json()["items"]
    dates = [c["modified"] for c in items]
    assert dates == sorted(dates, reverse=True)


def test_dataset_page_shows_schema_quality_versions_and_links(client):
    page = client.get("/datasets/roads?f=json").get_json()
    assert [c["name"] for c in page["schema"]][:3] == ["osm_key", "highway", "name"]
    assert page["quality"]["rows_quarantined"] == 71
    assert page["versions"][0]["rows"] == page["rows"] == 2504
    assert "/datasets/roads/latest.gpkg" in {d["href"] for d in page["downloads"]}
    assert "/collections/roads/items?f=html" in {a["href"] for a in page["apis"]}
    assert len(page["table"]["rows"]) == 20
    assert page["table"]["rows"][0][page["table"]["columns"].index("geometry")] == "LineString"


def test_dataset_snippets_use_this_sites_urls(client):
    snippets = {
        s["label"]: s["code"] for s in client.get("/datasets/roads?f=json").get_json()["snippets"]
    }
    assert "http://site.test/datasets/roads/latest.parquet" in snippets["curl"]
    assert (
        "read_parquet('http://site.test/datasets/roads/versions/1/roads.parquet')"
        in (snippets["DuckDB"])
    )
    assert "gpd.read_parquet" in snippets["Python (GeoPandas)"]


def test_dataset_page_forbids_third_party_loads(client):
    csp = client.get("/datasets/roads", headers=HTML).headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "img-src 'self' data:;" in csp  # the basemap is ours: no tile host by default


def test_an_opted_in_tile_server_is_the_only_other_host(site_settings):
    from dataclasses import replace

    app = create_app(
        replace(site_settings, tile_url="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    )
    resp = app.test_client().get("/map?lang=en", headers=HTML)
    csp = resp.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in csp
    assert "only the background map comes from the map tile service" in resp.get_data(as_text=True)


def test_footer_promises_no_third_party_map_by_default(client):
    html = client.get("/map?lang=en", headers=HTML).get_data(as_text=True)
    assert "the background map is drawn from the city" in html
    assert "map tile service" not in html


def test_preview_of_20000_features_is_small_and_cacheable(client):
    resp = client.get(f"/datasets/{BIG}/preview.geojson", headers={"Accept-Encoding": "gzip"})
    assert resp.mimetype == "application/geo+json"
    assert len(resp.data) < 300_000
    again = client.get(
        f"/datasets/{BIG}/preview.geojson", headers={"If-None-Match": resp.headers["ETag"]}
    )
    assert again.status_code == 304


def test_preview_says_how_it_was_thinned(client):
    meta = json.loads(client.get(f"/datasets/{BIG}/preview.geojson").data)["preview"]
    assert (meta["method"], meta["total"]) == ("sampled", 20_000)


def test_map_page_keeps_known_layers_and_the_view(client):
    page = client.get("/map?f=json&layers=roads,nope,stops&lat=60.17&lon=24.94&z=15").get_json()
    assert page["selected"] == ["roads", "stops"]
    assert page["share_href"] == "/map?layers=roads,stops&lat=60.17000&lon=24.94000&z=15"


def test_scenario_page_explains_what_changed(client):
    page = client.get(f"/scenarios/{SCENARIO}?f=json").get_json()
    assert page["title"] == "Mannerheimintie closed for works"
    closed = next(e for e in page["edits"] if e["kind"] == "closed")
    assert "Mannerheimintie" in closed["streets"] and closed["links"] > 0
    assert page["streets"][0]["street"]
    assert page["changes"]["features"]


def test_scenario_page_offers_its_zones_with_trip_times_before_and_after(client):
    zones = client.get(f"/scenarios/{SCENARIO}?f=json&lang=fi").get_json()["zones"]
    features = zones["geojson"]["features"]
    assert len(features) == zones["longer"] + zones["shorter"] + zones["same"] > 20
    assert zones["longer"] > zones["shorter"]  # Mannerheimintie closed: longer trips
    first = features[0]["properties"]
    assert first["before"].endswith(" min") and "," in first["before"]  # Finnish decimals
    assert first["_d"] in (-1, 0, 1) and first["change"][0] in "+−0"
    assert zones["labels"]["zone"]["label"] == "Alue"
    body = client.get(f"/scenarios/{SCENARIO}?lang=fi", headers=HTML).get_data(as_text=True)
    assert 'data-toggle-map="map-after"' in body and f"{zones['longer']} aluetta: pitempi" in body


def test_scenario_indicators_cover_travel_noise_co2_and_access(client):
    indicators = client.get(f"/scenarios/{SCENARIO}?f=json").get_json()["indicators"]
    themes = {i["theme"] for i in indicators}
    assert themes == {"travel", "noise", "co2", "access"}
    hours = next(i for i in indicators if i["key"] == "vehicle_hours")
    assert hours["verdict"] == "worse" and hours["after"] > hours["before"]


def test_scenario_address_search_lists_nearby_changes(client):
    near = client.get(
        f"/scenarios/{SCENARIO}", query_string={"f": "json", "address": ADDRESS.lower()}
    )
    nearby = near.get_json()["nearby"]
    assert nearby["found"] == ADDRESS
    assert any(link["street"] == "Mannerheimintie" for link in nearby["links"])
    assert all(link["distance_m"] <= nearby["radius_m"] for link in nearby["links"])


def test_scenario_point_search_lists_nearby_changes(client):
    nearby = client.get(f"/scenarios/{SCENARIO}?f=json&lat=60.1685&lon=24.9410").get_json()[
        "nearby"
    ]
    assert nearby["found"] == "" and nearby["links"]


def test_scenario_unknown_address_says_so(client):
    nearby = client.get(f"/scenarios/{SCENARIO}?f=json&address=Nowhere+99").get_json()["nearby"]
    assert nearby["links"] == [] and "Nowhere 99" in nearby["message"]


def test_dataset_views_and_downloads_are_counted(client, site_settings):
    path = pages_usage.usage_file(site_settings.data_dir)
    before = pages_usage.totals(path).get("stops", 0)
    client.get("/datasets/stops", headers=HTML)
    assert client.get("/datasets/stops/versions/1/stops.csv").status_code == 200
    assert pages_usage.totals(path)["stops"] == before + 2


def test_usage_counter_ignores_an_unwritable_store(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert pages_usage.record(blocker / "usage.sqlite", "roads", "view") is False


def test_every_page_route_is_in_the_openapi_document(client):
    paths = client.get("/openapi?f=json").get_json()["paths"]
    for path in ("/datasets", "/datasets/{name}", "/datasets/{name}/preview.geojson", "/map"):
        assert "get" in paths[path]
    assert "get" in paths["/scenarios/{name}"] and "get" in paths["/language"]


def test_table_without_geometry_has_no_map_but_its_downloads(client):
    page = client.get(f"/datasets/{TABLE}?f=json").get_json()
    assert page["preview_url"] is None and page["map_href"] is None
    assert [d["href"].rsplit(".", 1)[1] for d in page["downloads"]] == ["parquet", "csv"]
    assert page["table"]["rows"] == [["1", "Rikhardinkatu", "120500"], ["2", "Oodi", "2100000"]]
    assert 'id="map"' not in client.get(f"/datasets/{TABLE}", headers=HTML).get_data(as_text=True)


def test_table_without_geometry_has_no_preview(client):
    assert client.get(f"/datasets/{TABLE}/preview.geojson").status_code == 404


def test_table_without_geometry_is_not_offered_on_the_map(client):
    layers = client.get("/map?f=json").get_json()["layers"]
    assert TABLE not in {layer["name"] for layer in layers}


def test_scenario_result_dataset_links_to_its_scenario(client):
    page = client.get(f"/datasets/scenario_{SCENARIO}_links?f=json").get_json()
    assert page["kind"] == "scenario"
    assert page["scenario_href"] == f"/scenarios/{SCENARIO}"


def test_kind_facet_separates_datasets_from_scenario_results(client):
    results = client.get("/datasets?f=json&kind=scenario").get_json()
    assert results["total"] == 5  # links, buildings, zones, totals, periods
    assert {card["kind"] for card in results["items"]} == {"scenario"}


def test_scenarios_page_lists_the_published_scenario(client):
    page = client.get("/scenarios?f=json").get_json()
    assert [s["name"] for s in page["scenarios"]] == [SCENARIO]
    assert page["scenarios"][0]["title"] == "Mannerheimintie closed for works"


def test_scenario_with_only_its_totals_published_still_has_a_page(tmp_path):
    cfg = Settings(data_dir=tmp_path / "data", rate_limit=0)
    totals = gpd.GeoDataFrame(
        {"metric": ["co2"], "unit": ["kg/h"], "base": [10.0], "scen": [8.0], "change": [-2.0]},
        geometry=[shapely.box(24.9, 60.1, 25.0, 60.2)],
        crs=4326,
    )
    fields = [{"name": n, "type": "float" if n in ("base", "scen", "change") else "string"}
              for n in ("metric", "unit", "base", "scen", "change")]  # fmt: skip
    title = {"en": "Fewer cars: network totals", "fi": "Vähemmän autoja: kokonaisluvut"}
    metadata = {**BASE_METADATA, "title": title}
    publish_frame(cfg, name="scenario_fewer_cars_totals", metadata=metadata, fields=fields,
                  frame=totals, provenance={}, kind="scenario")  # fmt: skip
    page = create_app(cfg).test_client().get("/scenarios/fewer_cars?f=json").get_json()
    assert page["title"] == "Fewer cars"
    assert [(i["key"], i["verdict"]) for i in page["indicators"]] == [("co2", "better")]
    assert page["edits"] == [] and page["changes"]["features"] == []


@pytest.mark.parametrize(
    ("lang", "label"), [("fi", "Työtila"), ("sv", "Arbetsyta"), ("en", "Studio")]
)
def test_every_page_links_the_planner_studio_in_its_language(client, lang, label):
    html = client.get(f"/datasets?lang={lang}", headers=HTML).get_data(as_text=True)
    assert f'<a href="/studio">{label}</a>' in html
