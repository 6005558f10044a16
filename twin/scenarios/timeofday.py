"""The morning peak through time for a scenario: the `[time_of_day]` table of its spec, the
mesoscopic simulation of baseline and scenario car trips, and what it publishes
(`scenario_<name>_periods`: per link and 15 minutes) and summarises (delay through the morning).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from opendata.errors import SpecError
from opendata.ingest.speccheck import check_keys, fail, number
from twin.city.roads import METRIC_CRS
from twin.data import load_table
from twin.traffic.dynamic import DynamicConfig, DynamicResult, simulate_peak
from twin.traffic.network import Network

CONNECTOR = 9  # link_type of zone connectors in the city model
NUMBERS = ("start_h", "period_min", "dt_s", "jam_density", "stuck_s", "reroute_min")


def default_profile() -> tuple[float, ...]:
    """The departure profile of `twin/data/departure_profile.csv` (06:00-10:00 by 15 min)."""
    return tuple(float(v) for v in load_table("departure_profile")["rate"])


@dataclass(frozen=True)
class TimeOfDay:
    """`[time_of_day]`: whether and how to simulate the morning peak."""

    enabled: bool = True
    profile: tuple[float, ...] = field(default_factory=default_profile)
    config: DynamicConfig = field(default_factory=DynamicConfig)


def parse_time_of_day(data: object) -> TimeOfDay:
    """The `[time_of_day]` table (all keys optional); the profile sets the number of periods."""
    if not isinstance(data, dict):
        raise fail("time_of_day", "a table", data)
    check_keys(data, "time_of_day", {"enabled", "profile", "seed", *NUMBERS}, set())
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("time_of_day.enabled", "true or false", enabled)
    profile = default_profile()
    if "profile" in data:
        raw = data["profile"]
        if not isinstance(raw, list) or not raw or len(raw) > 96:
            raise fail("time_of_day.profile", "a list of 1 to 96 rates", raw)
        profile = tuple(number(v, f"time_of_day.profile[{i}]") for i, v in enumerate(raw))
        if min(profile) < 0 or max(profile) <= 0:
            raise SpecError("time_of_day.profile: rates must be >= 0 and not all 0")
    kw: dict[str, Any] = {k: number(data[k], f"time_of_day.{k}") for k in NUMBERS if k in data}
    if "seed" in data:
        seed = data["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise fail("time_of_day.seed", "an integer >= 0", seed)
        kw["seed"] = seed
    try:
        config = DynamicConfig(periods=len(profile), **kw)
    except ValueError as err:
        raise SpecError(f"time_of_day: {err}") from None
    return TimeOfDay(enabled, profile, config)


def simulate(net: Network, vehicles: np.ndarray, tod: TimeOfDay) -> DynamicResult | None:
    """The morning of one variant: its peak-hour car OD spread by the profile (None if off)."""
    if not tod.enabled:
        return None
    profile = np.asarray(tod.profile)
    return simulate_peak(net, vehicles, profile, tod.config, virtual=net.link_type == CONNECTOR)


def _queue_m(result: DynamicResult, net: Network) -> np.ndarray:
    """Mean standing queue in metres (vehicles x jam spacing / lanes)."""
    spacing = 1000.0 / result.config.jam_density
    return result.queue * spacing / np.maximum(net.lanes, 1.0)[None, :]


def _pick(values: np.ndarray, index: np.ndarray, fill: float) -> np.ndarray:
    """values[:, index] where index >= 0, else `fill` (periods x rows)."""
    out = np.full((values.shape[0], index.size), fill)
    out[:, index >= 0] = values[:, index[index >= 0]]
    return out


def periods_frame(
    base: DynamicResult, scen: DynamicResult, rows: dict[str, np.ndarray], nets: tuple
) -> gpd.GeoDataFrame:
    """Per road link and period, before and after (`rows`: the links table's link index in
    baseline `b` and scenario `s`, road_fid and metric geometry; `nets`: both networks)."""
    b, s = rows["b"], rows["s"]
    n_periods = base.config.periods
    values = {}
    for tag, result, net, index in (("base", base, nets[0], b), ("scen", scen, nets[1], s)):
        values[f"flow_{tag}"] = _pick(result.flow, index, 0.0).round(1)
        values[f"speed_{tag}"] = _pick(result.speed, index, np.nan).round(1)
        values[f"queue_{tag}"] = _pick(_queue_m(result, net), index, 0.0).round(1)
    frame = pd.DataFrame(
        {
            "link": np.tile(b, n_periods),
            "road_fid": np.tile(rows["road_fid"], n_periods),
            "period": np.repeat(np.arange(n_periods), b.size),
            "start": np.repeat([base.config.label(p) for p in range(n_periods)], b.size),
            **{k: v.ravel() for k, v in values.items()},
        }
    )
    geometry = np.tile(rows["geometry"], n_periods)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=METRIC_CRS).to_crs("EPSG:4326")


def morning_totals(
    base: DynamicResult | None, scen: DynamicResult | None
) -> dict[str, tuple[str, float, float]]:
    """Totals of the simulated morning, before and after."""
    if base is None or scen is None:
        return {}
    pairs = {
        "morning_vehicle_hours": ("veh*h", lambda r: r.vehicle_hours.sum()),
        "morning_delay_hours": ("veh*h", lambda r: r.delay_hours.sum()),
        "morning_entry_wait_hours": ("veh*h", lambda r: r.entry_hours.sum()),
        "morning_peak_delay_hours": ("veh*h/15min", lambda r: r.delay_hours.max()),
        "morning_vehicles": ("veh", lambda r: r.vehicles),
        "morning_teleported": ("veh", lambda r: r.teleported),
    }
    return {k: (unit, float(fn(base)), float(fn(scen))) for k, (unit, fn) in pairs.items()}


def morning_summary(base: DynamicResult | None, scen: DynamicResult | None) -> dict[str, Any]:
    """Network delay and vehicle-hours through the morning, for the JSON summary and page."""
    if base is None or scen is None:
        return {"simulated": False}
    cfg = base.config
    series = lambda f: {"base": f(base), "scen": f(scen)}  # noqa: E731
    return {
        "simulated": True,
        "periods": [cfg.label(p) for p in range(cfg.periods)],
        "period_min": cfg.period_min,
        "seed": cfg.seed,
        "delay_hours": series(lambda r: [round(float(v), 2) for v in r.delay_hours]),
        "vehicle_hours": series(lambda r: [round(float(v), 2) for v in r.vehicle_hours]),
        "entry_wait_hours": series(lambda r: [round(float(v), 2) for v in r.entry_hours]),
        "vehicles": series(lambda r: r.vehicles),
        "teleported": series(lambda r: r.teleported),
    }
