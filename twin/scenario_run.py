"""Run a scenario against its baseline: both solved with identical settings to the same gap, then
link, zone, building and network indicators compared, recorded with provenance and published.

`run_scenario` is a pure function of (settings, spec, baseline): a `Baseline` from
`prepare_baseline` can be reused by many variants, also in Dask workers (everything pickles).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from opendata.errors import SpecError
from opendata.pipeline import code_version
from opendata.publish import publish_frame
from opendata.settings import Settings
from twin.accessibility import Access, WalkGraph, accessibility, walk_graph
from twin.assignment import AssignmentConfig, Progress, assign
from twin.city import METRIC_CRS
from twin.data import HERE, vehicle_mix
from twin.edits import City, Variant, apply_edits, baseline_variant, load_city
from twin.emissions import link_emissions
from twin.noise import BANDS, building_lden, exposure
from twin.results import AssignmentResult
from twin.scenario_spec import ScenarioSpec

ProgressFn = Callable[[str, Progress | None], None]
CONNECTOR = 9  # link_type of zone connectors in the city model
PARTS = ("links", "buildings", "zones", "totals")


@dataclass(frozen=True, eq=False)
class Solved:
    """One variant at equilibrium with its impacts (arrays per link of `variant.network`)."""

    variant: Variant
    result: AssignmentResult
    time_skim: np.ndarray  # zones x zones, congested minutes
    speed: np.ndarray  # congested km/h
    emissions: dict[str, np.ndarray]  # kg per peak hour
    homes: gpd.GeoDataFrame  # buildings + developments (fid < 0), metric, residents_est
    lden: np.ndarray  # per home, dB(A)
    access: Access


@dataclass(frozen=True, eq=False)
class Baseline:
    """A solved baseline, reusable by every scenario whose spec has the same `key`."""

    key: str
    city: City
    walk: WalkGraph
    solved: Solved


def _stage(progress: ProgressFn | None, stage: str) -> Callable[[Progress], None] | None:
    if progress is None:
        return None
    progress(stage, None)
    return lambda p: progress(stage, p)


def _mix(variant: Variant, spec: ScenarioSpec) -> tuple[np.ndarray, np.ndarray]:
    """Medium and heavy vehicle shares per link: by road class, or the spec's uniform share."""
    share = spec.impacts.heavy_share
    if share is not None:
        n = variant.network.n_links
        return np.full(n, 0.6 * share), np.full(n, 0.4 * share)
    medium, heavy = vehicle_mix(variant.highway)
    return medium.to_numpy(), heavy.to_numpy()


def solve(city: City, walk: WalkGraph, variant: Variant, spec: ScenarioSpec, label: str, progress):
    """Assign the variant's demand, then its emissions, facade noise and accessibility."""
    a, imp, net = spec.assignment, spec.impacts, variant.network
    config = AssignmentConfig(a.algorithm, a.target_gap, a.max_iterations)
    result = assign(net, variant.demand, config, _stage(progress, f"{label}: assignment"))
    _stage(progress, f"{label}: impacts")
    flow = np.where(net.link_type != CONNECTOR, result.flow, 0.0)
    speed = np.divide(net.length * 0.06, result.time, out=net.speed.copy(), where=result.time > 0)
    medium, heavy = _mix(variant, spec)
    homes = pd.concat(
        [
            city.buildings[["fid", "residents_est", "geometry"]],
            variant.new_buildings.assign(fid=-1 - np.arange(len(variant.new_buildings))),
        ],
        ignore_index=True,
    )
    lden = building_lden(
        homes.geometry.to_numpy(),
        variant.geometry,
        flow,
        net.speed,  # CNOSSOS-EU uses the posted (free-flow) speed
        (medium, heavy),
        peak_hour_share=city.model.assumptions.peak_hour_share,
        radius=imp.noise_radius_m,
    )
    zones = city.model.zones
    zone_xy = zones.to_crs(METRIC_CRS).get_coordinates().to_numpy()[(zones["kind"] == "grid")]
    skim = result.skim()["time"]
    access = accessibility(walk, homes, city.services, zone_xy, variant.residents, skim, imp)
    emissions = link_emissions(flow, net.length, speed, medium + heavy)
    return Solved(variant, result, skim, speed, emissions, homes, lden, access)


def prepare_baseline(
    settings: Settings, spec: ScenarioSpec, *, progress: ProgressFn | None = None
) -> Baseline:
    """Solve the baseline a spec refers to (its versions, demand, assignment and impacts)."""
    return _baseline(load_city(settings, spec), spec, progress)


def _baseline(city: City, spec: ScenarioSpec, progress: ProgressFn | None) -> Baseline:
    walk = walk_graph(city.roads)
    solved = solve(city, walk, baseline_variant(city), spec, "baseline", progress)
    return Baseline(spec.baseline_key(), city, walk, solved)


