"""GeoJSON, GeoPackage and zipped Shapefile readers: CRS agreement, layers, .prj/.cpg, bad zips."""

from __future__ import annotations

import json
import zipfile

import pyproj
import pytest

from opendata.errors import SourceError, SpecError
from opendata.readers.vector import read_geojson, read_gpkg, read_shapefile
from tests.opendata.readers.fixtures_readers import (
    PLACES,
    places_frame,
    truncated,
    two_layer_gpkg,
    zipped_shapefile,
)

GEOD = pyproj.Geod(ellps="WGS84")
NAMES = [p.name for p in PLACES]


def _within_1_m(frame) -> bool:
    wgs84 = frame.to_crs(4326).geometry
    return all(
        GEOD.inv(pt.x, pt.y, place.lon, place.lat)[2] < 1.0
        for pt, place in zip(wgs84, PLACES, strict=True)
    )


# --- GeoJSON ----------------------------------------------------------------------------------


def test_geojson_is_read_in_wgs84_with_names_intact(tmp_path):
    path = tmp_path / "places.geojson"
    places_frame(4326).to_file(path, driver="GeoJSON")
    frame = read_geojson(path, crs=None, options={})
    assert frame["nimi"].tolist() == NAMES
    assert frame.crs.to_epsg() == 4326
    assert _within_1_m(frame)


def test_geojson_declared_as_crs84_matches_its_wgs84(tmp_path):
    path = tmp_path / "places.geojson"
    places_frame(4326).to_file(path, driver="GeoJSON")
    assert len(read_geojson(path, crs="OGC:CRS84", options={})) == len(PLACES)


def test_geojson_with_a_different_declared_crs_is_refused_naming_both(tmp_path):
    path = tmp_path / "places.geojson"
    places_frame(4326).to_file(path, driver="GeoJSON")
    with pytest.raises(SourceError, match=r"EPSG:4326 .* source\.crs is EPSG:3067"):
        read_geojson(path, crs="EPSG:3067", options={})


def test_legacy_geojson_in_a_national_grid_takes_the_declared_crs(tmp_path):
    path = tmp_path / "legacy.geojson"
    collection = json.loads(places_frame(3067).to_json())
    path.write_text(json.dumps(collection), encoding="utf-8")  # no "crs" member: GDAL says 4326
    frame = read_geojson(path, crs="EPSG:3067", options={})
    assert frame.crs.to_epsg() == 3067
    assert _within_1_m(frame)


def test_broken_geojson_is_a_source_error(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(SourceError, match="cannot be read as GeoJSON"):
        read_geojson(path, crs=None, options={})


# --- GeoPackage -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "rows", "kind"), [("koulut", 6, "Point"), ("puistot", 2, "Polygon")]
)
def test_gpkg_layer_option_picks_the_layer(tmp_path, layer, rows, kind):
    frame = read_gpkg(
        two_layer_gpkg(tmp_path / "k.gpkg"), crs="EPSG:3067", options={"layer": layer}
    )
    assert len(frame) == rows
    assert set(frame.geom_type) == {kind}
    assert frame.crs.to_epsg() == 3067


def test_gpkg_with_two_layers_and_no_layer_option_lists_the_layers(tmp_path):
    path = two_layer_gpkg(tmp_path / "k.gpkg")
    with pytest.raises(SpecError, match=r"^source\.options\.layer: .*2 layers \(koulut, puistot\)"):
        read_gpkg(path, crs=None, options={})


def test_gpkg_unknown_layer_lists_the_layers(tmp_path):
    path = two_layer_gpkg(tmp_path / "k.gpkg")
    with pytest.raises(SpecError, match="no layer 'kolut'; it has: koulut, puistot"):
        read_gpkg(path, crs=None, options={"layer": "kolut"})


def test_gpkg_with_one_layer_needs_no_layer_option(tmp_path):
    path = tmp_path / "one.gpkg"
    places_frame(25832).to_file(path, layer="kohteet", driver="GPKG")
    frame = read_gpkg(path, crs=None, options={})
    assert frame.crs.to_epsg() == 25832
    assert _within_1_m(frame)


def test_file_that_is_not_a_gpkg_is_a_source_error(tmp_path):
    path = tmp_path / "fake.gpkg"
    path.write_text("id;nimi\n1;Ähtäri\n", encoding="utf-8")
    with pytest.raises(SourceError, match="fake.gpkg"):
        read_gpkg(path, crs=None, options={})


# --- Shapefile --------------------------------------------------------------------------------


