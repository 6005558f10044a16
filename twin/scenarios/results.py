"""Scenario results: baseline and scenario compared per link, building, zone and network, as
frames ready to publish (EPSG:4326) and a JSON summary that says which demand assumption produced
the numbers (`twin.scenarios.publish` publishes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from twin.city.load import City
from twin.city.roads import METRIC_CRS
from twin.city.travel import MODES
from twin.impacts.accessibility import Access
from twin.impacts.noise import BANDS, exposure
from twin.scenarios.demand import DemandSolution, demand_totals
from twin.scenarios.edits import Variant
from twin.scenarios.model import ScenarioSpec
from twin.scenarios.timeofday import (
    morning_summary,
    morning_totals,
    periods_frame,
)
from twin.traffic.dynamic import DynamicResult
from twin.traffic.network import Network
from twin.traffic.results import AssignmentResult

CONNECTOR = 9  # link_type of zone connectors in the city model
PARTS = ("links", "buildings", "zones", "totals", "periods")


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
    demand: DemandSolution  # trips by mode and destination behind `result`
    morning: DynamicResult | None  # the simulated morning peak (None: not simulated)


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


def link_rows(base: Solved, scen: Solved) -> dict[str, np.ndarray]:
    """The road links of the baseline and the scenario's added ones: their index in each
    network (`b`, `s`; -1 where absent), published road fid, class and metric geometry."""
    bv, sv = base.variant, scen.variant
    s_of_b = np.full(bv.network.n_links, -1)
    s_of_b[sv.base_link[sv.base_link >= 0]] = np.flatnonzero(sv.base_link >= 0)
    b_rows = np.flatnonzero(bv.network.link_type != CONNECTOR)
    added = np.flatnonzero((sv.base_link < 0) & (sv.network.link_type != CONNECTOR))
    return {
        "b": np.r_[b_rows, np.full(added.size, -1)],
        "s": np.r_[s_of_b[b_rows], added],
        "road_fid": np.r_[bv.road_fid[b_rows], sv.road_fid[added]].astype(np.int64),
        "highway": np.r_[bv.highway[b_rows], sv.highway[added]].astype(str),
        "length_m": np.r_[bv.network.length[b_rows], sv.network.length[added]].round(1),
        "geometry": np.r_[bv.geometry[b_rows], sv.geometry[added]],
    }


def _links(base: Solved, scen: Solved, rows: dict[str, np.ndarray]) -> gpd.GeoDataFrame:
    """One row per road link of the baseline or the scenario, with before/after values."""
    b, s = rows["b"], rows["s"]
    before, after = _link_values(base, b), _link_values(scen, s)
    frame = {
        "link": b,
        "road_fid": rows["road_fid"],
        "highway": rows["highway"],
        "edit": _edit_labels(base.variant.network, scen.variant.network, b, s).astype(str),
        "length_m": rows["length_m"],
    }
    for key in ("flow", "speed", "voc", "co2", "nox"):
        digits = 4 if key in ("voc", "nox") else 2
        frame[f"{key}_base"] = before[key].round(digits)
        frame[f"{key}_scen"] = after[key].round(digits)
        frame[f"d_{key}"] = (after[key] - before[key]).round(digits)
    return gpd.GeoDataFrame(frame, geometry=rows["geometry"], crs=METRIC_CRS).to_crs("EPSG:4326")


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
        "d_lden": np.where(
            np.isfinite(lden_base + scen.lden), finite(scen.lden) - finite(lden_base), np.nan
        ),
        "band_base": _band(lden_base),
        "band_scen": _band(scen.lden),
    }
    return gpd.GeoDataFrame(frame, geometry=scen.homes.geometry.to_numpy(), crs=METRIC_CRS)


def _time_from(solved: Solved) -> tuple[np.ndarray, np.ndarray]:
    demand = solved.result.demand
    trips = demand.sum(axis=1)
    minutes = (demand * np.where(demand > 0, solved.time_skim, 0.0)).sum(axis=1)
    return trips, np.divide(minutes, trips, out=np.full(trips.size, np.nan), where=trips > 0)


def _car_share(solved: Solved) -> np.ndarray:
    """Share (%) of the person trips from each zone made by car."""
    trips = solved.demand.trips.sum(axis=2)  # (modes, origins)
    total = trips.sum(axis=0)
    car = np.divide(
        trips[MODES.index("car")], total, out=np.full(total.size, np.nan), where=total > 0
    )
    return (100 * car).round(2)


def _arriving(solved: Solved, n_zones: int) -> np.ndarray:
    """Person trips arriving in each zone by mode: (modes, zones); gateways receive none."""
    market = solved.demand.travel.market
    out = np.zeros((len(MODES), n_zones))
    out[:, market.dest_zone] = solved.demand.trips.sum(axis=1)
    return out


def _zones(city: City, base: Solved, scen: Solved) -> gpd.GeoDataFrame:
    """Zone indicators before and after, incl. walk and drive minutes to services."""
    zones = city.model.zones
    frame = {"zone": zones["zone"].to_numpy(), "kind": zones["kind"].to_numpy().astype(str)}
    frame["residents_base"] = base.variant.residents.round(1)
    frame["residents_scen"] = scen.variant.residents.round(1)
    (tb, mb), (ts, ms) = _time_from(base), _time_from(scen)
    frame.update(trips_from_base=tb.round(2), trips_from_scen=ts.round(2))
    frame.update(
        time_from_base=mb.round(3), time_from_scen=ms.round(3), d_time_from=(ms - mb).round(3)
    )
    frame.update(car_share_base=_car_share(base), car_share_scen=_car_share(scen))
    for tag, solved in (("base", base), ("scen", scen)):
        arriving = _arriving(solved, len(zones))
        frame[f"trips_to_{tag}"] = arriving.sum(axis=0).round(2)
        frame[f"car_trips_to_{tag}"] = arriving[MODES.index("car")].round(2)
    for column in base.access.zones.columns:
        for tag, solved in (("base", base), ("scen", scen)):
            values = solved.access.zones[column].to_numpy()
            frame[f"{column}_{tag}"] = np.r_[
                values, np.full(len(zones) - values.size, np.nan)
            ].round(2)
    return gpd.GeoDataFrame(frame, geometry=zones.geometry.to_numpy(), crs=zones.crs)


def _network_totals(solved: Solved) -> dict[str, tuple[str, float]]:
    net, r = solved.variant.network, solved.result
    road = net.link_type != CONNECTOR
    vkm = float((r.flow * net.length)[road].sum() / 1000)
    vh = float((r.flow * r.time)[road].sum() / 60)
    delay = float((r.flow * (r.time - net.free_flow_time))[road].sum() / 60)
    return {
        "trips": ("veh/h", float(solved.result.demand.sum())),
        "vehicle_km": ("veh*km/h", vkm),
        "vehicle_hours": ("veh*h/h", vh),
        "mean_speed": ("km/h", vkm / vh if vh > 0 else 0.0),
        "delay_vehicle_hours": ("veh*h/h", delay),
        "co2": ("kg/h", float(solved.emissions["CO2"].sum())),
        "nox": ("kg/h", float(solved.emissions["NOx"].sum())),
        "relative_gap": ("", r.gap),
        "unassigned_trips": ("veh/h", r.unassigned),
    }


def _impact_totals(solved: Solved) -> dict[str, tuple[str, float]]:
    residents = solved.homes["residents_est"].to_numpy(dtype=float)
    bands = exposure(solved.lden, residents)
    out = {f"residents_lden_{k}": ("persons", v) for k, v in bands.items()}
    out["residents_lden_55_plus"] = ("persons", round(sum(bands.values()), 1))
    for mode in ("walk", "drive"):
        for cat, within in getattr(solved.access, mode).items():
            for minutes, count in within.items():
                out[f"{mode}_{cat}_{minutes}min"] = ("persons", count)
    return out


def _totals(spec: ScenarioSpec, base: Solved, scen: Solved) -> pd.DataFrame:
    """One row per metric; the `demand` column says which demand assumption produced it."""
    b = {**_network_totals(base), **_impact_totals(base)}
    s = {**_network_totals(scen), **_impact_totals(scen)}
    pairs = {m: (unit, v, s[m][1]) for m, (unit, v) in b.items()}
    pairs.update(demand_totals(base.demand, scen.demand, spec.demand))
    pairs.update(morning_totals(base.morning, scen.morning))
    rows = []
    for metric, (unit, value, after) in pairs.items():
        pct = (after - value) / abs(value) * 100 if value else np.nan
        rows.append((metric, unit, value, after, after - value, pct, spec.demand.model))
    columns = ["metric", "unit", "base", "scen", "change", "pct_change", "demand"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.round({"base": 6, "scen": 6, "change": 6, "pct_change": 3})


def _od(base: Solved, scen: Solved) -> dict[str, float]:
    """Zone-to-zone congested time changes over the pairs with demand in the scenario."""
    pairs = (scen.result.demand > 0) & np.isfinite(base.time_skim)
    change = (scen.time_skim - base.time_skim)[pairs]
    weights = scen.result.demand[pairs]
    return {
        "pairs": int(pairs.sum()),
        "mean_change_min": round(float(np.average(change, weights=weights)), 4),
        "max_increase_min": round(float(change.max(initial=0.0)), 3),
        "max_decrease_min": round(float(-change.min(initial=0.0)), 3),
        "pairs_slower_1min": int((change > 1.0).sum()),
        "pairs_faster_1min": int((change < -1.0).sum()),
    }


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """Everything a run produced: frames to publish (EPSG:4326), summary and provenance."""

    spec: ScenarioSpec
    provenance: dict[str, Any]
    links: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    totals: pd.DataFrame
    convergence: dict[str, Any]
    od: dict[str, float]
    edits: tuple[dict, ...]
    bbox: tuple[float, float, float, float]
    periods: gpd.GeoDataFrame | None = None  #: per link and 15 minutes (None: not simulated)
    morning: dict[str, Any] | None = None  #: the morning through time (`morning_summary`)

    def total(self, metric: str, column: str = "scen") -> float:
        """One value of the totals table, e.g. `total("vehicle_hours", "change")`."""
        return float(self.totals.set_index("metric").loc[metric, column])

    def demand_summary(self) -> dict[str, Any]:
        """The demand assumption behind every number, and person trips by mode before/after."""
        c = self.spec.demand
        rows = self.totals.set_index("metric")
        modes = {}
        for mode in MODES:
            r = rows.loc[f"trips_{mode}"]
            modes[mode] = {k: float(r[k]) for k in ("base", "scen", "change")}
            modes[mode]["pct_change"] = None if pd.isna(r["pct_change"]) else float(r["pct_change"])
        return {
            "model": c.model,
            "assumption": c.describe(),
            "unit": "persons/h",
            "modes": modes,
            "parameters": self.provenance.get("demand", {}),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for the API and the website."""
        totals = self.totals.set_index("metric")
        clean = lambda v: None if pd.isna(v) else float(v)  # noqa: E731
        return {
            "scenario": {
                "name": self.spec.name,
                "title": self.spec.title,
                "description": self.spec.description,
            },
            "provenance": self.provenance,
            "convergence": self.convergence,
            "edits": list(self.edits),
            "totals": {
                m: {
                    "unit": r.unit,
                    **{k: clean(r[k]) for k in ("base", "scen", "change", "pct_change")},
                }
                for m, r in totals.iterrows()
            },
            "demand": self.demand_summary(),
            "time_of_day": self.morning or {"simulated": False},
            "od": self.od,
            "links": self.links["edit"].value_counts().drop("", errors="ignore").to_dict(),
            "bbox": list(self.bbox),
            "datasets": {
                part: f"scenario_{self.spec.name}_{part}"
                for part in PARTS
                if part != "periods" or self.periods is not None
            },
        }


