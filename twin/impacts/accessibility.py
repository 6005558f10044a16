"""Accessibility of services: residents within N minutes' walk (on every published road and path,
undirected) and drive (congested zone-to-zone times) of schools, health care and groceries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

WALK_SPEED_KMH = 4.8
WALK_M_PER_MIN = WALK_SPEED_KMH * 1000 / 60


@dataclass(frozen=True, eq=False)
class WalkGraph:
    """Undirected graph of every published road, footway and path; nodes are shared vertices."""

    graph: object  # scipy.sparse csr_matrix of edge lengths in metres
    xy: np.ndarray  # (nodes, 2) metric

    def nearest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest graph node of each (n, 2) point and the straight distance to it."""
        from scipy.spatial import cKDTree

        dist, node = cKDTree(self.xy).query(points)
        return node, dist


def walk_graph(roads: gpd.GeoDataFrame) -> WalkGraph:
    """Walk graph from roads in a metric CRS: each pair of consecutive vertices is an edge."""
    from scipy.sparse import coo_matrix

    lines = roads.geometry[roads.geometry.geom_type == "LineString"].to_numpy()
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    xy, node = np.unique(np.round(coords, 2), axis=0, return_inverse=True)
    node = node.ravel()
    same = owner[1:] == owner[:-1]
    a, b = node[:-1][same], node[1:][same]
    length = np.maximum(np.hypot(*(coords[1:][same] - coords[:-1][same]).T), 1e-3)
    n = len(xy)
    graph = coo_matrix((np.r_[length, length], (np.r_[a, b], np.r_[b, a])), (n, n)).tocsr()
    return WalkGraph(graph, xy)


def walk_minutes(walk: WalkGraph, origins: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Walking minutes from each origin point to the nearest target point (inf if none)."""
    from scipy.sparse import bmat, coo_matrix
    from scipy.sparse.csgraph import dijkstra

    if len(targets) == 0:
        return np.full(len(origins), np.inf)
    n = walk.graph.shape[0]
    t_node, t_snap = walk.nearest(targets)
    # one extra source node joined to every target by its snap distance: one Dijkstra for all
    link = coo_matrix((t_snap + 1e-3, (np.zeros(len(targets), int), t_node)), (1, n))
    graph = bmat([[walk.graph, link.T], [link, None]]).tocsr()
    dist = dijkstra(graph, directed=False, indices=n)
    o_node, o_snap = walk.nearest(origins)
    return (dist[o_node] + o_snap) / WALK_M_PER_MIN


@dataclass(frozen=True, eq=False)
class Access:
    """Accessibility of one variant: per-zone indicators and residents within each threshold."""

    zones: pd.DataFrame  # zone index -> walk_<cat>_min, drive_<cat>_min
    walk: dict[str, dict[str, float]]  # category -> minutes -> residents
    drive: dict[str, dict[str, float]]


def _within(minutes: np.ndarray, residents: np.ndarray, thresholds) -> dict[str, float]:
    return {f"{t:g}": round(float(residents[minutes <= t].sum()), 1) for t in thresholds}


def building_zone(points: np.ndarray, zone_xy: np.ndarray) -> np.ndarray:
    """Index of the nearest zone centre for each point (grid cells: the containing cell)."""
    from scipy.spatial import cKDTree

    return cKDTree(zone_xy).query(points)[1]


class Thresholds(Protocol):
    """What accessibility is measured against (a scenario's `Impacts` settings satisfy it)."""

    walk_minutes: tuple[float, ...]
    drive_minutes: tuple[float, ...]
    categories: tuple[str, ...]


def accessibility(
    walk: WalkGraph,
    homes: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame,
    zone_xy: np.ndarray,
    zone_residents: np.ndarray,
    drive_time: np.ndarray,
    impacts: Thresholds,
) -> Access:
    """Walk and drive accessibility per category; homes carry `residents_est` (metric CRS).

    `zone_xy` are the grid zones' centres (the first zones of `drive_time`)."""
    home_xy = shapely.get_coordinates(homes.geometry.representative_point().to_numpy())
    residents = homes["residents_est"].to_numpy(dtype=float)
    home_zone = building_zone(home_xy, zone_xy)
    service_xy = shapely.get_coordinates(services.geometry.to_numpy())
    service_zone = building_zone(service_xy, zone_xy) if len(service_xy) else np.zeros(0, int)
    n = len(zone_xy)
    table, walk_out, drive_out = {}, {}, {}
    for cat in impacts.categories:
        is_cat = (services["category"] == cat).to_numpy()
        minutes = walk_minutes(walk, home_xy, service_xy[is_cat])
        walk_out[cat] = _within(minutes, residents, impacts.walk_minutes)
        weight = np.bincount(home_zone, residents, n)
        mean = np.bincount(home_zone, residents * np.minimum(minutes, 999.0), n)
        table[f"walk_{cat}_min"] = np.divide(mean, weight, out=np.full(n, np.nan), where=weight > 0)
        targets = np.unique(service_zone[is_cat])
        drive = drive_time[:n][:, targets].min(axis=1) if targets.size else np.full(n, np.inf)
        drive_out[cat] = _within(drive, zone_residents[:n], impacts.drive_minutes)
        table[f"drive_{cat}_min"] = np.where(np.isfinite(drive), drive, np.nan)
    return Access(pd.DataFrame(table), walk_out, drive_out)
