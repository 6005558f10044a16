"""Scenario edits applied to the city's link arrays: closures, changes, new links, developments
and cordon charges. Edits are checked against the network before anything runs; a bad one raises
one `SpecError` naming its index and type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from opendata.errors import SpecError
from opendata.settings import Settings
from twin.city.developments import development_people, new_buildings
from twin.city.load import City
from twin.city.load import load_city as city_at_versions
from twin.city.roads import METRIC_CRS
from twin.data import persons_per_dwelling, value_of_time
from twin.scenarios.model import (
    AddLink,
    Change,
    Close,
    CordonCharge,
    Development,
    Edit,
    ScenarioSpec,
    Selection,
)
from twin.traffic.network import FLOAT_FIELDS, Network, build_network
from twin.traffic.paths import skim

LINK_FIELDS = (*FLOAT_FIELDS, "link_type", "source_id")
ADDED_LINK_TYPE = 2  # link_type of links added by a scenario (roads are 1, connectors 9)


class Disconnected(SpecError):
    """A closure that leaves zone pairs with demand without any path; `zones` maps each zone
    cut off (its id as the message shows it) to how many of its pairs lost every path."""

    def __init__(self, message: str, zones: dict[int, int]) -> None:
        super().__init__(message)
        self.zones = zones


@dataclass(frozen=True, eq=False)
class Variant:
    """A network, the people per zone and per-link context; the baseline has no edits."""

    network: Network
    base_link: np.ndarray  # per link: index of the same link in the baseline (-1: added)
    geometry: np.ndarray  # per link, EPSG:3067
    road_fid: np.ndarray  # per link: published road fid (-1: connector or added)
    highway: np.ndarray  # per link: OSM class ("" for connectors)
    residents: np.ndarray  # per zone
    jobs: np.ndarray  # per zone
    new_buildings: gpd.GeoDataFrame  # developments as pseudo-buildings (residents_est), metric
    closed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # baseline links
    notes: tuple[dict, ...] = ()


def load_city(settings: Settings, spec: ScenarioSpec) -> City:
    """The city a scenario starts from, at the dataset versions its baseline pins."""
    return city_at_versions(settings, spec.baseline.assumptions(), spec.baseline.versions)


def baseline_variant(city: City) -> Variant:
    """The city as it is: every link maps to itself."""
    m = city.model
    road = m.network.source_id >= 0
    highway = np.where(road, m.segments.highway[np.maximum(m.network.source_id, 0)], "")
    empty = gpd.GeoDataFrame({"residents_est": []}, geometry=[], crs=METRIC_CRS)
    return Variant(
        m.network,
        np.arange(m.network.n_links),
        m.link_geometry,
        m.road_fid,
        highway.astype(object),
        m.zones["residents"].to_numpy(dtype=float),
        m.zones["jobs"].to_numpy(dtype=float),
        empty,
    )


def _to_metric(geom: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(METRIC_CRS).iloc[0]


def _where(index: int, edit: Edit) -> str:
    return f"edits[{index}] ({edit.type})"


def _inside(city: City, geom: shapely.Geometry, where: str) -> shapely.Geometry:
    """The metric geometry, refused when it lies wholly outside the network."""
    metric = _to_metric(geom)
    if not metric.intersects(city.hull.buffer(50.0)):
        hull = gpd.GeoSeries([city.hull], crs=METRIC_CRS).to_crs("EPSG:4326")
        w, s, e, n = np.round(hull.total_bounds, 4)
        raise SpecError(
            f"{where}: the geometry lies outside the network "
            f"(which covers lon {w}..{e}, lat {s}..{n})"
        )
    return metric


def select_links(city: City, arrays: dict, sel: Selection, where: str) -> np.ndarray:
    """Indices of road links (in `arrays`) matching every key of the selection."""
    road = arrays["road_fid"] >= 0
    match = road.copy()
    fid = arrays["road_fid"]
    if sel.road_fid:
        match &= np.isin(fid, sel.road_fid)
    if sel.osm_key or sel.name:
        roads = city.roads.set_index("fid")
        look = roads.reindex(np.where(road, fid, roads.index[0]))
        if sel.osm_key:
            match &= look["osm_key"].isin(sel.osm_key).to_numpy()
        if sel.name:
            names = look["name"].isin(sel.name) | look["name_sv"].isin(sel.name)
            match &= names.fillna(False).to_numpy(dtype=bool)
    if sel.polygon is not None:
        poly = _inside(city, sel.polygon, f"{where}.polygon")
        mid = shapely.line_interpolate_point(arrays["geometry"], 0.5, normalized=True)
        match &= shapely.contains(poly, mid)
    if not match.any():
        raise SpecError(f"{where}: the selection matches no road links")
    return np.flatnonzero(match)


def _close(city, arrays, edit: Close, where, spec) -> tuple[dict, dict]:
    idx = select_links(city, arrays, edit.select, where)
    keep = np.ones(arrays["road_fid"].size, bool)
    keep[idx] = False
    note = {"links": int(idx.size), "closed_base_links": arrays["base_link"][idx].tolist()}
    return {k: v[keep] for k, v in arrays.items()}, note


def _change(city, arrays, edit: Change, where, spec) -> tuple[dict, dict]:
    idx = select_links(city, arrays, edit.select, where)
    out = {k: v.copy() for k, v in arrays.items()}
    if edit.lanes is not None:
        if edit.capacity is None:
            out["capacity"][idx] *= edit.lanes / out["lanes"][idx]
        out["lanes"][idx] = edit.lanes
    if edit.capacity is not None:
        out["capacity"][idx] = edit.capacity
    if edit.speed_kmh is not None:
        out["speed"][idx] = edit.speed_kmh
    if edit.max_speed_kmh is not None:
        out["speed"][idx] = np.minimum(out["speed"][idx], edit.max_speed_kmh)
    out["free_flow_time"][idx] = out["length"][idx] / 1000 / out["speed"][idx] * 60
    return out, {"links": int(idx.size)}


def _snap(city: City, point: np.ndarray, tolerance: float, where: str, end: str) -> int:
    net = city.model.network
    xy = city.node_xy[net.zones :]
    dist = np.hypot(*(xy - point).T)
    best = int(np.argmin(dist))
    if dist[best] > tolerance:
        raise SpecError(
            f"{where}: the {end} point is {dist[best]:.0f} m from the nearest road node "
            f"(snap_m = {tolerance:g})"
        )
    return net.zones + best


def _add_link(city, arrays, edit: AddLink, where, spec) -> tuple[dict, dict]:
    line = _inside(city, edit.geometry, f"{where}.geometry")
    coords = shapely.get_coordinates(line)
    a = _snap(city, coords[0], edit.snap_m, where, "start")
    b = _snap(city, coords[-1], edit.snap_m, where, "end")
    if a == b:
        raise SpecError(f"{where}: both ends snap to the same node")
    ids = city.model.network.node_ids
    pairs = [(a, b)] if edit.oneway else [(a, b), (b, a)]
    length = float(line.length)
    capacity = edit.capacity or edit.lanes * 700.0
    new = {
        "from_id": np.array([ids[p[0]] for p in pairs]),
        "to_id": np.array([ids[p[1]] for p in pairs]),
        "length": np.full(len(pairs), length),
        "free_flow_time": np.full(len(pairs), length / 1000 / edit.speed_kmh * 60),
        "capacity": np.full(len(pairs), capacity),
        "lanes": np.full(len(pairs), edit.lanes),
        "speed": np.full(len(pairs), edit.speed_kmh),
        "b": np.full(len(pairs), 0.15),
        "power": np.full(len(pairs), 4.0),
        "toll": np.zeros(len(pairs)),
        "link_type": np.full(len(pairs), ADDED_LINK_TYPE),
        "source_id": np.full(len(pairs), -2),
        "base_link": np.full(len(pairs), -1),
        "geometry": np.array([line, line.reverse()][: len(pairs)], dtype=object),
        "road_fid": np.full(len(pairs), -1),
        "highway": np.array(["added"] * len(pairs), dtype=object),
    }
    merged = {k: np.concatenate([arrays[k], new[k]]) for k in arrays}
    return merged, {"links": len(pairs), "length_m": round(length, 1)}


def _cordon(city, arrays, edit: CordonCharge, where, spec) -> tuple[dict, dict]:
    poly = _inside(city, edit.polygon, f"{where}.polygon")
    start = shapely.get_point(arrays["geometry"], 0)
    end = shapely.get_point(arrays["geometry"], -1)
    entering = (arrays["road_fid"] >= 0) & ~shapely.contains(poly, start)
    entering &= shapely.contains(poly, end)
    if not entering.any():
        raise SpecError(f"{where}: no road link enters the polygon")
    vot = edit.value_of_time or value_of_time(edit.currency)
    minutes = edit.amount / vot * 60.0
    out = {k: v.copy() for k, v in arrays.items()}
    out["toll"][entering] += minutes
    return out, {"links": int(entering.sum()), "toll_minutes": round(minutes, 3)}


def _development(city, arrays, edit: Development, where, spec) -> tuple[dict, dict]:
    geom = _inside(city, edit.geometry, f"{where}.geometry")
    ppd = edit.persons_per_dwelling or persons_per_dwelling(spec.impacts.region)
    note = {"residents": round(edit.dwellings * ppd, 1), "jobs": edit.jobs, "geometry": geom}
    return arrays, note


EDITORS = {
    "close": _close,
    "change": _change,
    "add_link": _add_link,
    "cordon_charge": _cordon,
    "development": _development,
}


def link_arrays(city: City, base: Variant) -> dict[str, np.ndarray]:
    """The variant's link attributes as editable arrays (one entry per link)."""
    net = base.network
    out = {k: getattr(net, k).copy() for k in LINK_FIELDS}
    out.update(from_id=net.from_id, to_id=net.to_id, base_link=base.base_link.copy())
    out.update(geometry=base.geometry, road_fid=base.road_fid, highway=base.highway)
    return out


