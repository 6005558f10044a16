"""Real OGC clients (OWSLib, GDAL's OAPIF driver) against `civic serve` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import time

import numpy as np
import pyogrio
import pytest
import requests
import shapely
from owslib.ogcapi.features import Features

pytestmark = pytest.mark.e2e
BBOX = [24.940, 60.168, 24.946, 60.172]


def test_live_server_answers_with_gzip_cors_and_geojson(live_server):
    resp = requests.get(f"{live_server}/collections/buildings/items?limit=100", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/geo+json"
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.json()["links"][0]["href"].startswith(live_server)


def test_live_server_conditional_get(live_server):
    url = f"{live_server}/collections/sensors/items?limit=20"
    tag = requests.get(url, timeout=10).headers["ETag"]
    assert requests.get(url, headers={"If-None-Match": tag}, timeout=10).status_code == 304


def test_owslib_lists_the_collections(live_server):
    api = Features(live_server)
    ids = {c["id"] for c in api.collections()["collections"]}
    assert ids == {"buildings", "sensors", "streets"}
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in api.conformance()["conformsTo"]
    )


def test_owslib_bbox_items_match_the_file(live_server, frames):
    api = Features(live_server)
    doc = api.collection_items("buildings", bbox=BBOX, limit=500)
    frame = frames["buildings"]
    expected = frame[frame.intersects(shapely.box(*BBOX))]
    assert doc["numberMatched"] == len(expected)
    assert {f["id"] for f in doc["features"]} == set(expected.index)
    first = doc["features"][0]
    assert first["properties"]["name"] == frame.loc[first["id"], "name"]


def test_owslib_queryables_and_single_item(live_server, frames):
    api = Features(live_server)
    assert "floors" in api.collection_queryables("buildings")["properties"]
    item = api.collection_item("sensors", "12")
    assert item["properties"]["station"] == frames["sensors"].loc[12, "station"]


def test_gdal_reads_every_feature_with_equal_attributes(live_server, frames):
    got = pyogrio.read_dataframe(f"OAPIF:{live_server}/collections/buildings")
    expected = frames["buildings"]
    assert len(got) == len(expected) == 500
    got = got.set_index("name").loc[expected["name"]]
    assert got["use"].tolist() == expected["use"].tolist()
    assert (
        got["floors"].fillna(-1).astype(int).tolist()
        == expected["floors"].fillna(-1).astype(int).tolist()
    )
    same = shapely.equals_exact(got.geometry.values, expected.geometry.values, tolerance=1e-9)
    assert bool(np.all(same))


def test_gdal_applies_a_spatial_filter(live_server, frames):
    got = pyogrio.read_dataframe(f"OAPIF:{live_server}/collections/buildings", bbox=tuple(BBOX))
    frame = frames["buildings"]
    assert len(got) == int(frame.intersects(shapely.box(*BBOX)).sum())


def test_gdal_pushes_an_attribute_filter_to_the_server(live, frames):
    base, log = live
    got = pyogrio.read_dataframe(
        f"OAPIF:{base}/collections/sensors", where="kind = 'air' AND pm25 > 5"
    )
    frame = frames["sensors"]
    assert len(got) == int(((frame["kind"] == "air") & (frame["pm25"] > 5)).sum())
    assert _logged(log, "filter-lang=cql-text")  # evaluated by us, not client-side


def _logged(log, text: str, timeout: float = 5.0) -> bool:
    """Whether the server's access log gets a line containing `text` (it is written after the
    response, so it may lag a moment behind the client)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text():
            return True
        time.sleep(0.05)
    return False


def test_ogr2ogr_converts_a_collection_to_geojson(live_server, frames, tmp_path):
    out = tmp_path / "streets.json"
    subprocess.run(
        ["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{live_server}/collections/streets"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    features = json.loads(out.read_text())["features"]
    expected = frames["streets"]
    assert len(features) == len(expected)
    assert sorted(f["properties"]["street"] for f in features) == sorted(expected["street"])
    assert sum(f["properties"]["speed"] for f in features) == int(expected["speed"].sum())


def test_gdal_asks_for_a_projected_crs(live_server, frames):
    got = pyogrio.read_dataframe(f"OAPIF:{live_server}/collections/sensors", CRS="EPSG:3067")
    expected = frames["sensors"].to_crs(3067)
    assert got.crs.to_epsg() == 3067
    got = got.set_index("station").loc[expected["station"]]
    np.testing.assert_allclose(got.geometry.x, expected.geometry.x, atol=1e-6)
    np.testing.assert_allclose(got.geometry.y, expected.geometry.y, atol=1e-6)


def test_gdal_reads_timestamps_as_published(live_server, frames):
    got = pyogrio.read_dataframe(f"OAPIF:{live_server}/collections/sensors")
    got = got.set_index("station").loc[frames["sensors"]["station"]]
    assert (
        got["observed"].dt.tz_convert("UTC").to_numpy() == frames["sensors"]["observed"].to_numpy()
    ).all()


def test_owslib_passes_a_cql2_filter(live_server, frames):
    doc = Features(live_server).collection_items(
        "buildings", filter="floors > 5 AND use = 'office'", limit=500
    )
    frame = frames["buildings"]
    expected = frame[(frame["floors"] > 5) & (frame["use"] == "office")]
    assert sorted(f["id"] for f in doc["features"]) == sorted(expected.index)


def test_the_shared_store_is_on_the_selected_back_end(settings):
    """`make test-pg` really runs this suite on PostgreSQL + S3 (tests/backend.py)."""
    remote = os.environ.get("CIVIC_TEST_BACKEND") == "pg-s3"
    assert settings.catalog_url.startswith("postgresql+psycopg://") is remote
    assert settings.store_url.startswith("s3://") is remote