def test_zipped_shapefile_honours_prj_and_cp1252_cpg(tmp_path):
    frame = read_shapefile(zipped_shapefile(tmp_path / "k.zip"), crs=None, options={})
    assert frame["nimi"].tolist() == NAMES
    assert frame.crs.to_epsg() == 3006
    assert _within_1_m(frame)


def test_encoding_option_reads_a_cp1252_dbf_without_cpg(tmp_path):
    path = zipped_shapefile(tmp_path / "k.zip", cpg=False)
    frame = read_shapefile(path, crs=None, options={"encoding": "cp1252"})
    assert frame["nimi"].tolist() == NAMES


def test_shapefile_without_prj_takes_the_declared_crs(tmp_path):
    path = zipped_shapefile(tmp_path / "k.zip", parts=(".shp", ".shx", ".dbf", ".cpg"))
    frame = read_shapefile(path, crs="EPSG:3006", options={})
    assert frame.crs.to_epsg() == 3006
    assert _within_1_m(frame)


def test_shapefile_without_prj_or_declared_crs_is_refused(tmp_path):
    path = zipped_shapefile(tmp_path / "k.zip", parts=(".shp", ".shx", ".dbf", ".cpg"))
    with pytest.raises(SourceError, match="does not say which coordinate system"):
        read_shapefile(path, crs=None, options={})


def test_shapefile_prj_disagreeing_with_declared_crs_is_refused(tmp_path):
    path = zipped_shapefile(tmp_path / "k.zip")
    with pytest.raises(SourceError, match=r"EPSG:3006 .* but source\.crs is EPSG:3067"):
        read_shapefile(path, crs="EPSG:3067", options={})


@pytest.mark.parametrize("missing", [".shx", ".dbf"])
def test_shapefile_missing_a_part_names_it(tmp_path, missing):
    parts = tuple(p for p in (".shp", ".shx", ".dbf", ".prj", ".cpg") if p != missing)
    path = zipped_shapefile(tmp_path / "k.zip", parts=parts)
    with pytest.raises(SourceError, match=f"is missing kohteet{missing}"):
        read_shapefile(path, crs=None, options={})


@pytest.mark.parametrize("key", ["layer", "member"])
def test_zip_with_two_shapefiles_reads_the_chosen_one(tmp_path, key):
    path = zipped_shapefile(tmp_path / "k.zip", extra_layer="puistot")
    frame = read_shapefile(path, crs=None, options={key: "puistot"})
    assert frame["nimi"].tolist() == ["Esplanadi", "Tähtitorninvuori"]


def test_zip_with_two_shapefiles_and_no_choice_lists_them(tmp_path):
    path = zipped_shapefile(tmp_path / "k.zip", extra_layer="puistot")
    with pytest.raises(SpecError, match=r"2 shapefiles \(data/kohteet.shp, data/puistot.shp\)"):
        read_shapefile(path, crs=None, options={})


def test_truncated_zip_is_not_a_valid_zip_archive(tmp_path):
    path = truncated(zipped_shapefile(tmp_path / "k.zip"), tmp_path / "cut.zip", keep=0.6)
    with pytest.raises(SourceError, match=r"is not a valid zip archive \(truncated or corrupt\)"):
        read_shapefile(path, crs=None, options={})


def test_corrupt_member_in_zip_is_not_a_valid_zip_archive(tmp_path):
    path = zipped_shapefile(tmp_path / "k.zip")
    data = bytearray(path.read_bytes())
    offset = zipfile.ZipFile(path).infolist()[0].header_offset + 80
    data[offset : offset + 8] = b"\xff" * 8  # damage the first member's bytes, keep the directory
    path.write_bytes(bytes(data))
    with pytest.raises(SourceError, match="is not a valid zip archive"):
        read_shapefile(path, crs=None, options={})


def test_zip_without_shapefile_says_what_it_holds(tmp_path):
    path = tmp_path / "k.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("lueminut.txt", "hei")
    with pytest.raises(SourceError, match=r"holds no \.shp file \(it has: lueminut.txt\)"):
        read_shapefile(path, crs=None, options={})


@pytest.mark.parametrize(
    ("reader", "options", "key"),
    [
        (read_geojson, {"layer": "x"}, "layer"),
        (read_gpkg, {"layer": 1}, "layer"),
        (read_shapefile, {"encoding": "klingon"}, "encoding"),
        (read_shapefile, {"layer": "a", "member": "b"}, "member"),
    ],
)
def test_bad_options_are_refused_with_their_key_path(tmp_path, reader, options, key):
    path = zipped_shapefile(tmp_path / "k.zip")
    with pytest.raises(SpecError, match=rf"^source\.options\.{key}:"):
        reader(path, crs=None, options=options)
