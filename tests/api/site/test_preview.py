"""Map previews stay small: simplified, quantised, sampled or clustered (opendata.query.preview)."""

from __future__ import annotations

import gzip
import json
import re

import geopandas as gpd
import numpy as np
import shapely

from opendata.query.preview import PreviewOptions, cluster_points, make_preview, to_json
from tests.api.site.site_data import big_frame


def _points(n: int, seed: int = 3) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = shapely.points(rng.uniform(24.9, 25.0, n), rng.uniform(60.15, 60.2, n))
    return gpd.GeoDataFrame({"name": [f"p{i}" for i in range(n)]}, geometry=xy, crs=4326)


def test_small_layer_is_previewed_in_full():
    preview = make_preview(big_frame(500))
    assert preview["preview"]["method"] == "full"
    assert len(preview["features"]) == 500


def test_20000_polygons_are_sampled_evenly_and_say_so():
    preview = make_preview(big_frame())
    meta = preview["preview"]
    assert meta["method"] == "sampled"
    assert meta["total"] == 20_000
    assert meta["shown"] == len(preview["features"]) <= PreviewOptions().max_features
    assert "of 20,000" in meta["note"]
    blocks = [f["properties"]["block"] for f in preview["features"]]
    assert blocks == sorted(blocks) and blocks[-1] > 19_000  # spread over all rows


def test_20000_polygon_preview_is_well_under_a_megabyte():
    text = to_json(make_preview(big_frame()))
    assert len(text.encode()) < 1_000_000
    assert len(gzip.compress(text.encode())) < 300_000


def test_coordinates_are_quantised_to_five_decimals():
    text = to_json(make_preview(big_frame(50)))
    coords = re.findall(r"-?\d+\.\d+", json.dumps(json.loads(text)["features"][0]["geometry"]))
    assert coords and all(len(c.split(".")[1]) <= 5 for c in coords)


def test_many_points_are_clustered_with_counts():
    preview = make_preview(_points(20_000), PreviewOptions(max_features=500))
    counts = [f["properties"]["count"] for f in preview["features"]]
    assert preview["preview"]["method"] == "clustered"
    assert len(counts) <= 500
    assert sum(counts) == 20_000


def test_cluster_centres_lie_inside_the_points_extent():
    frame = _points(5_000)
    centres, counts = cluster_points(frame, 100)
    xmin, ymin, xmax, ymax = frame.total_bounds
    assert counts.sum() == 5_000 and len(counts) <= 100
    assert (centres[:, 0] >= xmin).all() and (centres[:, 0] <= xmax).all()
    assert (centres[:, 1] >= ymin).all() and (centres[:, 1] <= ymax).all()


def test_missing_values_and_long_texts_are_trimmed_in_popups():
    frame = _points(3).assign(note=[None, "x" * 200, float("nan")])
    props = [f["properties"] for f in make_preview(frame)["features"]]
    assert "note" not in props[0] and "note" not in props[2]
    assert len(props[1]["note"]) == PreviewOptions().max_text


def test_preview_json_is_valid_geojson():
    data = json.loads(to_json(make_preview(_points(10))))
    assert data["type"] == "FeatureCollection"
    assert {f["geometry"]["type"] for f in data["features"]} == {"Point"}


def test_empty_geometries_are_left_out():
    frame = _points(3)
    frame.loc[1, "geometry"] = None
    assert make_preview(frame)["preview"]["total"] == 2
