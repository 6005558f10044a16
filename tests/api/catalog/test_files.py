"""Downloads: the stored GeoParquet with Range/ETag/immutable caching, cached exports, `latest`
redirects, path traversal refusals, and a real HTTP client (fsspec + pyarrow) reading remotely."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import fsspec
import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests
import shapely

from api.app import create_app
from opendata.errors import NotFound
from opendata.store import exports
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path
from tests.api.conftest_data import Store, as_json, live_server, published_store, table_store

PARQUET = "/datasets/buildings/versions/2/buildings.parquet"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return published_store(tmp_path_factory)


@pytest.fixture(scope="module")
def client(store: Store):
    return create_app(store.settings).test_client()


@pytest.fixture(scope="module")
def stored_bytes(store: Store) -> bytes:
    version = Catalog(store.settings.catalog_url).version("buildings", 2)
    return version_path(store.settings, version).read_bytes()


def test_parquet_is_served_as_stored_with_cache_headers(client, stored_bytes: bytes) -> None:
    resp = client.get(PARQUET)
    assert resp.status_code == 200
    assert resp.data == stored_bytes
    assert resp.headers["Content-Type"] == "application/vnd.apache.parquet"
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="buildings-v2.parquet"'
    assert resp.headers["Last-Modified"].endswith("GMT")


def test_parquet_etag_is_the_content_hash(client, store: Store) -> None:
    version = Catalog(store.settings.catalog_url).version("buildings", 2)
    assert client.get(PARQUET).headers["ETag"] == f'"{version.content_hash}"'


def test_conditional_get_with_etag_gives_304(client) -> None:
    etag = client.get(PARQUET).headers["ETag"]
    resp = client.get(PARQUET, headers={"If-None-Match": etag})
    assert resp.status_code == 304
    assert resp.data == b""


def test_conditional_get_with_date_gives_304(client) -> None:
    modified = client.get(PARQUET).headers["Last-Modified"]
    assert client.get(PARQUET, headers={"If-Modified-Since": modified}).status_code == 304


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, None),
        ("bytes=-500", -500, None),
    ],
)
def test_range_requests_return_exact_bytes(
    client, stored_bytes: bytes, header: str, start: int, end: int | None
) -> None:
    resp = client.get(PARQUET, headers={"Range": header})
    expected = stored_bytes[start:end]
    first = start if start >= 0 else len(stored_bytes) + start
    assert resp.status_code == 206
    assert resp.data == expected
    assert (
        resp.headers["Content-Range"]
        == f"bytes {first}-{first + len(expected) - 1}/{len(stored_bytes)}"
    )


def test_unsatisfiable_range_gives_416_problem(client, stored_bytes: bytes) -> None:
    resp = client.get(PARQUET, headers={"Range": f"bytes={len(stored_bytes) + 10}-"})
    assert resp.status_code == 416
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.headers["Content-Range"] == f"bytes */{len(stored_bytes)}"


def test_if_range_with_stale_etag_sends_whole_file(client, stored_bytes: bytes) -> None:
    resp = client.get(PARQUET, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert resp.status_code == 200
    assert resp.data == stored_bytes


def test_older_version_stays_downloadable(client, store: Store) -> None:
    resp = client.get("/datasets/buildings/versions/1/buildings.parquet")
    assert resp.status_code == 200
    assert pq.read_table(pd.io.common.BytesIO(resp.data)).num_rows == 280


def test_csv_has_wkt_geometry_and_utf8_names(client, store: Store) -> None:
    resp = client.get("/datasets/buildings/versions/2/buildings.csv")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    frame = pd.read_csv(pd.io.common.BytesIO(resp.data), encoding="utf-8")
    assert len(frame) == 300
    assert any("Pörssitalo" in n for n in frame["name"])
    assert shapely.from_wkt(frame["geometry"][0]).geom_type == "Polygon"


@pytest.mark.parametrize("ext", ["geojson", "gpkg"])
def test_spatial_exports_read_back_with_same_rows(
    client, store: Store, tmp_path: Path, ext: str
) -> None:
    resp = client.get(f"/datasets/services/versions/1/services.{ext}")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"] == f'attachment; filename="services-v1.{ext}"'
    path = tmp_path / f"x.{ext}"
    path.write_bytes(resp.data)
    frame = gpd.read_file(path)
    expected = store.frames["services"]
    assert sorted(frame["name"]) == sorted(expected["name"])
    assert frame.crs.to_epsg() == 4326


def test_exports_are_cached_with_stable_etag(client, store: Store) -> None:
    first = client.get("/datasets/streets/versions/1/streets.geojson")
    version = Catalog(store.settings.catalog_url).version("streets", 1)
    cached = exports.cache_file(store.settings, version, "geojson")
    assert cached.is_file()
    second = client.get(
        "/datasets/streets/versions/1/streets.geojson",
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert second.status_code == 304


def test_concurrent_first_requests_build_one_valid_file(store: Store) -> None:
    version = Catalog(store.settings.catalog_url).version("buildings", 1)
    results: list[bytes] = []

    def build() -> None:
        path = exports.export_file(store.settings, version, "csv")
        results.append(path.read_bytes())

    threads = [threading.Thread(target=build) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert results[0].count(b"\n") == 281  # header + 280 rows
    leftovers = [
        p
        for p in exports.cache_file(store.settings, version, "csv").parent.iterdir()
        if ".tmp" in p.name
    ]
    assert leftovers == []


def test_latest_redirects_to_current_version(client) -> None:
    resp = client.get("/datasets/buildings/latest.parquet")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/datasets/buildings/versions/2/buildings.parquet")
    assert resp.headers["Cache-Control"] == "public, max-age=60"


@pytest.mark.parametrize(
    "url",
    [
        "/datasets/buildings/versions/2/..%2F..%2Fcatalog.db",
        "/datasets/%2e%2e/versions/1/%2e%2e.parquet",
        "/datasets/..%2F..%2Fetc/versions/1/passwd.parquet",
        "/datasets/buildings/versions/2/..%2fbuildings.parquet",
        "/datasets/buildings/versions/2/%2Fetc%2Fpasswd",
        "/datasets/buildings/versions/2/services.parquet",
        "/datasets/buildings/versions/2/buildings.exe",
        "/datasets/buildings/versions/2/buildings.db",
        "/datasets/buildings/versions/-1/buildings.parquet",
        "/datasets/buildings/versions/99/buildings.parquet",
        "/datasets/Buildings/versions/2/Buildings.parquet",
        "/datasets/buildings/latest.exe",
        "/datasets/nope/latest.csv",
        "/datasets/buildings'%20OR%201=1--/latest.csv",
        "//etc/passwd",
    ],
)
def test_traversal_and_unknown_files_are_problem_404(client, url: str) -> None:
    resp = client.get(url)
    assert resp.status_code in (400, 404)
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert "root:" not in resp.get_data(as_text=True)
    assert as_json(resp.data)["status"] == resp.status_code


def test_catalog_path_outside_data_dir_is_refused(store: Store) -> None:
    version = Catalog(store.settings.catalog_url).version("buildings", 2)
    evil = replace(version, path="../../../../etc/passwd")
    with pytest.raises(NotFound, match="not available"):
        exports.stored_file(store.settings, evil)


@pytest.mark.e2e
def test_pyarrow_reads_remote_parquet_over_http(store: Store) -> None:
    version = Catalog(store.settings.catalog_url).version("buildings", 2)
    local = pq.read_table(version_path(store.settings, version))
    with live_server(store.settings) as url:
        fs = fsspec.filesystem("http")
        with fs.open(f"{url}{PARQUET}", block_size=4096) as handle:
            remote = pq.read_table(handle)
        head = requests.head(f"{url}{PARQUET}", timeout=10)
        ranged = requests.get(f"{url}{PARQUET}", headers={"Range": "bytes=-8"}, timeout=10)
    assert remote.equals(local)
    assert head.headers["Accept-Ranges"] == "bytes"
    assert ranged.status_code == 206
    assert ranged.content[-4:] == b"PAR1"


@pytest.fixture(scope="module")
def table_client(tmp_path_factory: pytest.TempPathFactory):
    return create_app(table_store(tmp_path_factory).settings).test_client()


def test_table_without_geometry_downloads_as_parquet_and_csv(table_client) -> None:
    csv = table_client.get("/datasets/scenario_trips/versions/1/scenario_trips.csv")
    parquet = table_client.get("/datasets/scenario_trips/versions/1/scenario_trips.parquet")
    assert csv.data.decode() == "fid,zone,trips\n1,1,120.5\n2,2,80.0\n3,3,33.25\n"
    assert pq.read_table(pd.io.common.BytesIO(parquet.data)).column_names == [
        "fid",
        "zone",
        "trips",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/datasets/scenario_trips/versions/1/scenario_trips.geojson",
        "/datasets/scenario_trips/latest.gpkg",
    ],
)
def test_table_without_geometry_has_no_spatial_formats(table_client, url: str) -> None:
    resp = table_client.get(url)
    assert resp.status_code == 404
    assert "geometry" in resp.json["detail"] or "formats: parquet, csv" in resp.json["detail"]
