"""OSM PBF reader on the bundled central Helsinki extract: filters, kinds, areas, bad files."""

from __future__ import annotations

import pytest
import shapely

from opendata.errors import SourceError, SpecError
from opendata.readers import REJECT_COLUMN
from opendata.readers.osm import read_osm
from tests.opendata.readers.fixtures_readers import OSM_PBF, truncated

HELSINKI = shapely.box(24.85, 60.13, 25.05, 60.21)


def _read(**options):
    return read_osm(OSM_PBF, crs=None, options=options)


def _built(frame):
    """Rows whose geometry could be built (objects cut by the extract edge are rejected)."""
    if REJECT_COLUMN not in frame:
        return frame
    return frame[frame[REJECT_COLUMN].isna()]


def test_highways_are_read_as_more_than_1000_lines():
    frame = _built(_read(filter="highway=*", geometry="line"))
    assert len(frame) > 1000
    assert set(frame.geom_type) == {"LineString"}
    assert frame["highway"].notna().all()


def test_buildings_as_areas_include_multipolygon_relations():
    frame = _built(_read(filter=["building=*"], geometry="area"))
    assert len(frame) > 400
    assert set(frame.geom_type) == {"MultiPolygon"}
    relations = frame[frame["osm_type"] == "relation"]
    assert len(relations) >= 1
    assert relations.geometry.is_valid.all()


def test_areas_from_ways_and_relations_lie_in_central_helsinki():
    frame = _built(_read(filter="building=*", geometry="area"))
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.within(HELSINKI).all()


@pytest.mark.parametrize(
    ("amenity", "name"),
    [
        ("school", "Kruununhaan yläasteen koulu"),
        ("library", "Helsingin keskustakirjasto Oodi"),
        ("library", "Kansalliskirjasto"),
    ],
)
def test_named_service_is_found(amenity, name):
    frame = _read(filter=f"amenity={amenity}", tags=["amenity", "name"])
    assert name in set(frame["name"])
    assert set(frame["amenity"]) == {amenity}


def test_in_filter_equals_the_or_of_single_filters():
    grouped = _read(filter="amenity in (school, library, kindergarten)")
    single = _read(filter=["amenity=school", "amenity=library", "amenity=kindergarten"])
    assert sorted(grouped["osm_key"]) == sorted(single["osm_key"])
    assert set(grouped["amenity"]) <= {"school", "library", "kindergarten"}
    assert {"school", "library"} <= set(grouped["amenity"])


def test_filters_of_different_keys_are_or_ed():
    frame = _read(filter=["shop=supermarket", "leisure=park"])
    assert set(frame["shop"].dropna()) == {"supermarket"}
    assert set(frame["leisure"].dropna()) == {"park"}
    assert (frame["shop"].isna() != frame["leisure"].isna()).all()


def test_centroids_turn_areas_and_lines_into_points_inside_them():
    frame = _read(filter="amenity in (school, library)", centroids=True)
    assert set(frame.geom_type) == {"Point"}
    assert frame.geometry.within(HELSINKI).all()
    assert {"node", "way"} <= set(frame["osm_type"])


def test_point_geometry_with_centroids_reads_every_kind_as_points():
    frame = _read(filter="public_transport=platform", geometry="point", centroids=True)
    assert {"node", "way"} <= set(frame["osm_type"])
    assert set(frame.geom_type) == {"Point"}


def test_point_geometry_keeps_only_nodes():
    frame = _read(filter="public_transport=platform", geometry="point")
    assert set(frame["osm_type"]) == {"node"}
    assert set(frame.geom_type) == {"Point"}


def test_output_columns_are_ids_requested_tags_and_geometry():
    frame = _read(filter="amenity=library", tags=["name", "opening_hours"])
    assert list(frame.columns) == [
        "osm_type",
        "osm_id",
        "osm_key",
        "name",
        "opening_hours",
        "geometry",
    ]
    assert frame["osm_key"].is_unique
    first = frame.iloc[0]
    assert first["osm_key"] == f"{first['osm_type']}/{first['osm_id']}"
    assert frame["opening_hours"].isna().any()  # missing tags are null, not ""


def test_ways_cut_by_the_extract_edge_are_kept_with_a_reason():
    frame = _read(filter="building=*", geometry="area")
    rejected = frame[frame[REJECT_COLUMN].notna()]
    assert len(rejected) >= 1
    assert rejected.geometry.is_empty.all()
    assert rejected[REJECT_COLUMN].str.contains("cannot be assembled").all()


def test_declared_crs_other_than_wgs84_is_refused():
    with pytest.raises(SourceError, match=r"EPSG:4326 .* source\.crs is EPSG:3067"):
        read_osm(OSM_PBF, crs="EPSG:3067", options={"filter": "building=*"})


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_pbf_is_a_source_error(tmp_path, keep):
    path = truncated(OSM_PBF, tmp_path / "cut.osm.pbf", keep)
    with pytest.raises(SourceError, match=r"is not a valid OpenStreetMap PBF file \(truncated"):
        read_osm(path, crs=None, options={"filter": "building=*"})


def test_file_that_is_not_pbf_is_a_source_error(tmp_path):
    path = tmp_path / "fake.osm.pbf"
    path.write_text("<osm>not a pbf</osm>" * 20)
    with pytest.raises(SourceError, match="is not a valid OpenStreetMap PBF file"):
        read_osm(path, crs=None, options={"filter": "building=*"})


@pytest.mark.parametrize(
    ("filters", "where"),
    [
        (["highway"], r"filter\[0\]"),
        (["building=*", "highway="], r"filter\[1\]"),
        (["amenity in ()"], r"filter\[0\]"),
        (["amenity in (school"], r"filter\[0\]"),
        (["=school"], r"filter\[0\]"),
        ([5], r"filter\[0\]"),
        ("amenity ==", r"filter"),
        ([], r"filter"),
    ],
)
def test_filter_syntax_errors_name_the_filter(filters, where):
    with pytest.raises(SpecError, match=rf"^source\.options\.{where}: "):
        _read(filter=filters)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({}, "filter"),
        ({"filter": "building=*", "geometry": "polygon"}, "geometry"),
        ({"filter": "building=*", "tags": ["name", ""]}, r"tags\[1\]"),
        ({"filter": "building=*", "centroids": "yes"}, "centroids"),
    ],
)
def test_bad_options_are_refused_with_their_key_path(options, key):
    with pytest.raises(SpecError, match=rf"^source\.options\.{key}:"):
        _read(**options)