def apply_edits(city: City, spec: ScenarioSpec, base: Variant) -> Variant:
    """The scenario variant: every edit applied in order, then checked for lost OD pairs."""
    arrays, notes = link_arrays(city, base), []
    for i, edit in enumerate(spec.edits):
        arrays, note = EDITORS[edit.type](city, arrays, edit, _where(i, edit), spec)
        notes.append({"index": i, "type": edit.type, **note})
    order = np.argsort(_tail_rank(base.network, arrays), kind="stable")
    arrays = {k: v[order] for k, v in arrays.items()}
    net = build_network(
        base.network.node_ids,
        arrays["from_id"],
        arrays["to_id"],
        zones=base.network.zones,
        first_thru_index=base.network.first_thru_index,
        toll_factor=1.0 if arrays["toll"].any() else base.network.toll_factor,
        name=f"{base.network.name}:{spec.name}",
        **{k: arrays[k] for k in LINK_FIELDS},
    )
    developments = [n for n in notes if n["type"] == "development"]
    residents, jobs = development_people(city.model, base.residents, base.jobs, developments)
    _check_reachable(net, _car_pairs(city), spec, notes)
    closed = np.array([b for n in notes for b in n.get("closed_base_links", [])], dtype=np.int64)
    return Variant(
        net,
        arrays["base_link"],
        arrays["geometry"],
        arrays["road_fid"],
        arrays["highway"],
        residents,
        jobs,
        new_buildings(developments),
        closed,
        tuple(_public(n) for n in notes),
    )


