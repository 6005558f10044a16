"""The bundled city's road network, built from the published `roads` dataset.

Topology comes from shared vertices: OSM ways meet at shared nodes, which may lie in the middle of
a way, so every line is split at vertices it shares with another line. Speeds and capacities come
from tags where present and otherwise from a documented, overridable table by road class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.traffic.errors import NetworkError

#: Projected CRS for lengths (ETRS-TM35FIN, the Finnish national grid).
METRIC_CRS = "EPSG:3067"


@dataclass(frozen=True)
class RoadClass:
    """Defaults for one OSM highway class."""

    speed_kmh: float
    lane_capacity: float  # vehicles per hour per lane
    lanes: float  # lanes per direction when untagged


#: Defaults by class. Urban Nordic streets without a sign are 50 km/h (FI:urban, SE:urban);
#: capacities are typical per-lane saturation flows reduced for urban junction density.
ROAD_CLASSES: dict[str, RoadClass] = {
    "motorway": RoadClass(100, 1900, 2),
    "trunk": RoadClass(70, 1600, 2),
    "primary": RoadClass(50, 900, 2),
    "secondary": RoadClass(50, 800, 1),
    "tertiary": RoadClass(40, 700, 1),
    "unclassified": RoadClass(40, 600, 1),
    "residential": RoadClass(30, 500, 1),
    "living_street": RoadClass(20, 300, 1),
    "service": RoadClass(20, 300, 1),
}
LINK_SUFFIX = "_link"
ONEWAY_FORWARD = {"yes", "true", "1"}
ONEWAY_BACKWARD = {"-1", "reverse"}


@dataclass(frozen=True)
class Segments:
    """Directed road segments between intersections, in metres and minutes."""

    from_node: np.ndarray
    to_node: np.ndarray
    node_xy: np.ndarray  # (n_nodes, 2) in METRIC_CRS
    length: np.ndarray
    speed: np.ndarray
    lanes: np.ndarray
    capacity: np.ndarray
    highway: np.ndarray
    source_fid: np.ndarray
    geometry: np.ndarray  # shapely LineStrings in METRIC_CRS, drawn from tail to head
    dropped: dict[str, int] = field(default_factory=dict)


def road_class(highway: str, classes: Mapping[str, RoadClass]) -> RoadClass | None:
    """The defaults for a highway tag (`primary_link` counts as `primary`), None if not drivable."""
    return classes.get(highway.removesuffix(LINK_SUFFIX)) if isinstance(highway, str) else None


def _split_points(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of all lines, the line each belongs to, and whether each is a split point
    (an endpoint, or a vertex shared with another line)."""
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    keys = np.round(coords, 2)  # 1 cm in metres: vertices OSM shares are identical anyway
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    pairs = np.unique(np.column_stack([inverse, owner]), axis=0)
    lines_per_vertex = np.bincount(pairs[:, 0], minlength=inverse.max() + 1)
    first = np.r_[True, owner[1:] != owner[:-1]]
    last = np.r_[owner[1:] != owner[:-1], True]
    split = first | last | (lines_per_vertex[inverse] > 1)
    return coords, owner, np.column_stack([inverse, split])


def _pieces(coords: np.ndarray, owner: np.ndarray, marks: np.ndarray):
    """Yield (line index, vertex ids, coordinates) for each piece between split points."""
    vertex, split = marks[:, 0], marks[:, 1].astype(bool)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    ends = np.r_[starts[1:], owner.size]
    for start, end in zip(starts, ends, strict=True):
        cuts = start + np.flatnonzero(split[start:end])
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            yield owner[a], vertex[a], vertex[b], coords[a : b + 1]


def _direction(oneway: object, junction: object) -> tuple[bool, bool]:
    """(forward, backward) travel allowed on a way."""
    tag = str(oneway).strip().lower() if isinstance(oneway, str) else ""
    if tag in ONEWAY_BACKWARD:
        return False, True
    if tag in ONEWAY_FORWARD or (
        isinstance(junction, str) and junction in ("roundabout", "circular")
    ):
        return True, False
    return True, True