def run_scenario(
    settings: Settings,
    spec: ScenarioSpec,
    *,
    baseline: Baseline | None = None,
    progress: ProgressFn | None = None,
) -> ScenarioResult:
    """Solve baseline and scenario with identical settings and compare them.

    Edits are checked before any assignment runs; a reused `baseline` must come from a spec with
    the same [baseline], [assignment] and [impacts]."""
    if baseline is not None and baseline.key != spec.baseline_key():
        raise SpecError(
            f"{spec.name}: the baseline given was prepared for other [baseline], [assignment] or "
            "[impacts] settings"
        )
    city = baseline.city if baseline else load_city(settings, spec)
    _stage(progress, "edits")
    variant = apply_edits(city, spec, baseline_variant(city))
    baseline = baseline or _baseline(city, spec, progress)
    scenario = solve(city, baseline.walk, variant, spec, "scenario", progress)
    provenance = {
        "scenario": spec.name,
        "spec_sha256": spec.sha256,
        "code_version": code_version(),
        "datasets": dict(sorted(city.versions.items())),
        "assignment": {
            "algorithm": spec.assignment.algorithm,
            "target_gap": spec.assignment.target_gap,
            "max_iterations": spec.assignment.max_iterations,
        },
    }
    return compare_solved(spec, city, baseline.solved, scenario, provenance)


def _pick(values: np.ndarray, index: np.ndarray, fill: float) -> np.ndarray:
    """values[index] where index >= 0, else `fill`."""
    out = np.full(index.size, fill, dtype=float)
    out[index >= 0] = values[index[index >= 0]]
    return out


def _link_values(solved: Solved, index: np.ndarray) -> dict[str, np.ndarray]:
    """Flow, speed, v/c and emissions of `solved` at link `index` (-1: link absent)."""
    r = solved.result
    return {
        "flow": _pick(r.flow, index, 0.0),
        "speed": _pick(solved.speed, index, np.nan),
        "voc": _pick(r.voc, index, 0.0),
        "co2": _pick(solved.emissions["CO2"], index, 0.0),
        "nox": _pick(solved.emissions["NOx"], index, 0.0),
    }


def _edit_labels(base: Network, scen: Network, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """closed / added / charged / changed / '' for each row (base index b, scenario index s)."""
    label = np.full(b.size, "", dtype=object)
    both = (b >= 0) & (s >= 0)
    bi, si = b[both], s[both]
    changed = np.zeros(b.size, bool)
    for name in ("capacity", "speed", "lanes"):
        changed[both] |= ~np.isclose(getattr(base, name)[bi], getattr(scen, name)[si])
    label[changed] = "changed"
    charged = np.zeros(b.size, bool)
    charged[both] = scen.toll[si] > 0
    label[charged] = "charged"
    label[s < 0] = "closed"
    label[b < 0] = "added"
    return label


def _links(base: Solved, scen: Solved) -> gpd.GeoDataFrame:
    """One row per road link of the baseline or the scenario, with before/after values."""
    bv, sv = base.variant, scen.variant
    s_of_b = np.full(bv.network.n_links, -1)
    s_of_b[sv.base_link[sv.base_link >= 0]] = np.flatnonzero(sv.base_link >= 0)
    b_rows = np.flatnonzero(bv.network.link_type != CONNECTOR)
    added = np.flatnonzero((sv.base_link < 0) & (sv.network.link_type != CONNECTOR))
    b = np.r_[b_rows, np.full(added.size, -1)]
    s = np.r_[s_of_b[b_rows], added]
    before, after = _link_values(base, b), _link_values(scen, s)
    frame = {
        "link": b,
        "road_fid": np.r_[bv.road_fid[b_rows], sv.road_fid[added]].astype(np.int64),
        "highway": np.r_[bv.highway[b_rows], sv.highway[added]].astype(str),
        "edit": _edit_labels(bv.network, sv.network, b, s).astype(str),
        "length_m": np.r_[bv.network.length[b_rows], sv.network.length[added]].round(1),
    }
    for key in ("flow", "speed", "voc", "co2", "nox"):
        digits = 4 if key in ("voc", "nox") else 2
        frame[f"{key}_base"] = before[key].round(digits)
        frame[f"{key}_scen"] = after[key].round(digits)
        frame[f"d_{key}"] = (after[key] - before[key]).round(digits)
    geometry = np.r_[bv.geometry[b_rows], sv.geometry[added]]
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=METRIC_CRS).to_crs("EPSG:4326")


def _band(levels: np.ndarray) -> np.ndarray:
    label = np.full(levels.size, "<55", dtype=object)
    for lo, hi, name in BANDS:
        label[(levels >= lo) & (levels < hi)] = name
    return label.astype(str)


def _buildings(base: Solved, scen: Solved) -> gpd.GeoDataFrame:
    """Scenario homes with baseline and scenario Lden (developments have no baseline)."""
    n = len(base.homes)
    lden_base = np.r_[base.lden, np.full(len(scen.homes) - n, -np.inf)]
    res_base = np.r_[base.homes["residents_est"], np.zeros(len(scen.homes) - n)]
    finite = lambda x: np.where(np.isfinite(x), x.round(1), np.nan)  # noqa: E731
    frame = {
        "fid": scen.homes["fid"].to_numpy(dtype=np.int64),
        "residents_base": res_base,
        "residents_scen": scen.homes["residents_est"].to_numpy(dtype=float),
        "lden_base": finite(lden_base),
        "lden_scen": finite(scen.lden),
        "d_lden": finite(scen.lden - lden_base),
        "band_base": _band(lden_base),
        "band_scen": _band(scen.lden),
    }
    return gpd.GeoDataFrame(frame, geometry=scen.homes.geometry.to_numpy(), crs=METRIC_CRS)


def _time_from(solved: Solved) -> tuple[np.ndarray, np.ndarray]:
    demand = solved.variant.demand
    trips = demand.sum(axis=1)
    minutes = (demand * np.where(demand > 0, solved.time_skim, 0.0)).sum(axis=1)
    return trips, np.divide(minutes, trips, out=np.full(trips.size, np.nan), where=trips > 0)
