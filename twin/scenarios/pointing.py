"""Pointing at the map: the published road nearest to a clicked point, and the roads on the
shortest path between two clicked points (a stretch of street to close or slow down). Works on
the published roads file alone (a few thousand lines), cached per roads version, so a click
never builds a city model. Distances use a local flat projection around the city (metres; the
error is well under 1 % across a municipality), which is all a click needs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from opendata.errors import NotFound
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path
from twin.city.roads import ROAD_CLASSES, road_class
from twin.scenarios.cache import Memo

MAX_DISTANCE_M = 150.0  #: a click further than this from every road points at no street
MAX_FIDS = 500  #: road links a stretch may span (a longer path is not a "stretch")
_ROADS = Memo(2)


@dataclass(frozen=True)
class Roads:
    """The published roads in local metres, a search tree over them, and their vertex graph."""

    frame: gpd.GeoDataFrame  #: fid, name, name_sv, highway, geometry (lon/lat)
    metric: np.ndarray  #: the same lines in local metres
    tree: shapely.STRtree
    origin: tuple[float, float, float]  #: lon0, lat0, cos(lat0)
    graph: Any  #: sparse vertex adjacency, weights in metres
    edge_fid: dict[tuple[int, int], int]  #: road fid of each vertex pair
    vertices_of: list[np.ndarray]  #: vertex ids of each road, in order


def _to_metres(origin: tuple[float, float, float], xy: np.ndarray) -> np.ndarray:
    lon0, lat0, cos0 = origin
    return np.column_stack(((xy[:, 0] - lon0) * 111_320.0 * cos0, (xy[:, 1] - lat0) * 110_540.0))


def _graph(lines: np.ndarray, fids: np.ndarray) -> tuple[Any, dict, list[np.ndarray]]:
    """Vertices shared by coordinates (to 1 cm) become one node; consecutive vertices an edge."""
    coords, index = shapely.get_coordinates(lines, return_index=True)
    _, node = np.unique(np.round(coords, 2), axis=0, return_inverse=True)
    node = node.ravel()
    same_line = index[1:] == index[:-1]
    a, b = node[:-1][same_line], node[1:][same_line]
    length = np.hypot(*(coords[1:][same_line] - coords[:-1][same_line]).T) + 1e-3  # no 0 edge
    pair = np.unique(np.sort(np.column_stack((a, b)), axis=1), axis=0, return_index=True)[1]
    n = int(node.max()) + 1  # one edge per vertex pair: a sparse matrix would add duplicates
    graph = coo_matrix((length[pair], (a[pair], b[pair])), shape=(n, n)).tocsr()
    edge_fid = {}
    for u, v, fid in zip(a, b, fids[index[:-1][same_line]], strict=True):
        edge_fid[(int(u), int(v))] = edge_fid[(int(v), int(u))] = int(fid)
    vertices_of = [node[index == i] for i in range(len(lines))]
    return graph, edge_fid, vertices_of


def _load(settings: Settings) -> Roads:
    record = Catalog(settings.catalog_url).version("roads")
    columns = ["fid", "name", "name_sv", "highway", "geometry"]
    frame = gpd.read_parquet(version_path(settings, record), columns=columns)
    drivable = frame["highway"].map(lambda h: road_class(str(h), ROAD_CLASSES) is not None)
    frame = frame[drivable].reset_index(drop=True)  # a footway is no street to close for cars
    if frame.empty:
        raise NotFound("the published roads hold no street for cars")
    west, south, east, north = frame.total_bounds
    lat0 = (south + north) / 2
    origin = ((west + east) / 2, lat0, math.cos(math.radians(lat0)))
    metric = shapely.transform(frame.geometry.values, lambda xy: _to_metres(origin, xy))
    graph, edge_fid, vertices_of = _graph(metric, frame["fid"].to_numpy())
    return Roads(frame, metric, shapely.STRtree(metric), origin, graph, edge_fid, vertices_of)


def roads(settings: Settings) -> Roads:
    """The current published roads, prepared once per roads version (NotFound without roads)."""
    record = Catalog(settings.catalog_url).version("roads")
    return _ROADS.get((settings.catalog_url, record.version), lambda: _load(settings))


def _nearest(net: Roads, lon: float, lat: float) -> tuple[int, np.ndarray, float]:
    """Row of the nearest road, the click in metres, and its distance; NotFound if too far."""
    point = _to_metres(net.origin, np.array([[lon, lat]]))[0]
    rows, distance = net.tree.query_nearest(shapely.points(point), return_distance=True)
    if not rows.size or distance[0] > MAX_DISTANCE_M:
        raise NotFound(f"no street within {MAX_DISTANCE_M:.0f} m of {lon:.5f}, {lat:.5f}")
    return int(rows[0]), point, float(distance[0])


def _text(value: Any) -> str | None:
    return None if pd.isna(value) else str(value)


def nearest_street(settings: Settings, lon: float, lat: float) -> dict[str, Any]:
    """The road nearest to (lon, lat): its fid, names and line, and every road of the same
    street (same Finnish name; just this one when unnamed) with their lines as GeoJSON."""
    net = roads(settings)
    row, _, distance = _nearest(net, lon, lat)
    road = net.frame.iloc[row]
    name = _text(road["name"])
    street = net.frame[net.frame["name"] == name] if name is not None else net.frame.iloc[[row]]
    return {
        "road_fid": int(road["fid"]),
        "name": name,
        "name_sv": _text(road["name_sv"]),
        "highway": _text(road["highway"]),
        "distance_m": round(distance, 1),
        "geometry": shapely.geometry.mapping(road.geometry),
        "street": {
            "road_fids": sorted(int(f) for f in street["fid"]),
            "geometry": shapely.geometry.mapping(shapely.multilinestrings(street.geometry.values)),
        },
    }


def _closest_vertex(net: Roads, row: int, point: np.ndarray) -> int:
    ids = net.vertices_of[row]
    xy = shapely.get_coordinates(net.metric[row])
    return int(ids[int(np.argmin(np.hypot(*(xy - point).T)))])


def stretch(settings: Settings, start: tuple[float, float], end: tuple[float, float]) -> dict:
    """The roads on the shortest path between the roads nearest to two clicks: their fids,
    street names, length and lines (GeoJSON); NotFound when no road path joins them."""
    net = roads(settings)
    row_a, point_a, _ = _nearest(net, *start)
    row_b, point_b, _ = _nearest(net, *end)
    a, b = _closest_vertex(net, row_a, point_a), _closest_vertex(net, row_b, point_b)
    dist, pred = dijkstra(net.graph, directed=False, indices=a, return_predecessors=True)
    if not np.isfinite(dist[b]):
        raise NotFound("no road path joins the two points")
    fids = _path_fids(net, pred, a, b) or [int(net.frame["fid"].iloc[row_a])]
    if len(fids) > MAX_FIDS:
        raise NotFound(f"the stretch spans more than {MAX_FIDS} road links; pick closer points")
    chosen = net.frame[net.frame["fid"].isin(fids)]
    return {
        "road_fids": sorted(fids),
        "streets": sorted({str(n) for n in chosen["name"].dropna()}),
        "length_m": round(float(dist[b]), 1),
        "geometry": shapely.geometry.mapping(shapely.multilinestrings(chosen.geometry.values)),
    }


def _path_fids(net: Roads, pred: np.ndarray, a: int, b: int) -> list[int]:
    """Road fids along the predecessor chain from `b` back to `a`, in order, each once."""
    fids: dict[int, None] = {}
    node = b
    while node != a and pred[node] >= 0:
        fids.setdefault(net.edge_fid[(int(pred[node]), int(node))], None)
        node = int(pred[node])
    return list(fids)[::-1]
