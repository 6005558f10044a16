"""Scenario sweeps: parameter paths, variants checked before any cluster starts, and a real
2-worker Dask LocalCluster giving exactly the results of running the variants one by one."""

from __future__ import annotations

import pandas as pd
import pytest

from opendata.errors import SpecError
from opendata.settings import Settings
from tests.conftest import ROOT
from twin.scenarios.spec import load_scenario
from twin.scenarios.sweeps import parse_values, run_serial, run_sweep, set_path, variant_specs

CORDON = ROOT / "datasets" / "scenarios" / "cordon_esplanadi.toml"
VARIANTS = [{"edits[0].amount": v} for v in (0.0, 3.0, 8.0)]


def test_set_path_sets_a_nested_value_in_a_copy():
    data = {"edits": [{"amount": 3.0}], "assignment": {"target_gap": 1e-4}}
    out = set_path(data, "edits[0].amount", 10)
    assert out["edits"][0]["amount"] == 10 and data["edits"][0]["amount"] == 3.0
    assert set_path(data, "assignment.target_gap", 1e-3)["assignment"]["target_gap"] == 1e-3


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("edits[3].amount", "the scenario has no edits[3]"),
        ("impacts.region.x", "the scenario has no impacts"),
        ("edits[0]..amount", "not a parameter path"),
        ("", "not a parameter path"),
    ],
)
def test_set_path_refuses_paths_the_scenario_lacks(path, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        set_path({"edits": [{"amount": 3.0}]}, path, 1)


def test_variants_are_named_and_checked_before_any_cluster_starts():
    base = load_scenario(CORDON).raw
    names = [s["name"] for s in variant_specs(base, VARIANTS)]
    assert names == ["cordon_esplanadi_v00", "cordon_esplanadi_v01", "cordon_esplanadi_v02"]
    with pytest.raises(SpecError, match=r'variant 1 \{"edits\[0\].amount": -5\}: .*>= 0'):
        variant_specs(base, [{"edits[0].amount": 1}, {"edits[0].amount": -5}])


@pytest.mark.parametrize(
    ("text", "values"),
    [("0,10,20", [0, 10, 20]), ("1.5, 3", [1.5, 3]), ('["bfw", "fw"]', ["bfw", "fw"])],
)
def test_parse_values(text, values):
    assert parse_values(text) == values


@pytest.fixture(scope="module")
def serial(bundled: Settings):
    return run_serial(bundled, load_scenario(CORDON), VARIANTS)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Creating scratch directories is taking:UserWarning")
def test_local_cluster_sweep_equals_running_the_variants_serially(bundled, serial):
    """...and solves the baseline once: every variant, on both workers, reports the same solve."""
    sweep = run_sweep(bundled, load_scenario(CORDON), VARIANTS, n_workers=2)
    assert len({s["sweep"]["baseline"] for s in sweep.summaries}) == 1
    assert len({s["sweep"]["pid"] for s in sweep.summaries}) == 2
    assert [s["scenario"]["name"] for s in sweep.summaries] == list(
        serial.table["variant"].unique()
    )
    for dask_run, local_run in zip(sweep.summaries, serial.summaries, strict=True):
        assert dask_run["totals"] == local_run["totals"]
        assert dask_run["od"] == local_run["od"]
    pd.testing.assert_frame_equal(sweep.table, serial.table)


def test_sweep_table_is_tidy_with_one_row_per_variant_and_metric(serial):
    table = serial.table
    assert list(table.columns[:3]) == ["variant", "edits[0].amount", "metric"]
    hours = table[table["metric"] == "vehicle_hours"].set_index("edits[0].amount")
    assert hours.loc[0.0, "change"] == pytest.approx(0.0, abs=1e-3)  # a zero charge: nothing
    assert len(table) == 3 * table["metric"].nunique()


def test_a_higher_charge_means_fewer_car_trips(serial):
    """Elastic demand: the sweep no longer reports the same car trips whatever the charge."""
    cars = serial.table[serial.table["metric"] == "trips_car"].set_index("edits[0].amount")
    assert cars["scen"].is_monotonic_decreasing and cars["scen"].iloc[-1] < cars["scen"].iloc[0]