def _convergence(spec: ScenarioSpec, base: Solved, scen: Solved) -> dict[str, Any]:
    state = lambda r: {"gap": r.gap, "iterations": r.iterations, "converged": r.converged}  # noqa: E731
    return {
        "target_gap": spec.assignment.target_gap,
        "baseline": state(base.result),
        "scenario": state(scen.result),
        "demand": {
            "model": spec.demand.model,
            "measure": "TAG unit M2 %GAP as a fraction: sum C|D(C) - T| / sum C T",
            "target_gap": spec.demand.target_gap,
            "baseline": state(base.demand),
            "scenario": state(scen.demand),
        },
        "noise_pct": round(100 * noise_fraction(base, scen), 4),
        "note": (
            "changes smaller than noise_pct percent of a total (the larger of the assignment "
            "and demand gaps) are convergence noise, not effects"
        ),
    }


def noise_fraction(base: Solved, scen: Solved) -> float:
    """Relative size below which a change means nothing: the largest final gap of either run."""
    return max(base.result.gap, scen.result.gap, base.demand.gap, scen.demand.gap)


def compare_solved(spec, city, base: Solved, scen: Solved, provenance) -> ScenarioResult:
    """Build the comparison frames and summary of a solved baseline and scenario."""
    zones = _zones(city, base, scen)
    bounds = city.roads.to_crs("EPSG:4326").total_bounds
    rows = link_rows(base, scen)
    periods = None
    if base.morning is not None and scen.morning is not None:
        nets = (base.variant.network, scen.variant.network)
        periods = periods_frame(base.morning, scen.morning, rows, nets)
    return ScenarioResult(
        spec=spec,
        provenance=provenance,
        links=_links(base, scen, rows),
        buildings=_buildings(base, scen).to_crs("EPSG:4326"),
        zones=zones,
        totals=_totals(spec, base, scen),
        convergence=_convergence(spec, base, scen),
        od=_od(base, scen),
        edits=scen.variant.notes,
        bbox=tuple(round(float(v), 6) for v in bounds),
        periods=periods,
        morning=morning_summary(base.morning, scen.morning),
    )
