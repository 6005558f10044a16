"""Walking, cycling and public transport between zones, from the published roads (every street
and path) and stops, under stated assumptions: the generalised minutes the mode choice compares
with driving.

- Walk: shortest path on every road and path except motorways, at `walk_kmh`.
- Bike: shortest time on every road and path cyclists may use, at a speed by OSM class
  (`twin/data/cycling_speeds.csv`), plus a terminal time for locking and unlocking.
- Public transport: there are no routes in the stops data, so a trip is walk to the best stop
  near the origin (weighted), half its headway waiting (weighted), a boarding penalty, a ride
  along the street distance at the stop's operating speed, and the weighted walk from the stop
  nearest the destination. Headways and speeds come from a `headway_min`/`speed_kmh` column of
  the stops dataset when it has them (a GTFS feed gives headways), else from
  `twin/data/transit_services.csv` by stop kind. People entering at a gateway arrive by a
  regional service (the table's `gateway` row) with no first walk.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.data import load_table

NO_WALKING = ("motorway", "motorway_link", "trunk", "trunk_link", "construction", "elevator")
CHUNK = 64  # zones per Dijkstra batch: bounds the (zones x nodes) distance block in memory


@dataclass(frozen=True)
class ModeAssumptions:
    """Speeds, weights and penalties of the non-car modes (documented defaults)."""

    walk_kmh: float = 4.8
    bike_speed_factor: float = 1.0  #: scales every speed of cycling_speeds.csv
    bike_terminal_min: float = 1.0
    walk_weight: float = 2.0  #: weight of walking to and from public transport (TAG M3.2 range)
    wait_weight: float = 2.0  #: weight of waiting (TAG M3.2 range)
    boarding_min: float = 5.0  #: boarding penalty per trip, covers an average share of transfers
    max_access_m: float = 800.0  #: farthest walk to a stop that counts as served


@dataclass(frozen=True, eq=False)
class ModeCosts:
    """Zone-to-zone generalised minutes (origins = all zones, destinations = grid zones)."""

    walk: np.ndarray
    bike: np.ndarray
    pt: np.ndarray
    walk_km: np.ndarray  #: street distance (km), for reporting person-km


def _street_graph(roads: gpd.GeoDataFrame, speed_kmh: np.ndarray):
    """Undirected graph of road pieces (metric roads) weighted in minutes; speed 0 drops a road."""
    from scipy.sparse import coo_matrix

    keep = (roads.geometry.geom_type == "LineString").to_numpy() & (speed_kmh > 0)
    lines = roads.geometry.to_numpy()[keep]
    speed = speed_kmh[keep]
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    xy, node = np.unique(np.round(coords, 2), axis=0, return_inverse=True)
    node = node.ravel()
    same = owner[1:] == owner[:-1]
    a, b = node[:-1][same], node[1:][same]
    metres = np.maximum(np.hypot(*(coords[1:][same] - coords[:-1][same]).T), 1e-3)
    minutes = metres / 1000 / speed[owner[:-1][same]] * 60
    n = len(xy)
    graph = coo_matrix((np.r_[minutes, minutes], (np.r_[a, b], np.r_[b, a])), (n, n)).tocsr()
    return graph, xy


def _snap(xy: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    dist, node = cKDTree(xy).query(points)
    return node, dist


def _minutes_from(graph, xy: np.ndarray, points: np.ndarray, kmh: float, targets: np.ndarray):
    """Minutes from each point to each target node, the snap distances walked at `kmh`."""
    from scipy.sparse.csgraph import dijkstra

    node, snap = _snap(xy, points)
    out = np.empty((len(points), len(targets)))
    for start in range(0, len(points), CHUNK):
        rows = slice(start, start + CHUNK)
        out[rows] = dijkstra(graph, directed=False, indices=node[rows])[:, targets]
    return out + (snap / 1000 / kmh * 60)[:, None]


def _classes(roads: gpd.GeoDataFrame) -> pd.Series:
    return roads["highway"].astype(object).fillna("").astype(str)


def _bike_speeds(roads: gpd.GeoDataFrame, a: ModeAssumptions) -> np.ndarray:
    table = load_table("cycling_speeds").set_index("highway")["speed_kmh"]
    cls = _classes(roads).str.removesuffix("_link")
    return cls.map(table).fillna(table["default"]).to_numpy(dtype=float) * a.bike_speed_factor


def _services(stops: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Headway (min) and speed (km/h) of each stop: its own columns, else by kind."""
    table = load_table("transit_services").set_index("kind")
    kind = stops.get("kind", pd.Series("default", index=stops.index)).astype(object)
    kind = kind.where(kind.isin(table.index), "default")
    headway = table["headway_min"].reindex(kind).to_numpy(dtype=float, copy=True)
    speed = table["speed_kmh"].reindex(kind).to_numpy(dtype=float, copy=True)
    for column, values in (("headway_min", headway), ("speed_kmh", speed)):
        if column in stops:
            own = pd.to_numeric(stops[column], errors="coerce").to_numpy(dtype=float)
            ok = np.isfinite(own) & (own > 0)
            values[ok] = own[ok]
    return headway, speed


