"""The dataset page's recipes work as written: the DuckDB snippet runs offline on the file its
own curl line downloads from a live server, and "first 10 features as GeoJSON" is GeoJSON even
when a browser follows it. Uses the light three-layer store of tests/api/conftest.py."""

from __future__ import annotations

import re
import shlex
import subprocess

import duckdb
import pyarrow.parquet as pq
import pytest
import requests

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def page_json(base: str, name: str) -> dict:
    resp = requests.get(f"{base}/datasets/{name}?f=json", timeout=30)
    assert resp.status_code == 200
    return resp.json()


def snippet(page: dict, label: str) -> str:
    return next(s["code"] for s in page["snippets"] if s["label"] == label)


def statements(sql: str) -> str:
    """The SQL without its comment lines."""
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))


def test_duckdb_snippet_needs_no_extension(app):
    page = app.test_client().get("/datasets/buildings?f=json").get_json()
    sql = snippet(page, "DuckDB")
    assert "httpfs" not in statements(sql) and "http" not in statements(sql)
    assert "INSTALL httpfs" in sql  # still offered, as a commented option
    assert "read_parquet('buildings-v1.parquet')" in statements(sql)


@pytest.mark.e2e
def test_duckdb_snippet_runs_offline_on_the_file_its_curl_downloads(
    live_server, paths, tmp_path, monkeypatch
):
    sql = snippet(page_json(live_server, "buildings"), "DuckDB")
    (curl,) = [line.lstrip("- ") for line in sql.splitlines() if "curl " in line]
    assert f"{live_server}/datasets/buildings/versions/1/buildings.parquet" in curl
    done = subprocess.run(shlex.split(curl), cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    monkeypatch.chdir(tmp_path)
    offline = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    result = offline.sql(sql).to_arrow_table()
    stored = pq.read_table(paths["buildings"]).slice(0, 10)
    assert result.num_rows == 10
    assert result.column_names == [n for n in stored.column_names if n not in ("geometry", "bbox")]
    assert result.column("name").to_pylist() == stored.column("name").to_pylist()


@pytest.mark.e2e
def test_geojson_link_gives_a_feature_collection_of_ten_to_a_browser(live_server):
    page = page_json(live_server, "buildings")
    link = next(a for a in page["apis"] if a["type"] == "application/geo+json")
    resp = requests.get(live_server + link["href"], headers=BROWSER, timeout=30)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/geo+json")
    doc = resp.json()
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == 10
    assert all(f["type"] == "Feature" for f in doc["features"])


def test_page_keeps_the_sql_link(app):
    page = app.test_client().get("/datasets/streets?f=json").get_json()
    sql = [a for a in page["apis"] if a["href"] == "/sql"]
    assert len(sql) == 1 and sql[0]["type"] == "text/html"
    assert re.search(
        r"limit=10&f=json$", next(a["href"] for a in page["apis"] if "limit" in a["href"])
    )
