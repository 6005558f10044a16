"""Elastic demand on the bundled city: the invariants a transport modeller checks first.

- with zero cost sensitivity the elastic result equals the fixed-demand one within the gap;
- person trips per origin are conserved;
- a cordon charge lowers car trips into the cordon and raises the other modes;
- a closure never lowers the users' total generalised cost;
- every summary and published total says which demand assumption produced it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from opendata.settings import Settings
from twin.city.travel import MODES
from twin.scenarios.run import prepare_baseline, run_scenario

from .conftest import bundled_spec


def _noise(result) -> float:
    return result.convergence["noise_pct"] / 100


@pytest.fixture(scope="module")
def rigid(bundled: Settings):
    """The closure with zero cost sensitivity, elastic and fixed, against one rigid baseline."""
    elastic = bundled_spec("close_mannerheimintie", sensitivity=0.0)
    fixed = bundled_spec("close_mannerheimintie", sensitivity=0.0, model="fixed")
    base = prepare_baseline(bundled, elastic)
    return run_scenario(bundled, elastic, baseline=base), run_scenario(
        bundled, fixed, baseline=base
    )


@pytest.mark.parametrize("metric", ["vehicle_hours", "vehicle_km", "trips", "trips_car", "co2"])
def test_zero_sensitivity_elastic_equals_fixed_within_the_gap(rigid, metric):
    elastic, fixed = rigid
    tolerance = 2 * max(_noise(elastic), _noise(fixed)) * abs(fixed.total(metric)) + 1e-6
    assert elastic.total(metric) == pytest.approx(fixed.total(metric), abs=tolerance)
    assert elastic.to_dict()["demand"]["model"] == "elastic"


def test_zero_sensitivity_moves_no_trip(rigid):
    elastic, _ = rigid
    for mode in MODES:
        assert elastic.total(f"trips_{mode}", "change") == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("name", ["close_mannerheimintie", "cordon_esplanadi"])
def test_person_trips_per_origin_are_conserved(results, name):
    zones = results[name].zones
    # every zone's residents make the same trips; only their mode and destination change
    before = results[name].total("person_trips", "base")
    assert results[name].total("person_trips") == pytest.approx(before, rel=1e-9)
    grid = zones[zones["kind"] == "grid"]
    assert (grid["residents_scen"] == grid["residents_base"]).all()


def test_trips_per_origin_sum_to_productions(baseline):
    demand = baseline.solved.demand
    np.testing.assert_allclose(
        demand.trips.sum(axis=(0, 2)), demand.travel.market.productions, rtol=1e-9
    )


def _inside_cordon(zones: gpd.GeoDataFrame, spec) -> np.ndarray:
    polygon = spec.edits[0].polygon
    return shapely.contains(polygon, zones.geometry.to_numpy()) & (zones["kind"] == "grid")


def test_cordon_lowers_car_trips_into_the_cordon(results):
    result = results["cordon_esplanadi"]
    inside = _inside_cordon(result.zones, bundled_spec("cordon_esplanadi"))
    assert inside.sum() >= 2
    zones = result.zones[inside]
    assert zones["car_trips_to_scen"].sum() < 0.9 * zones["car_trips_to_base"].sum()


def test_cordon_raises_every_other_mode(results):
    result = results["cordon_esplanadi"]
    assert result.total("trips_car", "change") < 0
    for mode in ("pt", "bike", "walk"):
        assert result.total(f"trips_{mode}", "change") > 0


def test_cordon_with_fixed_demand_only_reroutes(fixed_results):
    result = fixed_results["cordon_esplanadi"]
    for mode in MODES:
        assert result.total(f"trips_{mode}", "change") == pytest.approx(0, abs=1e-6)
    assert result.total("trips", "change") == pytest.approx(0, abs=1e-6)
    assert result.totals["demand"].eq("fixed").all()


def test_elastic_cordon_cuts_vehicle_km_that_fixed_demand_cannot(results, fixed_results):
    assert results["cordon_esplanadi"].total("vehicle_km", "change") < 0
    assert results["cordon_esplanadi"].total("vehicle_km") < fixed_results[
        "cordon_esplanadi"
    ].total("vehicle_km")


@pytest.mark.parametrize("which", ["elastic", "fixed"])
def test_closure_never_lowers_total_generalised_cost(results, fixed_results, which):
    result = (results if which == "elastic" else fixed_results)["close_mannerheimintie"]
    base = result.total("user_cost", "base")
    assert result.total("user_cost", "change") >= -_noise(result) * base
    assert result.total("user_cost", "change") > 0


def test_summary_carries_modes_and_the_demand_assumption(results):
    summary = results["cordon_esplanadi"].to_dict()
    demand = summary["demand"]
    assert demand["model"] == "elastic" and "nested logit" in demand["assumption"]
    assert set(demand["modes"]) == set(MODES)
    car = demand["modes"]["car"]
    assert car["scen"] < car["base"] and car["change"] == pytest.approx(car["scen"] - car["base"])
    assert summary["convergence"]["demand"]["scenario"]["gap"] <= 1e-4
    assert summary["convergence"]["demand"]["scenario"]["converged"]


def test_every_total_names_its_demand_assumption(results):
    totals = results["close_mannerheimintie"].totals
    assert totals["demand"].eq("elastic").all()
    assert {"trips_car", "trips_pt", "trips_bike", "trips_walk", "user_cost"} <= set(
        totals["metric"]
    )


def test_baseline_matches_the_target_mode_shares(results):
    result = results["close_mannerheimintie"]
    share = result.total("car_share", "base")
    assert share == pytest.approx(
        100 * dict(bundled_spec("cordon_esplanadi").demand.mode_shares)["car"], abs=0.01
    )