def mode_costs(
    roads: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame,
    zone_xy: np.ndarray,
    n_grid: int,
    intrazonal_m: np.ndarray,
    a: ModeAssumptions,
) -> ModeCosts:
    """Walk, bike and public transport minutes from every zone (grid zones, then gateways) to
    every grid zone; inf where a mode is not available (gateways walk and cycle nowhere)."""
    cls = _classes(roads)
    walk_speed = np.where(cls.isin(NO_WALKING), 0.0, a.walk_kmh)
    walk_graph, walk_xy = _street_graph(roads, walk_speed)
    dest_node = _snap(walk_xy, zone_xy[:n_grid])[0]
    walk = _minutes_from(walk_graph, walk_xy, zone_xy, a.walk_kmh, dest_node)
    walk[np.arange(n_grid), np.arange(n_grid)] = intrazonal_m / 1000 / a.walk_kmh * 60
    km = walk / 60 * a.walk_kmh
    bike_graph, bike_xy = _street_graph(roads, _bike_speeds(roads, a))
    bike_dest = _snap(bike_xy, zone_xy[:n_grid])[0]
    bike = _minutes_from(bike_graph, bike_xy, zone_xy[:n_grid], 12.0, bike_dest)
    bike[np.arange(n_grid), np.arange(n_grid)] = intrazonal_m / 1000 / 12.0 * 60
    bike = np.vstack([bike + a.bike_terminal_min, np.full((len(zone_xy) - n_grid, n_grid), np.inf)])
    pt = _transit(walk_graph, walk_xy, stops, zone_xy, n_grid, km, a)
    walk[n_grid:] = np.inf
    return ModeCosts(walk, bike, pt, km)


def _transit(graph, xy, stops, zone_xy, n_grid, km, a: ModeAssumptions) -> np.ndarray:
    """Generalised minutes by public transport (see the module docstring)."""
    n_zones = len(zone_xy)
    if stops is None or not len(stops):
        return np.full((n_zones, n_grid), np.inf)
    stop_xy = shapely.get_coordinates(stops.geometry.to_numpy())
    headway, speed = _services(stops)
    walk_to_stop = _minutes_from(graph, xy, zone_xy[:n_grid], a.walk_kmh, _snap(xy, stop_xy)[0])
    walk_to_stop += (_snap(xy, stop_xy)[1] / 1000 / a.walk_kmh * 60)[None, :]
    reach = walk_to_stop <= a.max_access_m / 1000 / a.walk_kmh * 60
    board = a.walk_weight * walk_to_stop + a.wait_weight * headway[None, :] / 2 + a.boarding_min
    board = np.where(reach, board, np.inf)
    best = np.argmin(board, axis=1)
    access = board[np.arange(n_grid), best]
    zone_speed = speed[best]
    egress = a.walk_weight * np.where(reach, walk_to_stop, np.inf).min(axis=1)
    gate = load_table("transit_services").set_index("kind").loc["gateway"]
    gate_access = np.full(
        n_zones - n_grid, a.wait_weight * gate["headway_min"] / 2 + a.boarding_min
    )
    origin_access = np.r_[access, gate_access]
    origin_speed = np.r_[zone_speed, np.full(n_zones - n_grid, gate["speed_kmh"])]
    ride = km / origin_speed[:, None] * 60
    pt = origin_access[:, None] + ride + egress[None, :]
    pt[np.arange(n_grid), np.arange(n_grid)] = np.inf  # nobody rides within a zone
    return np.where(np.isfinite(pt), pt, np.inf)
