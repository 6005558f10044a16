"""CQL2 filtering: every supported operator in both encodings, counted against GeoPandas."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from api.ogc import cql2

ITEMS = "/collections/buildings/items"
POLYGON = shapely.Polygon([(24.938, 60.166), (24.950, 60.168), (24.946, 60.176), (24.939, 60.172)])


# (name, cql2-text, cql2-json, expected mask over the buildings frame)
CASES = [
    (
        "eq",
        "use = 'school'",
        {"op": "=", "args": [{"property": "use"}, "school"]},
        lambda f: f["use"] == "school",
    ),
    (
        "ne",
        "use <> 'school'",
        {"op": "<>", "args": [{"property": "use"}, "school"]},
        lambda f: f["use"] != "school",
    ),
    (
        "lt",
        "floors < 4",
        {"op": "<", "args": [{"property": "floors"}, 4]},
        lambda f: f["floors"] < 4,
    ),
    (
        "le",
        "floors <= 4",
        {"op": "<=", "args": [{"property": "floors"}, 4]},
        lambda f: f["floors"] <= 4,
    ),
    (
        "gt",
        "height > 20.5",
        {"op": ">", "args": [{"property": "height"}, 20.5]},
        lambda f: f["height"] > 20.5,
    ),
    (
        "ge",
        "height >= 19.2",
        {"op": ">=", "args": [{"property": "height"}, 19.2]},
        lambda f: f["height"] >= 19.2,
    ),
    (
        "bool",
        "listed = TRUE",
        {"op": "=", "args": [{"property": "listed"}, True]},
        lambda f: f["listed"],
    ),
    (
        "and",
        "use = 'office' AND floors > 5",
        {
            "op": "and",
            "args": [
                {"op": "=", "args": [{"property": "use"}, "office"]},
                {"op": ">", "args": [{"property": "floors"}, 5]},
            ],
        },
        lambda f: (f["use"] == "office") & (f["floors"] > 5),
    ),
    (
        "or",
        "use = 'office' OR floors > 9",
        {
            "op": "or",
            "args": [
                {"op": "=", "args": [{"property": "use"}, "office"]},
                {"op": ">", "args": [{"property": "floors"}, 9]},
            ],
        },
        lambda f: (f["use"] == "office") | (f["floors"] > 9).fillna(False),
    ),
    (
        "not",
        "NOT (use = 'office')",
        {"op": "not", "args": [{"op": "=", "args": [{"property": "use"}, "office"]}]},
        lambda f: f["use"] != "office",
    ),
    (
        "like",
        "name LIKE 'Bulevardi%'",
        {"op": "like", "args": [{"property": "name"}, "Bulevardi%"]},
        lambda f: f["name"].str.startswith("Bulevardi"),
    ),
    (
        "like-single",
        "name LIKE 'Bulevardi 1_ %'",
        {"op": "like", "args": [{"property": "name"}, "Bulevardi 1_ %"]},
        lambda f: f["name"].str.match(r"^Bulevardi 1. "),
    ),
    (
        "like-nordic",
        "name LIKE '%Ääninen%'",
        {"op": "like", "args": [{"property": "name"}, "%Ääninen%"]},
        lambda f: f["name"].str.contains("Ääninen"),
    ),
    (
        "not-like",
        "name NOT LIKE 'Bulevardi%'",
        {"op": "not", "args": [{"op": "like", "args": [{"property": "name"}, "Bulevardi%"]}]},
        lambda f: ~f["name"].str.startswith("Bulevardi"),
    ),
    (
        "in",
        "use IN ('school', 'retail')",
        {"op": "in", "args": [{"property": "use"}, ["school", "retail"]]},
        lambda f: f["use"].isin(["school", "retail"]),
    ),
    (
        "not-in",
        "floors NOT IN (1, 2, 3)",
        {"op": "not", "args": [{"op": "in", "args": [{"property": "floors"}, [1, 2, 3]]}]},
        lambda f: f["floors"].notna() & ~f["floors"].isin([1, 2, 3]),
    ),
    (
        "between",
        "floors BETWEEN 3 AND 5",
        {"op": "between", "args": [{"property": "floors"}, 3, 5]},
        lambda f: (f["floors"] >= 3) & (f["floors"] <= 5),
    ),
    (
        "is-null",
        "floors IS NULL",
        {"op": "isNull", "args": [{"property": "floors"}]},
        lambda f: f["floors"].isna(),
    ),
    (
        "is-not-null",
        "floors IS NOT NULL",
        {"op": "not", "args": [{"op": "isNull", "args": [{"property": "floors"}]}]},
        lambda f: f["floors"].notna(),
    ),
    (
        "date",
        "built >= DATE('1990-01-01')",
        {"op": ">=", "args": [{"property": "built"}, {"date": "1990-01-01"}]},
        lambda f: f["built"].astype(str) >= "1990-01-01",
    ),
    ("true", "TRUE", True, lambda f: f["use"].notna()),
    (
        "s_intersects-polygon",
        f"S_INTERSECTS(geometry, {POLYGON.wkt})",
        {
            "op": "s_intersects",
            "args": [{"property": "geometry"}, json.loads(shapely.to_geojson(POLYGON))],
        },
        lambda f: f.intersects(POLYGON),
    ),
    (
        "s_intersects-bbox",
        "S_INTERSECTS(geometry, BBOX(24.940, 60.168, 24.946, 60.172))",
        {
            "op": "s_intersects",
            "args": [{"property": "geometry"}, {"bbox": [24.940, 60.168, 24.946, 60.172]}],
        },
        lambda f: f.intersects(shapely.box(24.940, 60.168, 24.946, 60.172)),
    ),
    (
        "s_intersects-point",
        "S_INTERSECTS(geometry, POINT(24.9410 60.1700)) OR floors = 11",
        {
            "op": "or",
            "args": [
                {
                    "op": "s_intersects",
                    "args": [
                        {"property": "geometry"},
                        {"type": "Point", "coordinates": [24.941, 60.17]},
                    ],
                },
                {"op": "=", "args": [{"property": "floors"}, 11]},
            ],
        },
        lambda f: f.intersects(shapely.Point(24.941, 60.17)) | (f["floors"] == 11).fillna(False),
    ),
    (
        "not-s_intersects",
        f"NOT S_INTERSECTS(geometry, {POLYGON.wkt}) AND use = 'school'",
        {
            "op": "and",
            "args": [
                {
                    "op": "not",
                    "args": [
                        {
                            "op": "s_intersects",
                            "args": [
                                {"property": "geometry"},
                                json.loads(shapely.to_geojson(POLYGON)),
                            ],
                        }
                    ],
                },
                {"op": "=", "args": [{"property": "use"}, "school"]},
            ],
        },
        lambda f: ~f.intersects(POLYGON) & (f["use"] == "school"),
    ),
]


def _expected(frames, mask) -> int:
    return int(pd.Series(mask(frames["buildings"])).fillna(False).astype(bool).sum())


@pytest.mark.parametrize(("name", "text", "tree", "mask"), CASES, ids=[c[0] for c in CASES])
def test_cql2_text_counts_match_geopandas(client, frames, name, text, tree, mask):
    expected = _expected(frames, mask)
    resp = client.get(ITEMS, query_string={"filter": text, "limit": 1})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json(force=True)["numberMatched"] == expected
    assert 0 < expected < 500 or name == "true"


@pytest.mark.parametrize(("name", "text", "tree", "mask"), CASES, ids=[c[0] for c in CASES])
def test_cql2_json_counts_match_geopandas(client, frames, name, text, tree, mask):
    resp = client.get(
        ITEMS, query_string={"filter": json.dumps(tree), "filter-lang": "cql2-json", "limit": 1}
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json(force=True)["numberMatched"] == _expected(frames, mask)


def test_filtered_pages_contain_only_matching_features(client, frames):
    doc = client.get(
        ITEMS, query_string={"filter": "use = 'retail' AND floors >= 6", "limit": 1000}
    ).get_json(force=True)
    frame = frames["buildings"]
    expected = frame[(frame["use"] == "retail") & (frame["floors"] >= 6)]
    assert [f["id"] for f in doc["features"]] == sorted(expected.index)


def test_filter_crs_transforms_geometry_literals(client, frames):
    to_3067 = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)
    projected = shapely.transform(
        POLYGON, lambda xy: np.column_stack(to_3067.transform(xy[:, 0], xy[:, 1]))
    )
    resp = client.get(
        ITEMS,
        query_string={
            "filter": f"S_INTERSECTS(geometry, {projected.wkt})",
            "filter-crs": "EPSG:3067",
            "limit": 1,
        },
    )
    expected = int(frames["buildings"].intersects(POLYGON).sum())
    assert resp.get_json(force=True)["numberMatched"] == expected


def test_filter_combines_with_bbox_and_datetime(client, frames):
    frame = frames["sensors"]
    box = shapely.box(24.92, 60.16, 24.98, 60.19)
    mask = (
        frame.intersects(box)
        & (frame["kind"] == "air")
        & (frame["observed"] >= "2024-07-01T00:00:00Z")
    )
    resp = client.get(
        "/collections/sensors/items",
        query_string={
            "bbox": "24.92,60.16,24.98,60.19",
            "filter": "kind = 'air'",
            "datetime": "2024-07-01T00:00:00Z/..",
        },
    )
    assert resp.get_json(force=True)["numberMatched"] == int(mask.sum())


def test_timestamp_literal_on_a_datetime_property(client, frames):
    observed = frames["sensors"]["observed"]
    resp = client.get(
        "/collections/sensors/items",
        query_string={"filter": "observed < TIMESTAMP('2024-02-01T00:00:00Z')"},
    )
    assert resp.get_json(force=True)["numberMatched"] == int(
        (observed < "2024-02-01T00:00:00Z").sum()
    )


def test_s_intersects_on_lines(client, frames):
    box = shapely.box(24.94, 60.17, 24.95, 60.18)
    resp = client.get(
        "/collections/streets/items", query_string={"filter": f"S_INTERSECTS(geometry, {box.wkt})"}
    )
    assert resp.get_json(force=True)["numberMatched"] == int(
        frames["streets"].intersects(box).sum()
    )


def test_s_intersects_takes_its_arguments_in_either_order(client, frames):
    text = f"S_INTERSECTS({POLYGON.wkt}, geometry)"
    resp = client.get(ITEMS, query_string={"filter": text})
    assert resp.get_json(force=True)["numberMatched"] == int(
        frames["buildings"].intersects(POLYGON).sum()
    )


def test_quoted_property_names_in_text(client, frames):
    resp = client.get(ITEMS, query_string={"filter": "\"use\" = 'school'"})
    assert resp.get_json(force=True)["numberMatched"] == int(
        (frames["buildings"]["use"] == "school").sum()
    )


QUERYABLES = {"name": {"type": "string"}, "n": {"type": "integer"}}


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "n=1 AND (name='a' OR name='b')",
            {
                "op": "and",
                "args": [
                    {"op": "=", "args": [{"property": "n"}, 1]},
                    {
                        "op": "or",
                        "args": [
                            {"op": "=", "args": [{"property": "name"}, "a"]},
                            {"op": "=", "args": [{"property": "name"}, "b"]},
                        ],
                    },
                ],
            },
        ),
        ("name = 'it''s'", {"op": "=", "args": [{"property": "name"}, "it's"]}),
        ("n >= -3.5e2", {"op": ">=", "args": [{"property": "n"}, -350.0]}),
        ("not n is null", {"op": "not", "args": [{"op": "isnull", "args": [{"property": "n"}]}]}),
    ],
)
def test_text_parses_to_the_json_tree(text, tree):
    assert cql2.parse(text, "cql2-text", QUERYABLES, "geometry") == tree


def _building(frames, fid: int) -> shapely.Geometry:
    return frames["buildings"].loc[fid].geometry


def _outline(frames, fid: int) -> shapely.LineString:
    return shapely.LineString(_building(frames, fid).exterior)


# (name, collection, CQL2 text builder, GeoPandas mask builder); literals come from the data so
# every function has matches.
SPATIAL = [
    ("s_contains", "buildings", lambda f: f"S_CONTAINS(geometry, {_building(f, 7).centroid.wkt})",
     lambda f: f["buildings"].contains(_building(f, 7).centroid)),
    ("s_within", "buildings", lambda f: f"S_WITHIN(geometry, {POLYGON.wkt})",
     lambda f: f["buildings"].within(POLYGON)),
    ("s_within-swapped", "buildings", lambda f: f"S_CONTAINS({POLYGON.wkt}, geometry)",
     lambda f: f["buildings"].within(POLYGON)),
    ("s_equals", "buildings", lambda f: f"S_EQUALS(geometry, {_building(f, 42).wkt})",
     lambda f: f["buildings"].geom_equals(_building(f, 42))),
    ("s_overlaps", "buildings", lambda f: f"S_OVERLAPS(geometry, {POLYGON.wkt})",
     lambda f: f["buildings"].overlaps(POLYGON)),
    ("s_touches", "buildings", lambda f: f"S_TOUCHES(geometry, {_outline(f, 9).wkt})",
     lambda f: f["buildings"].touches(_outline(f, 9))),
    ("s_crosses", "streets", lambda f: f"S_CROSSES(geometry, {POLYGON.wkt})",
     lambda f: f["streets"].crosses(POLYGON)),
    ("s_disjoint", "buildings", lambda f: f"S_DISJOINT(geometry, {POLYGON.wkt}) AND floors > 8",
     lambda f: f["buildings"].disjoint(POLYGON) & (f["buildings"]["floors"] > 8).fillna(False)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "layer", "text", "mask"), SPATIAL, ids=[c[0] for c in SPATIAL])
def test_spatial_functions_match_geopandas(client, frames, name, layer, text, mask):
    expected = frames[layer].index[np.asarray(mask(frames), bool)]
    doc = client.get(
        f"/collections/{layer}/items", query_string={"filter": text(frames), "limit": 1000}
    )
    assert doc.status_code == 200, doc.get_data(as_text=True)
    assert sorted(f["id"] for f in doc.get_json(force=True)["features"]) == sorted(expected)
    assert len(expected) > 0


def test_spatial_functions_in_cql2_json(client, frames):
    tree = {
        "op": "s_within",
        "args": [{"property": "geometry"}, json.loads(shapely.to_geojson(POLYGON))],
    }
    doc = client.get(ITEMS, query_string={"filter": json.dumps(tree), "filter-lang": "cql2-json"})
    assert doc.get_json(force=True)["numberMatched"] == int(
        frames["buildings"].within(POLYGON).sum()
    )
