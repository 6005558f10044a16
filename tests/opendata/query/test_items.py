"""The DuckDB read layer on published GeoParquet: pages, counts, bbox semantics, caching."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opendata.query import items as query
from opendata.query import tables as query_store
from opendata.query.tables import FeatureQuery, QueryError
from opendata.settings import Settings
from opendata.store.publish import Release, publish, version_path
from tests.api.conftest import BUILDING_BOX, publish_fixtures


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return publish_fixtures(Settings(data_dir=tmp_path_factory.mktemp("query-store")))


@pytest.fixture(scope="module")
def buildings(layers) -> gpd.GeoDataFrame:
    return gpd.read_parquet(layers["buildings"]).set_index("fid", drop=False)


def test_source_describes_the_file(layers):
    src = query.source(layers["sensors"])
    assert (src.rows, src.geometry, src.covering, src.temporal) == (
        300,
        "geometry",
        "bbox",
        "observed",
    )
    assert list(src.properties) == ["station", "observed", "pm25", "kind"]
    assert src.starts == (1,) and src.geometry_types == ("Point",)


def test_source_is_cached_per_path(layers):
    assert query.source(layers["buildings"]) is query.source(str(layers["buildings"]))


def test_unfiltered_page_is_a_slice_of_fids(layers):
    page, matched = query.features(layers["buildings"], FeatureQuery(limit=5, offset=495))
    assert matched == 500
    assert page.column("fid").to_pylist() == [496, 497, 498, 499, 500]


def test_page_columns_are_fid_properties_and_wkb(layers, buildings):
    page, _ = query.features(layers["buildings"], FeatureQuery(limit=1, offset=9))
    assert page.column_names == [
        "fid",
        "name",
        "floors",
        "height",
        "use",
        "listed",
        "built",
        "geometry",
    ]
    assert shapely.from_wkb(page.column("geometry")[0].as_py()).equals(buildings.loc[10].geometry)


def test_rows_come_back_in_the_order_asked(layers):
    ids = query.rows(query.source(layers["buildings"]), np.array([300, 2, 150, 3]))
    assert ids.column("fid").to_pylist() == [300, 2, 150, 3]


def test_rows_of_unknown_ids_are_skipped(layers):
    table = query.rows(query.source(layers["streets"]), np.array([40, 7, 99, 0]))
    assert table.column("fid").to_pylist() == [40, 7]
    assert table.column_names == ["fid", "street", "speed", "geometry"]


def test_no_rows_is_an_empty_table_with_the_page_columns(layers):
    table = query.rows(query.source(layers["streets"]), np.array([], dtype=np.int64))
    assert (table.num_rows, table.column_names) == (0, ["fid", "street", "speed", "geometry"])


def test_feature_by_id_and_missing_id(layers, buildings):
    assert query.feature(layers["buildings"], 77).column("name").to_pylist() == [
        buildings.loc[77, "name"]
    ]
    assert query.feature(layers["buildings"], 501).num_rows == 0


def test_filtered_count_is_exact_and_independent_of_the_page(layers, buildings):
    tree = {"op": ">", "args": [{"property": "floors"}, 6]}
    counts = {
        query.features(layers["buildings"], FeatureQuery(limit=n, filter=tree))[1]
        for n in (1, 10, 1000)
    }
    assert counts == {int((buildings["floors"] > 6).sum())}


def test_unknown_property_is_a_query_error(layers):
    with pytest.raises(QueryError, match="unknown property 'nope'"):
        query.features(layers["buildings"], FeatureQuery(properties={"nope": 1}))


def test_type_mismatch_that_slips_through_is_a_query_error_not_a_crash(layers):
    tree = {"op": "=", "args": [{"property": "floors"}, "three"]}
    with pytest.raises(QueryError, match="cannot be evaluated"):
        query.features(layers["buildings"], FeatureQuery(filter=tree))


def test_bbox_on_points_needs_no_exact_step_and_is_exact(layers):
    frame = gpd.read_parquet(layers["sensors"])
    bbox = (24.93, 60.16, 24.97, 60.18)
    _, matched = query.features(layers["sensors"], FeatureQuery(bbox=bbox))
    assert matched == int(frame.intersects(shapely.box(*bbox)).sum())


def test_large_exact_match_lists_go_through_an_arrow_table(layers, buildings, monkeypatch):
    monkeypatch.setattr(query, "_INLINE_IDS", 3)
    polygon = shapely.Polygon([(24.935, 60.164), (24.953, 60.170), (24.940, 60.179)])
    tree = {"op": "s_intersects", "args": [{"property": "geometry"}, polygon]}
    _, matched = query.features(layers["buildings"], FeatureQuery(filter=tree))
    assert matched == int(buildings.intersects(polygon).sum())


coords = st.floats(0, 1, allow_nan=False)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(x0=coords, y0=coords, w=st.floats(0, 0.5), h=st.floats(0, 0.5))
def test_bbox_filter_equals_shapely_intersects(layers, buildings, x0, y0, w, h):
    xmin, ymin, xmax, ymax = BUILDING_BOX
    dx, dy = xmax - xmin, ymax - ymin
    bbox = (xmin + x0 * dx, ymin + y0 * dy, xmin + (x0 + w) * dx, ymin + (y0 + h) * dy)
    page, matched = query.features(layers["buildings"], FeatureQuery(bbox=bbox, limit=1000))
    expected = set(buildings.index[buildings.intersects(shapely.box(*bbox))])
    assert matched == len(expected)
    assert set(page.column("fid").to_pylist()) == expected


def test_projected_bbox_is_densified_before_transforming():
    polygon = query.bbox_polygon((380000, 6670000, 390000, 6680000), "EPSG:3067")
    assert len(shapely.get_coordinates(polygon)) > 5  # more than the 4 corners + closing point
    assert not polygon.equals(shapely.box(*polygon.bounds))


def test_epsg_4326_bbox_is_lat_lon():
    polygon = query.bbox_polygon(
        (60.1, 24.9, 60.2, 25.0), "http://www.opengis.net/def/crs/EPSG/0/4326"
    )
    assert polygon.bounds == pytest.approx((24.9, 60.1, 25.0, 60.2))


def test_temporal_extent(layers):
    start, end = query_store.extent_of(layers["sensors"])
    frame = gpd.read_parquet(layers["sensors"])
    assert start == frame["observed"].min().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert end == frame["observed"].max().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert query_store.extent_of(layers["streets"]) == (None, None)


def test_each_thread_gets_its_own_connection(layers):
    cursors, counts = [], []

    def work() -> None:
        cursors.append(query.cursor())
        counts.append(query.features(layers["streets"], FeatureQuery(limit=3, offset=10))[1])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in cursors}) == 4
    assert counts == [60] * 4


def test_large_files_are_read_from_parquet_directly(layers, monkeypatch):
    monkeypatch.setattr(query_store, "MEMORY_MAX_BYTES", 0)
    src = query_store._describe(str(layers["streets"]))
    assert src.relation.startswith("read_parquet(")
    monkeypatch.setitem(query_store._SOURCES, str(layers["streets"]), src)
    page, matched = query.features(
        layers["streets"], FeatureQuery(limit=4, offset=2, properties={"speed": 30})
    )
    frame = gpd.read_parquet(layers["streets"])
    assert matched == int((frame["speed"] == 30).sum())
    assert page.column("fid").to_pylist() == frame.loc[frame["speed"] == 30, "fid"].tolist()[2:6]


@pytest.mark.parametrize("bbox", [(24.94, 60.17, 24.945, 60.174), (24.93, 60.16, 24.96, 60.18)])
def test_large_files_filter_bboxes_in_duckdb(layers, buildings, monkeypatch, bbox):
    path = str(layers["buildings"])
    monkeypatch.setattr(query_store, "MEMORY_MAX_BYTES", 0)
    monkeypatch.setitem(query_store._SOURCES, path, query_store._describe(path))
    monkeypatch.delitem(query._BOXES, path, raising=False)
    page, matched = query.features(path, FeatureQuery(bbox=bbox, limit=1000))
    expected = set(buildings.index[buildings.intersects(shapely.box(*bbox))])
    assert (matched, set(page.column("fid").to_pylist())) == (len(expected), expected)
    assert query._BOXES[path] is None  # no in-memory index was built


def test_timestamps_without_zone_are_compared_as_utc(tmp_path):
    settings = Settings(data_dir=tmp_path)
    frame = gpd.GeoDataFrame(
        {"seen": pd.date_range("2024-01-01", periods=48, freq="h")},
        geometry=gpd.points_from_xy(np.linspace(24.9, 25.0, 48), np.full(48, 60.17)),
        crs=4326,
    )
    release = Release(
        name="naive",
        spec={},
        columns=[{"name": "seen", "type": "datetime"}],
        content_hash="naive-1",
        source_crs=None,
        provenance={},
        report={},
    )
    path = version_path(settings, publish(settings, release, frame).version)
    start = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))  # 10:00 UTC
    _, matched = query.features(path, FeatureQuery(datetime=(start, None)))
    assert matched == int((frame["seen"] >= "2024-01-01T10:00:00").sum()) == 38


def test_sortby_orders_then_breaks_ties_by_fid(layers, buildings):
    page, _ = query.features(layers["buildings"], FeatureQuery(limit=20, sortby=(("use", True),)))
    expected = buildings.reset_index(drop=True).sort_values(["use", "fid"])["fid"].tolist()[:20]
    assert page.column("fid").to_pylist() == expected