def _tail_rank(net: Network, arrays: dict) -> np.ndarray:
    """Tail node index of each link, so links can be put in the CSR order `build_network` keeps."""
    pos = pd.Series(np.arange(net.n_nodes), index=net.node_ids)
    return pos.loc[arrays["from_id"]].to_numpy()


def _car_pairs(city: City) -> np.ndarray:
    """Zone pairs that may carry car trips: every zone to every grid zone, and the fixed
    gateway traffic."""
    m = city.model
    pairs = m.gateway_vehicles > 0
    pairs[:, : int((m.zones["kind"] == "grid").sum())] = True
    np.fill_diagonal(pairs, False)
    return pairs.astype(float)


def _public(note: dict) -> dict:
    return {k: v for k, v in note.items() if k not in ("closed_base_links", "geometry")}


def _check_reachable(net: Network, demand: np.ndarray, spec: ScenarioSpec, notes: list) -> None:
    """Refuse edits that leave a zone pair that may carry car trips without any path."""
    times = skim(net, net.free_flow_time, {"t": net.free_flow_time})["t"]
    lost = (demand > 0) & ~np.isfinite(times)
    if not lost.any():
        return
    o, d = np.argwhere(lost)[0]
    closes = [n for n in notes if n["type"] == "close"]
    culprits = ", ".join(f"edits[{n['index']}] (close)" for n in closes)
    ids = net.node_ids
    raise Disconnected(
        f"{culprits or 'the edits'}: the closure disconnects {int(lost.sum())} zone pairs with "
        f"demand (e.g. zone {ids[o] + 1} -> zone {ids[d] + 1}); nothing was run",
        cut_off_zones(lost, demand > 0, ids),
    )


def cut_off_zones(lost: np.ndarray, wanted: np.ndarray, ids: np.ndarray) -> dict[int, int]:
    """The zones that lost at least half of their pairs (origin or destination), with the count
    lost: the cut-off side, not the rest of the city that only loses its pairs to them."""
    n_lost = lost.sum(axis=0) + lost.sum(axis=1)
    cut = n_lost * 2 >= wanted.sum(axis=0) + wanted.sum(axis=1)
    cut &= n_lost > 0
    if not cut.any():  # no zone lost half its pairs: name every zone that lost any
        cut = n_lost > 0
    return {int(ids[i]) + 1: int(n_lost[i]) for i in np.flatnonzero(cut)}
