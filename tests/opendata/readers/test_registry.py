"""Every registered reader reads a real file through `read_source`, and is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from opendata.readers import READERS, read_source
from tests.conftest import ROOT
from tests.opendata.readers.fixtures_readers import (
    OSM_PBF,
    places_csv,
    places_frame,
    places_geoparquet,
    places_xlsx,
    two_layer_gpkg,
    zipped_shapefile,
)
from tests.opendata.readers.test_gtfs import gtfs_zip

DOCS = ROOT / "docs" / "readers.md"


def _geojson(path: Path) -> Path:
    places_frame(4326).to_file(path, driver="GeoJSON")
    return path


#: format -> (builder into a folder, crs, options, expected rows)
CASES = {
    "csv": (
        lambda d: places_csv(d / "k.csv"),
        "EPSG:3067",
        {"x": "x", "y": "y", "decimal": ","},
        6,
    ),
    "geojson": (lambda d: _geojson(d / "k.geojson"), None, {}, 6),
    "gpkg": (lambda d: two_layer_gpkg(d / "k.gpkg"), None, {"layer": "puistot"}, 2),
    "shapefile": (lambda d: zipped_shapefile(d / "k.zip"), None, {}, 6),
    "xlsx": (
        lambda d: places_xlsx(d / "k.xlsx"),
        "EPSG:3067",
        {"sheet": "Kohteet", "x": "x", "y": "y"},
        6,
    ),
    "parquet": (lambda d: places_geoparquet(d / "k.parquet"), None, {}, 6),
    "osm_pbf": (lambda d: OSM_PBF, None, {"filter": "amenity=school"}, 3),
    "gtfs": (lambda d: gtfs_zip(d / "feed.zip"), None, {}, 4),
}


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_registered_reader_reads_a_real_file_through_read_source(tmp_path, fmt):
    build, crs, options, rows = CASES[fmt]
    frame = read_source(build(tmp_path), fmt, crs=crs, options=options)
    assert len(frame) == rows
    assert frame.crs is not None


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_registered_reader_is_documented(fmt):
    assert f"## `{fmt}`" in DOCS.read_text(encoding="utf-8")
