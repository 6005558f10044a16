"""Walking, cycling and public transport costs on a small street network whose answers are known:
walking at 4.8 km/h, cycling faster on a cycleway than on a footway, transit waiting half the
headway (GTFS headways beat the assumed ones), and no transit where no stop is in reach."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from twin.city.modes import ModeAssumptions, mode_costs
from twin.city.roads import METRIC_CRS

A = ModeAssumptions()


def street(highway: str = "residential") -> gpd.GeoDataFrame:
    """A 2 km straight street along x, in 100 m pieces."""
    lines = [shapely.LineString([(x, 0.0), (x + 100.0, 0.0)]) for x in range(0, 2000, 100)]
    return gpd.GeoDataFrame({"highway": [highway] * len(lines)}, geometry=lines, crs=METRIC_CRS)


ZONES = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]])
INTRA = np.full(3, 100.0)


def stops(**columns) -> gpd.GeoDataFrame:
    kinds = columns.pop("kind", ["tram_stop"] * 3)
    return gpd.GeoDataFrame(
        {"kind": kinds, **columns}, geometry=shapely.points(ZONES), crs=METRIC_CRS
    )


def test_walking_takes_distance_at_walking_speed():
    costs = mode_costs(street(), stops(), ZONES, 3, INTRA, A)
    assert costs.walk[0, 2] == pytest.approx(2000 / 80.0, rel=1e-6)  # 4.8 km/h = 80 m/min
    assert costs.walk_km[0, 1] == pytest.approx(1.0, rel=1e-6)


def test_cycling_is_faster_on_a_cycleway_than_on_a_footway():
    path = mode_costs(street("cycleway"), stops(), ZONES, 3, INTRA, A).bike[0, 2]
    foot = mode_costs(street("footway"), stops(), ZONES, 3, INTRA, A).bike[0, 2]
    assert path == pytest.approx(2.0 / 18.0 * 60 + A.bike_terminal_min, rel=1e-6)
    assert foot > path


def test_transit_waits_half_the_headway_and_gtfs_headways_are_used():
    assumed = mode_costs(street(), stops(), ZONES, 3, INTRA, A).pt[0, 2]
    frequent = mode_costs(street(), stops(headway_min=[2.0] * 3), ZONES, 3, INTRA, A).pt[0, 2]
    # tram_stop: 6 min headway; with 2 min from GTFS the weighted wait falls by 2 x (3 - 1)
    assert assumed - frequent == pytest.approx(A.wait_weight * (6.0 - 2.0) / 2, rel=1e-6)
    ride = 2.0 / 14.0 * 60
    assert assumed == pytest.approx(A.wait_weight * 3.0 + A.boarding_min + ride, rel=1e-6)


def test_no_stop_in_reach_means_no_transit():
    far = stops().set_geometry(shapely.points(ZONES + [0.0, 5000.0]))
    costs = mode_costs(street(), far, ZONES, 3, INTRA, A)
    assert np.isinf(costs.pt).all()
    assert np.isinf(mode_costs(street(), far.iloc[:0], ZONES, 3, INTRA, A).pt).all()


def test_nobody_rides_within_a_zone_and_gateways_do_not_walk():
    costs = mode_costs(street(), stops(), ZONES, 2, INTRA[:2], A)  # the third zone is a gateway
    assert np.isinf(np.diag(costs.pt[:2])).all()
    assert np.isinf(costs.walk[2]).all() and np.isinf(costs.bike[2]).all()
    assert np.isfinite(costs.pt[2]).all()
