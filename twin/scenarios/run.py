"""Run a scenario against its baseline: both solved with identical settings to the same gap, then
link, zone, building and network indicators compared, recorded with provenance and published.

`run_scenario` is a pure function of (settings, spec, baseline): a `Baseline` from
`prepare_baseline` can be reused by many variants, also in Dask workers (everything pickles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from opendata.errors import SpecError
from opendata.ingest.pipeline import code_version
from opendata.settings import Settings
from twin.city.load import City
from twin.city.roads import METRIC_CRS
from twin.city.travel import ChoiceAssumptions, build_travel
from twin.data import vehicle_mix
from twin.impacts.accessibility import WalkGraph, accessibility, walk_graph
from twin.impacts.emissions import link_emissions
from twin.impacts.noise import building_lden
from twin.scenarios.demand import DemandSolution, baseline_demand, scenario_demand
from twin.scenarios.edits import Variant, apply_edits, baseline_variant, load_city
from twin.scenarios.model import ScenarioSpec
from twin.scenarios.publish import compare_results, load_result, publish_result
from twin.scenarios.results import CONNECTOR, PARTS, ScenarioResult, Solved, compare_solved
from twin.scenarios.timeofday import simulate as simulate_morning
from twin.traffic.assignment import AssignmentConfig
from twin.traffic.results import Progress

__all__ = [
    "PARTS",
    "Baseline",
    "ScenarioResult",
    "compare_results",
    "load_result",
    "prepare_baseline",
    "publish_result",
    "run_scenario",
]

ProgressFn = Callable[[str, Progress | None], None]


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


def _demand(city: City, variant: Variant, spec: ScenarioSpec, label: str, progress, base):
    """Trips and car flows of the variant: the baseline's equilibrium (`base` None) or the
    scenario's under its demand assumption, reusing the baseline's mode costs and constants."""
    a = spec.assignment
    config = AssignmentConfig(a.algorithm, a.target_gap, a.max_iterations)
    frames = {"roads": city.roads, "stops": city.stops, "services": city.services}
    modes = base.travel.modes if base is not None else None
    travel = build_travel(
        city.model, frames, variant.residents, variant.jobs, spec.demand, modes=modes
    )
    stage = _stage(progress, f"{label}: demand+assignment")
    if base is None:
        return baseline_demand(variant.network, travel, spec.demand, config, stage)
    return scenario_demand(variant.network, travel, base, spec.demand, config, stage)


def solve(
    city: City,
    walk: WalkGraph,
    variant: Variant,
    spec: ScenarioSpec,
    label: str,
    progress: ProgressFn | None,
    base: DemandSolution | None = None,
) -> Solved:
    """Trips and car equilibrium of the variant, then its emissions, facade noise and
    accessibility."""
    imp, net = spec.impacts, variant.network
    demand = _demand(city, variant, spec, label, progress, base)
    result = demand.result
    _stage(progress, f"{label}: morning peak")
    morning = simulate_morning(net, result.demand, spec.time_of_day)
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
    return Solved(variant, result, skim, speed, emissions, homes, lden, access, demand, morning)


def demand_parameters(c: ChoiceAssumptions) -> dict[str, Any]:
    """The demand assumption and every parameter behind it, for provenance and the summary."""
    return {"assumption": c.describe(), **asdict(c), "mode_shares": dict(c.mode_shares)}


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
    scenario = solve(
        city, baseline.walk, variant, spec, "scenario", progress, baseline.solved.demand
    )
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
        "demand": demand_parameters(spec.demand),
        "time_of_day": {
            "simulated": spec.time_of_day.enabled,
            "profile": list(spec.time_of_day.profile),
            **asdict(spec.time_of_day.config),
        },
    }
    return compare_solved(spec, city, baseline.solved, scenario, provenance)
