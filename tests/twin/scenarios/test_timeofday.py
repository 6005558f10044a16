"""The morning peak through time in scenario results: the periods table, the summary, the spec
table that controls it, and its refusals."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from opendata.errors import SpecError
from twin.scenarios.spec import parse_scenario
from twin.scenarios.timeofday import default_profile, parse_time_of_day

from .conftest import bundled_spec


def test_periods_cover_every_road_link_in_every_15_minutes(results):
    result = results["close_mannerheimintie"]
    periods = result.periods
    assert periods is not None and len(periods) == 16 * len(result.links)
    assert sorted(periods["start"].unique())[:2] == ["06:00", "06:15"]
    assert periods["start"].max() == "09:45"
    assert periods.crs.to_epsg() == 4326


def test_closed_links_carry_nothing_all_morning(results):
    result = results["close_mannerheimintie"]
    closed = set(result.links.loc[result.links["edit"] == "closed", "link"])
    rows = result.periods[result.periods["link"].isin(closed)]
    assert len(rows) == 16 * len(closed) > 0
    assert (rows["flow_scen"] == 0).all() and rows["flow_base"].sum() > 0


def test_hourly_flows_of_the_peak_follow_the_static_assignment(results):
    result = results["centre_30kmh"]
    peak = result.periods[result.periods["start"].isin(["07:30", "07:45", "08:00", "08:15"])]
    hourly = peak.groupby("link")["flow_base"].mean()
    static = result.links.set_index("link")["flow_base"].reindex(hourly.index)
    busy = static > 200
    ratio = (hourly[busy] / static[busy]).median()
    assert 0.6 < ratio < 1.2  # same OD; the simulation holds back what queues


def test_summary_has_delay_through_the_morning_before_and_after(results):
    morning = results["cordon_esplanadi"].to_dict()["time_of_day"]
    assert morning["simulated"] and len(morning["periods"]) == 16
    for key in ("delay_hours", "vehicle_hours", "entry_wait_hours"):
        assert len(morning[key]["base"]) == len(morning[key]["scen"]) == 16
    assert sum(morning["vehicle_hours"]["base"]) > 0
    assert morning["vehicles"]["scen"] < morning["vehicles"]["base"]  # fewer car trips


def test_morning_totals_are_in_the_totals_table(results):
    metrics = set(results["cordon_esplanadi"].totals["metric"])
    assert {"morning_vehicle_hours", "morning_delay_hours", "morning_teleported"} <= metrics


def test_the_default_profile_peaks_at_the_static_peak_hour():
    profile = np.array(default_profile())
    assert profile.size == 16
    assert profile[6:10].mean() == pytest.approx(1.0, abs=1e-9)  # 07:30-08:30
    assert profile.argmax() in (7, 8)


def test_a_scenario_can_switch_the_simulation_off():
    data = copy.deepcopy(bundled_spec("centre_30kmh").raw)
    data["time_of_day"] = {"enabled": False}
    assert parse_scenario(data).time_of_day.enabled is False


BAD = {
    "not a table": ([1, 2], "time_of_day: expected a table"),
    "unknown key": ({"periods": 4}, "time_of_day.periods: unknown key"),
    "negative rate": ({"profile": [1.0, -0.5]}, "rates must be >= 0"),
    "all zero": ({"profile": [0, 0]}, "not all 0"),
    "bad seed": ({"seed": -1}, "time_of_day.seed"),
    "zero step": ({"dt_s": 0}, "dt_s"),
    "not a bool": ({"enabled": "yes"}, "time_of_day.enabled"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_time_of_day_tables_are_refused(case):
    data, message = BAD[case]
    with pytest.raises(SpecError, match=message):
        parse_time_of_day(data)
