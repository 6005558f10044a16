"""OD matrices: files, the doubly-constrained gravity model, calibration and grid zones."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.demand import (
    furness,
    gravity,
    grid_zones,
    mean_cost,
    peak_hour,
    read_trips_csv,
    write_trips_csv,
)
from twin.traffic.errors import ConfigError, DemandError, NetworkFormatError

PROD = np.array([100.0, 200.0, 300.0, 50.0])
ATTR = np.array([150.0, 150.0, 250.0, 100.0])
COST = np.array(
    [[1.0, 4.0, 6.0, 9.0], [4.0, 1.0, 3.0, 7.0], [6.0, 3.0, 1.0, 5.0], [9.0, 7.0, 5.0, 2.0]]
)
DETERRENCES = ["exponential", "power", "gamma"]


@pytest.mark.parametrize("deterrence", DETERRENCES)
def test_gravity_conserves_productions_and_attractions(deterrence):
    result = gravity(PROD, ATTR, COST, deterrence=deterrence, beta=0.3)
    np.testing.assert_allclose(result.matrix.sum(axis=1), PROD, rtol=1e-8)
    np.testing.assert_allclose(result.matrix.sum(axis=0), ATTR, rtol=1e-8)


def test_attractions_are_scaled_to_the_production_total():
    result = gravity(PROD, 2.0 * ATTR, COST, beta=0.3)
    assert result.matrix.sum() == pytest.approx(PROD.sum(), rel=1e-10)
    np.testing.assert_allclose(result.matrix.sum(axis=0), ATTR, rtol=1e-8)


@pytest.mark.parametrize("deterrence", DETERRENCES)
@pytest.mark.parametrize("target", [1.9, 2.6])
def test_calibration_hits_the_target_mean_cost(deterrence, target):
    result = gravity(PROD, ATTR, COST, deterrence=deterrence, target_mean=target)
    assert result.mean_cost == pytest.approx(target, rel=1e-6)
    assert result.beta > 0


def test_higher_beta_shortens_trips():
    short = gravity(PROD, ATTR, COST, beta=1.0).mean_cost
    long = gravity(PROD, ATTR, COST, beta=0.1).mean_cost
    assert short < long


def test_unreachable_target_mean_is_a_clear_error():
    with pytest.raises(DemandError, match="not below the beta=0 mean"):
        gravity(PROD, ATTR, COST, target_mean=50.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"beta": 0.1, "target_mean": 3.0}, ConfigError, "exactly one"),
        ({}, ConfigError, "exactly one"),
        ({"beta": 0.1, "deterrence": "logit"}, ConfigError, "'deterrence'"),
        ({"beta": 0.1, "cost_matrix": COST[:2]}, DemandError, "cost matrix is"),
        ({"beta": 0.1, "productions": -PROD}, DemandError, ">= 0"),
    ],
)
def test_bad_gravity_inputs_are_rejected(kwargs, error, message):
    args = {"productions": PROD, "attractions": ATTR, "cost_matrix": COST, **kwargs}
    with pytest.raises(error, match=message):
        gravity(**args)


def test_furness_balances_a_seed_matrix():
    matrix, iterations = furness(np.ones((2, 2)), np.array([3.0, 1.0]), np.array([2.0, 2.0]))
    np.testing.assert_allclose(matrix, [[1.5, 1.5], [0.5, 0.5]])
    assert iterations == 1


def test_mean_cost_is_trip_weighted():
    assert mean_cost(np.array([[1.0, 3.0]]), np.array([[2.0, 6.0]])) == 5.0


def test_peak_hour_share_scales_totals():
    assert peak_hour(np.full((2, 2), 10.0), 0.1).sum() == pytest.approx(4.0)
    with pytest.raises(ConfigError, match="'share'"):
        peak_hour(np.ones((2, 2)), 1.5)


def test_grid_zones_groups_points_by_cell():
    points = np.array([[0.1, 0.1], [0.9, 0.2], [1.5, 0.5], [0.2, 2.7]])
    zone, centres = grid_zones(points, 1.0)
    assert zone.tolist() == [0, 0, 1, 2]
    np.testing.assert_allclose(centres, [[0.6, 0.6], [1.6, 0.6], [0.6, 2.6]])


def test_trips_csv_round_trip(tmp_path):
    zones = np.array([11, 12, 13])
    matrix = np.array([[0.0, 5.0, 0.0], [1.5, 0.0, 2.0], [0.0, 0.0, 0.0]])
    write_trips_csv(matrix, zones, tmp_path / "od.csv")
    np.testing.assert_array_equal(read_trips_csv(tmp_path / "od.csv", zones), matrix)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("origin,destination\n1,2\n", 1, "missing column(s): trips"),
        ("origin,destination,trips\n1,2,3\n1,2,x\n", 3, "non-negative number"),
        ("origin,destination,trips\n1,9,3\n", 2, "unknown zone"),
    ],
)
def test_malformed_trips_csv_names_the_line(tmp_path, text, line, message):
    (tmp_path / "od.csv").write_text(text)
    with pytest.raises(NetworkFormatError) as err:
        read_trips_csv(tmp_path / "od.csv", np.array([1, 2]))
    assert err.value.line == line
    assert message in str(err.value)
