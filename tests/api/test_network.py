"""Pointing at the map over real HTTP: the street nearest to a click, the road links on the
shortest path between two clicks, and a clear 400/404 for anything else."""

from __future__ import annotations

import geopandas as gpd
import pytest
import requests
import shapely

from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path
from tests.api.conftest_data import live_server

STREET = "Mannerheimintie"


@pytest.fixture(scope="module")
def http(bundled: Settings):
    with live_server(bundled) as url:
        yield url


@pytest.fixture(scope="module")
def street(bundled: Settings) -> gpd.GeoDataFrame:
    """The published links of one street, longest first (the reference for the answers)."""
    roads = gpd.read_parquet(version_path(bundled, Catalog(bundled.catalog_url).version("roads")))
    links = roads[roads["name"] == STREET]
    return links.assign(length=links.to_crs(3067).length).sort_values("length", ascending=False)


def _on(line: shapely.LineString, share: float) -> tuple[float, float]:
    point = line.interpolate(share, normalized=True)
    return point.x, point.y


def test_nearest_answers_the_clicked_link_and_its_whole_street(http, street):
    link = street.iloc[0]
    lon, lat = _on(link.geometry, 0.5)
    resp = requests.get(f"{http}/api/network/nearest", params={"lon": lon, "lat": lat}, timeout=30)
    assert resp.status_code == 200
    doc = resp.json()
    assert (doc["road_fid"], doc["name"]) == (int(link["fid"]), STREET)
    assert doc["distance_m"] < 1 and doc["geometry"]["type"] == "LineString"
    assert doc["street"]["road_fids"] == sorted(int(f) for f in street["fid"])
    assert doc["street"]["geometry"]["type"] == "MultiLineString"
    assert resp.headers["Cache-Control"] == "public, max-age=300" and resp.headers["ETag"]


def test_stretch_is_the_links_on_the_shortest_path_between_two_clicks(http, street):
    first, second = street.iloc[0], street.iloc[1]
    ends = {"from": ",".join(map(str, _on(first.geometry, 0.5))),
            "to": ",".join(map(str, _on(second.geometry, 0.5)))}  # fmt: skip
    resp = requests.get(f"{http}/api/network/stretch", params=ends, timeout=30)
    assert resp.status_code == 200
    doc = resp.json()
    assert {int(first["fid"]), int(second["fid"])} <= set(doc["road_fids"])
    assert STREET in doc["streets"] and doc["length_m"] > 0
    straight = shapely.distance(first.geometry.centroid, second.geometry.centroid) * 55_000
    assert doc["length_m"] >= straight * 0.5  # a path along roads, not a jump


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("nearest", {"lat": "60.17"}, "lon is required"),
        ("nearest", {"lon": "abc", "lat": "60.17"}, "lon must be a number"),
        ("nearest", {"lon": "nan", "lat": "60.17"}, "inside the city"),
        ("nearest", {"lon": "10.0", "lat": "60.17"}, "inside the city"),
        ("nearest", {"lon": "24.94", "lat": "60.17", "x": "1"}, "unknown query parameter"),
        ("stretch", {"from": "24.94,60.17"}, "to must be 'lon,lat'"),
        ("stretch", {"from": "24.94", "to": "24.94,60.17"}, "from must be 'lon,lat'"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(http, path, params, words):
    resp = requests.get(f"{http}/api/network/{path}", params=params, timeout=30)
    assert resp.status_code == 400
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert words in resp.json()["detail"]


def test_a_click_far_from_every_street_is_a_404(http):
    resp = requests.get(
        f"{http}/api/network/nearest", params={"lon": 24.6, "lat": 59.95}, timeout=30
    )
    assert resp.status_code == 404 and "no street within 150 m" in resp.json()["detail"]


def test_the_lookups_are_in_the_openapi_document(http):
    paths = requests.get(f"{http}/openapi?f=json", timeout=30).json()["paths"]
    params = [p["name"] for p in paths["/api/network/nearest"]["get"]["parameters"]]
    assert params == ["lon", "lat"]
    assert "400" in paths["/api/network/stretch"]["get"]["responses"]
