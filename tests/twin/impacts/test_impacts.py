"""Impact models on small known inputs: emission factors within published ranges, noise physics
(distance, flow doubling, speed), walk accessibility on a tiny path network, factor tables cited."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from twin.data import load_table, persons_per_dwelling, value_of_time, vehicle_mix
from twin.impacts.accessibility import WALK_M_PER_MIN, walk_graph, walk_minutes
from twin.impacts.emissions import emission_factor, link_emissions
from twin.impacts.noise import building_lden, exposure

ROAD = np.array([shapely.LineString([(-500, 0), (500, 0)])], dtype=object)


@pytest.mark.parametrize(
    ("pollutant", "heavy", "low", "high"),
    [
        ("CO2", 0.0, 120.0, 250.0),  # average passenger car at 50 km/h, g/km
        ("NOx", 0.0, 0.05, 1.0),
        ("CO2", 1.0, 500.0, 1200.0),  # rigid truck / bus
        ("NOx", 1.0, 1.0, 8.0),
    ],
)
def test_emission_factor_at_50_kmh_is_within_published_ranges(pollutant, heavy, low, high):
    value = float(emission_factor(np.array([50.0]), pollutant, heavy)[0])
    assert low <= value <= high


def test_car_co2_factor_is_highest_in_stop_and_go_and_lowest_near_70_kmh():
    speeds = np.array([10.0, 30.0, 70.0, 130.0])
    co2 = emission_factor(speeds, "CO2")
    assert co2[0] > co2[1] > co2[2] and co2[3] > co2[2]


def test_link_emissions_scale_with_flow_and_length():
    one = link_emissions(np.array([100.0]), np.array([1000.0]), np.array([50.0]), 0.0)["CO2"]
    two = link_emissions(np.array([200.0]), np.array([2000.0]), np.array([50.0]), 0.0)["CO2"]
    per_vkm = float(emission_factor(np.array([50.0]), "CO2")[0]) / 1000  # kg/km
    assert one[0] == pytest.approx(100 * per_vkm)
    assert two[0] == pytest.approx(4 * one[0])


def _lden(flow: float, speed: float, distances: list[float]) -> np.ndarray:
    houses = np.array([shapely.box(-10, d, 10, d + 10) for d in distances], dtype=object)
    mix = (np.array([0.03]), np.array([0.01]))
    return building_lden(
        houses, ROAD, np.array([flow]), np.array([speed]), mix, peak_hour_share=0.1
    )


def test_lden_decreases_with_distance_from_the_road():
    levels = _lden(800.0, 50.0, [5.0, 20.0, 50.0, 100.0, 250.0])
    assert np.all(np.diff(levels) < 0)
    assert 60.0 < levels[0] < 80.0  # a busy urban street at a close facade


def test_doubling_the_flow_adds_three_decibels():
    base, double = _lden(500.0, 50.0, [15.0]), _lden(1000.0, 50.0, [15.0])
    assert double[0] - base[0] == pytest.approx(10 * np.log10(2), abs=0.01)


def test_lower_speed_gives_lower_lden_at_the_same_flow():
    assert _lden(600.0, 30.0, [15.0])[0] < _lden(600.0, 50.0, [15.0])[0] - 1.0


def test_buildings_beyond_the_radius_get_no_level():
    assert np.isneginf(_lden(600.0, 50.0, [400.0])[0])


def test_exposure_counts_residents_per_five_decibel_band():
    levels = np.array([50.0, 55.0, 59.9, 64.0, 72.0, 80.0, -np.inf])
    residents = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    assert exposure(levels, residents) == {
        "55-59": 5.0,
        "60-64": 4.0,
        "65-69": 0.0,
        "70-74": 5.0,
        ">=75": 6.0,
    }


def test_walk_minutes_follow_the_path_network_not_the_crow_line():
    # an L-shaped path: 400 m east then 400 m north; the target is 566 m away as the crow flies
    paths = gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([(0, 0), (400, 0)]),
            shapely.LineString([(400, 0), (400, 400)]),
        ],
        crs="EPSG:3067",
    )
    minutes = walk_minutes(walk_graph(paths), np.array([[0.0, 0.0]]), np.array([[400.0, 400.0]]))
    assert minutes[0] == pytest.approx(800 / WALK_M_PER_MIN, rel=1e-4)
    assert WALK_M_PER_MIN == pytest.approx(80.0)


def test_walk_minutes_take_the_nearest_of_several_targets():
    paths = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1000, 0)])], crs="EPSG:3067")
    targets = np.array([[1000.0, 0.0], [240.0, 0.0]])
    minutes = walk_minutes(walk_graph(paths), np.array([[0.0, 0.0]]), targets)
    # a target off the vertices walks its snap distance to the nearest vertex, here (0, 0)
    assert minutes[0] == pytest.approx(240 / WALK_M_PER_MIN, rel=1e-3)


@pytest.mark.parametrize(
    "table",
    [
        "emission_factors",
        "cnossos_road",
        "octave_bands",
        "noise_periods",
        "vehicle_mix",
        "dwelling_occupancy",
        "value_of_time",
    ],
)
def test_every_factor_table_cites_its_source_on_every_row(table: str):
    frame = load_table(table)
    assert len(frame) > 0
    assert frame["source"].str.len().min() > 10


def test_noise_period_shares_sum_to_one_day():
    periods = load_table("noise_periods")
    assert periods["share_of_daily"].sum() == pytest.approx(1.0)
    assert periods["hours"].sum() == 24


def test_factor_lookups_fall_back_to_defaults():
    assert persons_per_dwelling("helsinki") == pytest.approx(1.8)
    assert persons_per_dwelling("atlantis") == pytest.approx(2.0)
    assert value_of_time("SEK") > value_of_time("EUR")
    medium, heavy = vehicle_mix(["primary_link", "footway", ""])
    assert medium.tolist() == [0.05, 0.03, 0.03] and heavy.tolist() == [0.03, 0.01, 0.01]