def _attributes(roads: pd.DataFrame, classes: Mapping[str, RoadClass]) -> pd.DataFrame:
    """Per-way speed (km/h), lanes per direction and per-lane capacity."""
    cls = [road_class(h, classes) for h in roads["highway"]]
    default_speed = np.array([c.speed_kmh for c in cls], dtype=float)
    speed = pd.to_numeric(roads.get("maxspeed_kmh"), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    speed = np.where(np.isfinite(speed) & (speed > 0), speed, default_speed)
    tagged = pd.to_numeric(roads.get("lanes"), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    both = np.array(
        [all(_direction(o, j)) for o, j in zip(roads["oneway"], roads["junction"], strict=True)]
    )
    per_direction = np.where(both, tagged / 2, tagged)
    lanes = np.where(
        np.isfinite(per_direction) & (per_direction >= 1),
        per_direction,
        np.array([c.lanes for c in cls], dtype=float),
    )
    return pd.DataFrame(
        {"speed": speed, "lanes": lanes, "lane_capacity": [c.lane_capacity for c in cls]},
        index=roads.index,
    )


def segments_from_roads(
    roads: gpd.GeoDataFrame, classes: Mapping[str, RoadClass] = ROAD_CLASSES
) -> Segments:
    """Directed segments of the drivable roads in a published roads frame (EPSG:4326)."""
    for column in ("fid", "highway", "oneway", "junction", "geometry"):
        if column not in roads.columns:
            raise NetworkError(f"the roads dataset has no '{column}' column")
    drivable = roads[[road_class(h, classes) is not None for h in roads["highway"]]]
    drivable = drivable[drivable.geometry.geom_type == "LineString"].to_crs(METRIC_CRS)
    if drivable.empty:
        raise NetworkError("the roads dataset has no drivable roads")
    attrs = _attributes(drivable, classes)
    lines = drivable.geometry.to_numpy()
    coords, owner, marks = _split_points(lines)
    rows = []
    for line, a, b, xy in _pieces(coords, owner, marks):
        if a == b:
            continue  # a closed loop piece with no intersection inside: no topology to add
        forward, backward = _direction(
            drivable["oneway"].iloc[line], drivable["junction"].iloc[line]
        )
        if forward:
            rows.append((line, a, b, xy))
        if backward:
            rows.append((line, b, a, xy[::-1]))
    line_idx = np.array([r[0] for r in rows])
    geoms = np.array([shapely.LineString(r[3]) for r in rows], dtype=object)
    vertex_xy = np.zeros((marks[:, 0].max() + 1, 2))
    vertex_xy[marks[:, 0]] = coords
    used, node_of = np.unique(np.array([[r[1], r[2]] for r in rows]).ravel(), return_inverse=True)
    node_of = node_of.reshape(-1, 2)
    lanes = attrs["lanes"].to_numpy()[line_idx]
    return Segments(
        from_node=node_of[:, 0],
        to_node=node_of[:, 1],
        node_xy=vertex_xy[used],
        length=shapely.length(geoms),
        speed=attrs["speed"].to_numpy()[line_idx],
        lanes=lanes,
        capacity=lanes * attrs["lane_capacity"].to_numpy()[line_idx],
        highway=drivable["highway"].to_numpy()[line_idx],
        source_fid=drivable["fid"].to_numpy()[line_idx].astype(np.int64),
        geometry=geoms,
        dropped={"not_drivable": int(len(roads) - len(drivable))},
    )


def main_component(seg: Segments) -> Segments:
    """Keep the segments inside the largest strongly connected part of the road graph (one-way
    dead ends and roads cut off by the extract boundary cannot carry through traffic both ways)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(seg.node_xy)
    graph = coo_matrix((np.ones(seg.from_node.size), (seg.from_node, seg.to_node)), (n, n))
    _, labels = connected_components(graph.tocsr(), directed=True, connection="strong")
    main = labels == np.bincount(labels).argmax()
    keep = main[seg.from_node] & main[seg.to_node]
    renumber = np.cumsum(main) - 1
    return Segments(
        from_node=renumber[seg.from_node[keep]],
        to_node=renumber[seg.to_node[keep]],
        node_xy=seg.node_xy[main],
        length=seg.length[keep],
        speed=seg.speed[keep],
        lanes=seg.lanes[keep],
        capacity=seg.capacity[keep],
        highway=seg.highway[keep],
        source_fid=seg.source_fid[keep],
        geometry=seg.geometry[keep],
        dropped={**seg.dropped, "segments_outside_main_component": int((~keep).sum())},
    )
