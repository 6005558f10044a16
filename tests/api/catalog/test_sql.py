"""The SQL endpoint on valid queries: results equal GeoPandas on the published files, the three
output formats, request styles, the row limit flag and problem+json for bad requests."""

from __future__ import annotations

import io
from dataclasses import replace

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests
import shapely

from api.app import create_app
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path
from tests.api.conftest_data import Store, live_server, published_store, table_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return published_store(tmp_path_factory)


@pytest.fixture(scope="module")
def client(store: Store):
    return create_app(store.settings).test_client()


@pytest.fixture(scope="module")
def frames(store: Store) -> dict[str, gpd.GeoDataFrame]:
    catalog = Catalog(store.settings.catalog_url)
    return {d.name: gpd.read_parquet(version_path(store.settings, v)) for d, v in catalog.current()}


def run(client, sql: str, **params) -> dict:
    resp = client.get("/api/sql", query_string={"sql": sql, **params})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json


@pytest.mark.parametrize("name", ["buildings", "services", "streets"])
def test_count_equals_published_rows(client, frames, name: str) -> None:
    body = run(client, f"SELECT count(*) AS n FROM {name}")
    assert body["rows"] == [[len(frames[name])]]
    assert body["columns"] == [{"name": "n", "type": "BIGINT"}]
    assert body["truncated"] is False


def test_group_by_equals_geopandas(client, frames) -> None:
    body = run(
        client, "SELECT category, count(*) FROM services GROUP BY category ORDER BY category"
    )
    expected = frames["services"]["category"].value_counts().sort_index()
    assert body["rows"] == [[k, int(v)] for k, v in expected.items()]


def test_join_of_two_datasets_equals_geopandas(client, frames) -> None:
    body = run(
        client,
        "SELECT b.floors, count(*) AS n, round(sum(b.area_m2), 3) AS area "
        "FROM services s JOIN buildings b ON s.building = b.fid "
        "GROUP BY b.floors ORDER BY b.floors",
    )
    merged = frames["services"].merge(
        pd.DataFrame(frames["buildings"].drop(columns="geometry")),
        left_on="building",
        right_on="fid",
    )
    expected = merged.groupby("floors").agg(n=("fid_x", "size"), area=("area_m2", "sum"))
    assert body["rows"] == [
        [int(f), int(r.n), round(float(r.area), 3)] for f, r in expected.iterrows()
    ]


def test_geometry_is_wkb_rendered_as_wkt_in_json(client, frames) -> None:
    body = run(
        client,
        "SELECT fid, geometry, bbox, typeof(geometry) AS t FROM buildings ORDER BY fid LIMIT 3",
    )
    frame = frames["buildings"].set_index("fid")
    for fid, wkt, bbox, kind in body["rows"]:
        assert kind == "BLOB"
        assert shapely.from_wkt(wkt).equals_exact(frame.geometry[fid], 1e-12)
        assert bbox["xmin"] == pytest.approx(frame.geometry[fid].bounds[0])


def test_builtin_spatial_functions_work_on_the_wkb(client) -> None:
    body = run(
        client, "SELECT ST_AsText(ST_GeomFromWKB(geometry)) FROM services ORDER BY fid LIMIT 1"
    )
    assert body["rows"][0][0].startswith("POINT")


def test_non_geometry_blobs_render_as_hex(client) -> None:
    assert run(client, "SELECT 'ab'::BLOB AS b")["rows"] == [["6162"]]


@pytest.mark.parametrize(
    "sql",
    [
        "DESCRIBE buildings",
        "SHOW TABLES",
        "SUMMARIZE services",
        "VALUES (1, 'a'), (2, 'b')",
        "FROM streets SELECT name LIMIT 1",
        "WITH t AS (SELECT 1 AS x) SELECT * FROM t",
        "SELECT * FROM range(3)",
    ],
)
def test_read_only_statement_kinds_are_allowed(client, sql: str) -> None:
    assert run(client, sql)["row_count"] >= 1


