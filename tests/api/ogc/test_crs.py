"""OGC API – Features Part 2 (CRS by reference): `bbox-crs` boxes densified in their own CRS,
output in the national grids and in EPSG:4326 (lat/lon), compared with pyproj."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from tests.api.ogc.test_items import CRS84, EPSG, ITEMS, _intersecting, get_all


def test_bbox_in_epsg_3067_is_densified_not_cornered(client, frames):
    to_3067 = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)
    xmin, ymin = to_3067.transform(24.938, 60.166)
    xmax, ymax = to_3067.transform(24.950, 60.176)
    bbox = (xmin, ymin, xmax, ymax)
    from_3067 = Transformer.from_crs("EPSG:3067", "EPSG:4326", always_xy=True)
    dense = shapely.segmentize(shapely.box(*bbox), 10)
    polygon = shapely.transform(
        dense, lambda xy: np.column_stack(from_3067.transform(xy[:, 0], xy[:, 1]))
    )
    assert not polygon.equals(shapely.box(*polygon.bounds))  # edges are not lon/lat aligned
    url = f"{ITEMS}?bbox-crs=EPSG:3067&bbox={','.join(map(str, bbox))}"
    features = get_all(client, url, limit=200)
    assert {f["id"] for f in features} == _intersecting(frames["buildings"], polygon)


def test_bbox_in_epsg_4326_is_lat_lon(client, frames):
    url = f"{ITEMS}?bbox-crs={EPSG}4326&bbox=60.168,24.940,60.172,24.946&limit=1"
    assert client.get(url).get_json(force=True)["numberMatched"] == len(
        _intersecting(frames["buildings"], shapely.box(24.940, 60.168, 24.946, 60.172))
    )


def test_output_in_epsg_3067_matches_pyproj(client, frames):
    resp = client.get("/collections/sensors/items/5?crs=EPSG:3067")
    assert resp.headers["Content-Crs"] == f"<{EPSG}3067>"
    x, y = resp.get_json(force=True)["geometry"]["coordinates"]
    point = frames["sensors"].loc[5].geometry
    ex, ey = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True).transform(
        point.x, point.y
    )
    assert (x, y) == pytest.approx((ex, ey), abs=1e-6)


def test_polygon_output_in_epsg_3067_matches_pyproj(client, frames):
    doc = client.get(f"{ITEMS}/9?crs={EPSG}3067").get_json(force=True)
    ring = np.array(doc["geometry"]["coordinates"][0])
    source = shapely.get_coordinates(frames["buildings"].loc[9].geometry.exterior)
    ex, ey = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True).transform(
        source[:, 0], source[:, 1]
    )
    np.testing.assert_allclose(ring, np.column_stack([ex, ey]), atol=1e-6)


def test_epsg_4326_output_is_lat_lon(client, frames):
    resp = client.get(f"/collections/sensors/items/5?crs={EPSG}4326")
    point = frames["sensors"].loc[5].geometry
    assert resp.headers["Content-Crs"] == f"<{EPSG}4326>"
    assert resp.get_json(force=True)["geometry"]["coordinates"] == pytest.approx(
        [point.y, point.x], abs=1e-12
    )


def test_crs84_is_the_default_content_crs(client):
    for url in (ITEMS, ITEMS + "/1", ITEMS + "?f=html"):
        assert client.get(url).headers["Content-Crs"] == f"<{CRS84}>"
