"""GeoParquet 1.1 output: metadata, bbox covering column, spatial order, round trip."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely import box

from opendata.store.geoparquet import (
    ROW_GROUP_SIZE,
    read_geo_metadata,
    read_geoparquet,
    write_geoparquet,
)


@pytest.fixture
def frame() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    x = rng.uniform(24.93, 24.96, 3000)
    y = rng.uniform(60.16, 60.18, 3000)
    geoms = [box(a, b, a + 0.0005, b + 0.0003) for a, b in zip(x, y, strict=True)]
    return gpd.GeoDataFrame(
        {"name": [f"talo {i} åäö" for i in range(3000)], "n": np.arange(3000)},
        geometry=geoms,
        crs="EPSG:4326",
    )


def test_metadata_declares_version_crs_and_covering(
    frame: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "b.parquet"
    write_geoparquet(frame, path)
    geo = read_geo_metadata(path)
    column = geo["columns"]["geometry"]
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert column["encoding"] == "WKB"
    assert column["geometry_types"] == ["Polygon"]
    assert column["crs"]["id"] == {"authority": "EPSG", "code": 4326}
    assert column["covering"] == {
        "bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}
    }
    assert column["bbox"] == pytest.approx(list(frame.total_bounds))


def test_bbox_column_equals_each_geometry_bounds(frame: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = tmp_path / "b.parquet"
    written = write_geoparquet(frame, path)
    table = pq.read_table(path, columns=["bbox"]).column("bbox").combine_chunks()
    got = np.column_stack([table.field(k).to_numpy() for k in ("xmin", "ymin", "xmax", "ymax")])
    np.testing.assert_allclose(got, written.geometry.bounds.to_numpy(), rtol=0, atol=1e-6)


def test_rows_are_spatially_sorted(frame: gpd.GeoDataFrame, tmp_path: Path) -> None:
    written = write_geoparquet(frame, tmp_path / "b.parquet")

    def step(f: gpd.GeoDataFrame) -> float:
        b = f.geometry.bounds
        cx, cy = (b.minx + b.maxx) / 2, (b.miny + b.maxy) / 2
        return float(np.hypot(np.diff(cx), np.diff(cy)).mean())

    # Consecutive rows along a Hilbert curve are far closer than in random order.
    assert step(written) < step(frame) / 10


def test_round_trip_keeps_values_and_adds_fid(frame: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = tmp_path / "b.parquet"
    written = write_geoparquet(frame, path)
    back = read_geoparquet(path).drop(columns="bbox", errors="ignore")
    assert back["fid"].tolist() == list(range(1, 3001))
    assert_geodataframe_equal(back, written, check_less_precise=False)


def test_row_groups_and_compression(frame: gpd.GeoDataFrame, tmp_path: Path) -> None:
    big = gpd.GeoDataFrame(gpd.pd.concat([frame] * 40, ignore_index=True), crs="EPSG:4326")
    path = tmp_path / "big.parquet"
    write_geoparquet(big, path)
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == 120_000
    assert meta.num_row_groups == -(-120_000 // ROW_GROUP_SIZE)
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"ZSTD"}


def test_point_fast_path_writes_the_same_wkb_as_shapely(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    pts = gpd.GeoDataFrame(
        {"v": np.arange(500)},
        geometry=gpd.points_from_xy(rng.uniform(24.9, 25.0, 500), rng.uniform(60.1, 60.2, 500)),
        crs="EPSG:4326",
    )
    path = tmp_path / "p.parquet"
    written = write_geoparquet(pts, path)
    raw = pq.read_table(path, columns=["geometry"]).column("geometry").to_pylist()
    assert raw == list(written.geometry.to_wkb())
    back = read_geoparquet(path)
    assert back.geometry.geom_equals_exact(written.geometry, tolerance=0).all()
    assert read_geo_metadata(path)["columns"]["geometry"]["geometry_types"] == ["Point"]