def test_show_tables_lists_one_view_per_dataset(client) -> None:
    assert run(client, "SHOW TABLES")["rows"] == [["buildings"], ["services"], ["streets"]]


def test_csv_output(client, frames) -> None:
    resp = client.get(
        "/api/sql",
        query_string={
            "sql": "SELECT fid, name, geometry FROM buildings ORDER BY fid",
            "format": "csv",
        },
    )
    assert resp.headers["Content-Type"].startswith("text/csv")
    frame = pd.read_csv(io.BytesIO(resp.data), encoding="utf-8")
    assert list(frame.columns) == ["fid", "name", "geometry"]
    assert len(frame) == len(frames["buildings"])
    assert frame["name"].tolist() == frames["buildings"].sort_values("fid")["name"].tolist()


def test_parquet_output(client) -> None:
    resp = client.post("/api/sql?format=parquet", json={"sql": "SELECT fid, floors FROM buildings"})
    assert resp.headers["Content-Type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(resp.data))
    assert table.num_rows == 300
    assert table.column_names == ["fid", "floors"]


def test_post_json_and_form(client) -> None:
    by_json = client.post("/api/sql", json={"sql": "SELECT 41 + 1 AS x"})
    by_form = client.post("/api/sql", data={"sql": "SELECT 41 + 1 AS x"})
    assert by_json.json["rows"] == by_form.json["rows"] == [[42]]


def test_row_limit_truncates_and_flags(store: Store) -> None:
    small = create_app(replace(store.settings, sql_max_rows=50)).test_client()
    resp = small.get("/api/sql", query_string={"sql": "SELECT fid FROM buildings"})
    assert resp.json["row_count"] == 50
    assert resp.json["truncated"] is True
    assert resp.headers["X-Truncated"] == "true"


def test_results_are_not_cached(client) -> None:
    assert client.get("/api/sql?sql=SELECT 1").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"query_string": {}}, "sql"),
        ({"query_string": {"sql": "   "}}, "sql"),
        ({"query_string": {"sql": "SELECT 1", "format": "xml"}}, "format"),
        ({"query_string": {"sql": "SELEC 1"}}, "syntax"),
        ({"query_string": {"sql": "SELECT nope FROM buildings"}}, "nope"),
        ({"query_string": {"sql": "SELECT * FROM missing_table"}}, "unknown table"),
        ({"query_string": {"sql": "SELECT 1 WHERE 1 = ?"}}, ""),
    ],
)
def test_bad_requests_are_400_problems(client, kwargs: dict, fragment: str) -> None:
    resp = client.get("/api/sql", **kwargs)
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert fragment.lower() in resp.json["detail"].lower()


def test_json_body_must_be_an_object(client) -> None:
    resp = client.post("/api/sql", json=["SELECT 1"])
    assert resp.status_code == 400
    assert "object" in resp.json["detail"]


def test_error_messages_do_not_leak_server_paths(client, store: Store) -> None:
    resp = client.get(
        "/api/sql", query_string={"sql": "SELECT CAST(name AS INTEGER) FROM buildings"}
    )
    assert resp.status_code == 400
    assert str(store.settings.data_dir) not in resp.get_data(as_text=True)


@pytest.mark.e2e
def test_sql_over_a_live_server(store: Store, frames) -> None:
    with live_server(store.settings) as url:
        resp = requests.post(
            f"{url}/api/sql", json={"sql": "SELECT count(*) FROM services"}, timeout=30
        )
        refused = requests.get(
            f"{url}/api/sql", params={"sql": "FROM read_text('/etc/passwd')"}, timeout=30
        )
    assert resp.json()["rows"] == [[len(frames["services"])]]
    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == "application/problem+json"


def test_tables_without_geometry_are_views_too(tmp_path_factory) -> None:
    client = create_app(table_store(tmp_path_factory).settings).test_client()
    body = run(client, "SELECT sum(trips) AS total FROM scenario_trips")
    assert body["rows"] == [[233.75]]
