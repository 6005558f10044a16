"""Parquet reader: GeoParquet with its CRS, plain Parquet with x/y or WKT, corrupt files."""

from __future__ import annotations

import pyproj
import pytest

from opendata.errors import SourceError, SpecError
from opendata.readers.parquet import read_parquet
from tests.opendata.readers.fixtures_readers import (
    PLACES,
    places_geoparquet,
    places_plain_parquet,
    truncated,
)

GEOD = pyproj.Geod(ellps="WGS84")


def _within_1_m(frame) -> bool:
    wgs84 = frame.to_crs(4326).geometry
    return all(
        GEOD.inv(pt.x, pt.y, place.lon, place.lat)[2] < 1.0
        for pt, place in zip(wgs84, PLACES, strict=True)
    )


@pytest.mark.parametrize("epsg", [3067, 3006, 25832, 4326])
def test_geoparquet_keeps_its_crs_and_positions(tmp_path, epsg):
    frame = read_parquet(places_geoparquet(tmp_path / "k.parquet", epsg), crs=None, options={})
    assert frame.crs.to_epsg() == epsg
    assert frame["nimi"].tolist() == [p.name for p in PLACES]
    assert _within_1_m(frame)


def test_geoparquet_crs_disagreeing_with_declared_is_refused(tmp_path):
    path = places_geoparquet(tmp_path / "k.parquet", 3006)
    with pytest.raises(SourceError, match=r"EPSG:3006 .* but source\.crs is EPSG:3067"):
        read_parquet(path, crs="EPSG:3067", options={})


@pytest.mark.parametrize(
    ("wkt", "options"), [(False, {"x": "x", "y": "y"}), (True, {"wkt": "wkt"})], ids=["xy", "wkt"]
)
def test_plain_parquet_geometry_from_columns(tmp_path, wkt, options):
    path = places_plain_parquet(tmp_path / "k.parquet", wkt=wkt)
    frame = read_parquet(path, crs="EPSG:3067", options=options)
    assert _within_1_m(frame)
    assert list(frame.columns) == ["id", "nimi", "geometry"]
    assert frame["id"].tolist() == [1, 2, 3, 4, 5, 6]  # Parquet is typed: ints stay ints


def test_plain_parquet_without_crs_is_refused(tmp_path):
    path = places_plain_parquet(tmp_path / "k.parquet")
    with pytest.raises(SpecError, match=r"^source\.crs: required"):
        read_parquet(path, crs=None, options={"x": "x", "y": "y"})


def test_plain_parquet_missing_x_column_is_named(tmp_path):
    path = places_plain_parquet(tmp_path / "k.parquet")
    with pytest.raises(SourceError, match=r"has no column\(s\) \['itä'\]"):
        read_parquet(path, crs="EPSG:3067", options={"x": "itä", "y": "y"})


def test_geoparquet_with_x_y_options_is_refused(tmp_path):
    path = places_geoparquet(tmp_path / "k.parquet")
    with pytest.raises(SpecError, match=r"^source\.options\.x: .*GeoParquet"):
        read_parquet(path, crs=None, options={"x": "x", "y": "y"})


@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_truncated_parquet_is_a_source_error(tmp_path, keep):
    path = truncated(places_geoparquet(tmp_path / "k.parquet"), tmp_path / "cut.parquet", keep)
    with pytest.raises(SourceError, match=r"is not a valid Parquet file \(truncated or corrupt"):
        read_parquet(path, crs=None, options={})


@pytest.mark.parametrize(
    ("options", "key"),
    [({"x": "x"}, "x"), ({"decimal": ";"}, "decimal"), ({"layer": "a"}, "layer")],
)
def test_bad_options_are_refused_with_their_key_path(tmp_path, options, key):
    path = places_plain_parquet(tmp_path / "k.parquet")
    with pytest.raises(SpecError, match=rf"^source\.options\.{key}:"):
        read_parquet(path, crs="EPSG:3067", options=options)
