"""The published results of a planning scenario (`scenario_<name>_links|buildings|zones|totals`,
written by `twin.scenarios.run.publish_result`) joined to street names and addresses, and the
geometry questions the scenario page asks of them: which changes are near a point or an address.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from cachetools import LRUCache

from api.site.catalog import scenario_groups
from opendata.errors import CivicError, NotFound
from opendata.metadata.search import Entry, fold
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path

PARTS = ("links", "buildings", "zones", "totals", "periods")
#: Smallest flow change (vehicles per hour) worth showing a citizen.
MIN_FLOW_CHANGE = 5.0
#: Smallest noise change (dB) a person can notice is about 1 dB; 0.5 rounds to it.
MIN_NOISE_CHANGE = 0.5
NEAR_RADIUS_M = 300.0


@dataclass(frozen=True, eq=False)
class ScenarioData:
    """A scenario's published parts, with street names on links and addresses on buildings."""

    links: gpd.GeoDataFrame | None
    buildings: gpd.GeoDataFrame | None
    zones: pd.DataFrame | None
    totals: pd.DataFrame | None
    metric_crs: str
    periods: gpd.GeoDataFrame | None = None  #: per link and 15 minutes (None: not simulated)


def read_part(settings: Settings, entry: Entry | None, columns: list[str] | None = None):
    """One published part's rows (None when the scenario has no such part)."""
    if entry is None:
        return None
    return gpd.read_parquet(version_path(settings, entry.version), columns=columns)


def _baseline(settings: Settings, name: str, version: int | None, columns: list[str]):
    """A baseline dataset (at the version the scenario used, when recorded)."""
    try:
        record = Catalog(settings.catalog_url).version(name, version)
        frame = pd.read_parquet(version_path(settings, record), columns=columns)
    except (CivicError, OSError, KeyError, ValueError):
        return None
    return frame


def _street_names(links: gpd.GeoDataFrame, roads: pd.DataFrame | None) -> pd.Series:
    if roads is None or "road_fid" not in links:
        return pd.Series([""] * len(links), index=links.index)
    names = roads.set_index("fid")["name"]
    return links["road_fid"].map(names).fillna("").astype(str)


def _addresses(buildings: gpd.GeoDataFrame, base: pd.DataFrame | None) -> pd.Series:
    if base is None or not {"street", "housenumber"} <= set(base.columns):
        return pd.Series([""] * len(buildings), index=buildings.index)
    known = base.dropna(subset=["street"]).set_index("fid")
    label = (known["street"] + " " + known["housenumber"].fillna("")).str.strip()
    return buildings["fid"].map(label).fillna("").astype(str)


def parts_of(items: Sequence[Entry], name: str) -> dict[str, Entry]:
    """A published scenario's result datasets by part (links, zones, ...); NotFound if none."""
    group = scenario_groups(items).get(name)
    if not group:
        raise NotFound(f"no published scenario named '{name[:80]}'")
    prefix = f"scenario_{name}_"
    return {e.name.removeprefix(prefix): e for e in group}


def load(settings: Settings, parts: Mapping[str, Entry]) -> ScenarioData:
    """Read and join the parts (cached by their content hashes; versions are immutable)."""
    key = tuple((p, parts[p].name, parts[p].version.content_hash) for p in PARTS if p in parts)
    return _load(settings, key, parts)


_CACHE: LRUCache = LRUCache(maxsize=16)
_CACHE_LOCK = threading.Lock()  # cachetools caches are not thread-safe by themselves


def _load(settings: Settings, key: tuple, parts: Mapping[str, Entry]) -> ScenarioData:
    cache_key = (str(settings.data_dir), key)
    with _CACHE_LOCK:
        found = _CACHE.get(cache_key)
    if found is not None:
        return found
    links, buildings, zones, totals = (
        read_part(settings, parts.get(p)) for p in ("links", "buildings", "zones", "totals")
    )
    used = next(iter(parts.values())).version.provenance.get("datasets", {})
    crs = "EPSG:3067"
    if links is not None and len(links):
        crs = str(links.estimate_utm_crs())
        roads = _baseline(settings, "roads", used.get("roads"), ["fid", "name"])
        links = links.assign(street=_street_names(links, roads))
    if buildings is not None and len(buildings):
        base = _baseline(
            settings, "buildings", used.get("buildings"), ["fid", "street", "housenumber"]
        )
        buildings = buildings.assign(address=_addresses(buildings, base))
    periods = read_part(settings, parts.get("periods"))
    data = ScenarioData(links, buildings, zones, totals, crs, periods)
    with _CACHE_LOCK:
        _CACHE[cache_key] = data
    return data


def changed_links(links: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Links the scenario edited, or whose flow changed noticeably."""
    edited = links["edit"].fillna("") != ""
    return links[edited | (links["d_flow"].abs() >= MIN_FLOW_CHANGE)]


def find_address(buildings: gpd.GeoDataFrame, query: str) -> tuple[str, float, float] | None:
    """The building whose address best matches `query`: (address, lon, lat) or None.

    An exact match (case and accents ignored) wins, then an address starting with the query,
    then one containing it.
    """
    wanted = " ".join(fold(query).split())
    if not wanted:
        return None
    labels = buildings["address"].map(lambda a: " ".join(fold(a).split()))
    for test in (
        labels == wanted,
        labels.str.startswith(wanted),
        labels.str.contains(wanted, regex=False),
    ):
        hits = buildings[test & (labels != "")]
        if len(hits):
            best = hits.iloc[0]
            point = shapely.point_on_surface(best.geometry)
            return str(best["address"]), float(point.x), float(point.y)
    return None


def near(
    frame: gpd.GeoDataFrame, lon: float, lat: float, crs: str, radius_m: float = NEAR_RADIUS_M
) -> gpd.GeoDataFrame:
    """Rows of `frame` within `radius_m` of a point, with `distance_m`, nearest first."""
    if frame is None or not len(frame):
        return gpd.GeoDataFrame()
    here = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(crs).iloc[0]
    metric = frame.geometry.to_crs(crs)
    distance = metric.distance(here)
    inside = distance <= radius_m
    return frame[inside].assign(distance_m=distance[inside].round(0)).sort_values("distance_m")


def weighted_trip_minutes(zones: pd.DataFrame) -> tuple[float, float] | None:
    """Mean car trip time over all trips from grid zones, before and after (minutes)."""
    needed = {"trips_from_base", "trips_from_scen", "time_from_base", "time_from_scen"}
    if zones is None or not needed <= set(zones.columns):
        return None
    grid = zones[zones["kind"] == "grid"] if "kind" in zones else zones
    out = []
    for tag in ("base", "scen"):
        trips, minutes = grid[f"trips_from_{tag}"], grid[f"time_from_{tag}"]
        ok = trips.notna() & minutes.notna() & (trips > 0)
        if not ok.any():
            return None
        out.append(float(np.average(minutes[ok], weights=trips[ok])))
    return out[0], out[1]


def line_weight(flow: pd.Series, top: float) -> pd.Series:
    """Line width 1.5-9 px growing with the square root of flow (area reads as volume)."""
    top = top if top and math.isfinite(top) and top > 0 else 1.0
    return (1.5 + 7.5 * np.sqrt(flow.clip(lower=0).fillna(0) / top)).round(1)
