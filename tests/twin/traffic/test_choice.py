"""The nested logit of mode and destination: conservation, limits, calibration, its refusals."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.choice import (
    ChoiceModel,
    calibrate_asc,
    choose,
    composite_cost,
    mode_shares,
    probabilities,
)
from twin.traffic.errors import ConfigError, DemandError

RNG = np.random.default_rng(7)
ORIGINS, DESTS, MODES = 6, 5, 3
COSTS = RNG.uniform(2.0, 40.0, (MODES, ORIGINS, DESTS))
ATTRACTIONS = RNG.uniform(1.0, 100.0, DESTS)
PRODUCTIONS = RNG.uniform(10.0, 500.0, ORIGINS)


def model(sensitivity: float = 0.07, theta: float = 0.7) -> ChoiceModel:
    return ChoiceModel(sensitivity, theta, np.zeros((ORIGINS, MODES)))


def test_every_origin_sends_exactly_its_productions():
    trips = choose(model(), PRODUCTIONS, ATTRACTIONS, COSTS)
    np.testing.assert_allclose(trips.sum(axis=(0, 2)), PRODUCTIONS, rtol=1e-12)


def test_zero_sensitivity_sends_trips_by_attraction_whatever_the_costs():
    trips = choose(model(0.0), PRODUCTIONS, ATTRACTIONS, COSTS)
    expected = ATTRACTIONS / ATTRACTIONS.sum()
    for m in range(MODES):
        rows = trips[m] / trips[m].sum(axis=1, keepdims=True)
        np.testing.assert_allclose(rows, np.broadcast_to(expected, rows.shape), rtol=1e-12)
    again = choose(model(0.0), PRODUCTIONS, ATTRACTIONS, COSTS * 3 + 10)
    np.testing.assert_allclose(again, trips, rtol=1e-12)


def test_a_dearer_mode_loses_trips_to_the_others():
    before = choose(model(), PRODUCTIONS, ATTRACTIONS, COSTS)
    dearer = COSTS.copy()
    dearer[0] += 10.0
    after = choose(model(), PRODUCTIONS, ATTRACTIONS, dearer)
    assert after[0].sum() < before[0].sum()
    assert after[1].sum() > before[1].sum() and after[2].sum() > before[2].sum()


def test_a_dearer_destination_loses_trips_within_every_mode():
    dearer = COSTS.copy()
    dearer[:, :, 2] += 15.0
    before = choose(model(), PRODUCTIONS, ATTRACTIONS, COSTS)
    after = choose(model(), PRODUCTIONS, ATTRACTIONS, dearer)
    assert (after[:, :, 2] < before[:, :, 2]).all()


def test_an_unavailable_mode_gets_no_trips():
    costs = COSTS.copy()
    costs[1, 0, :] = np.inf  # mode 1 not available from origin 0
    trips = choose(model(), PRODUCTIONS, ATTRACTIONS, costs)
    assert trips[1, 0].sum() == 0
    assert trips[:, 0].sum() == pytest.approx(PRODUCTIONS[0])


def test_calibrated_constants_reproduce_the_target_shares():
    targets = np.array([[0.2, 0.5, 0.3], [0.6, 0.4, 0.0]])
    group = np.array([0, 0, 0, 0, 1, 1])
    costs = COSTS.copy()
    costs[2, 4:] = np.inf  # the second group cannot use mode 2
    fitted = calibrate_asc(model(), PRODUCTIONS, ATTRACTIONS, costs, targets, group)
    trips = choose(fitted, PRODUCTIONS, ATTRACTIONS, costs)
    for g in (0, 1):
        np.testing.assert_allclose(mode_shares(trips[:, group == g]), targets[g], atol=1e-9)


def test_composite_cost_rises_with_every_cost():
    base = composite_cost(model(), PRODUCTIONS, ATTRACTIONS, COSTS)
    assert composite_cost(model(), PRODUCTIONS, ATTRACTIONS, COSTS + 1.0) > base


def test_composite_cost_equals_the_cost_of_a_single_alternative():
    one = ChoiceModel(0.1, 1.0, np.zeros((1, 1)))
    cost = np.array([[[12.0]]])
    assert composite_cost(one, np.array([5.0]), np.array([1.0]), cost) == pytest.approx(60.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sensitivity": -0.1}, "sensitivity"),
        ({"theta": 0.0}, "theta"),
        ({"theta": 1.5}, "theta"),
    ],
)
def test_bad_parameters_are_refused(kwargs, message):
    args = {"sensitivity": 0.1, "theta": 0.5, **kwargs}
    with pytest.raises(ConfigError, match=message):
        ChoiceModel(args["sensitivity"], args["theta"], np.zeros((1, 1)))


def test_negative_costs_and_shape_mismatches_are_refused():
    with pytest.raises(DemandError, match="must be >= 0"):
        probabilities(model(), ATTRACTIONS, -COSTS)
    with pytest.raises(DemandError, match="do not match"):
        probabilities(model(), ATTRACTIONS[:-1], COSTS)


def test_an_origin_with_no_alternative_is_named():
    costs = COSTS.copy()
    costs[:, 3, :] = np.inf
    with pytest.raises(DemandError, match="origin 3 has no available mode"):
        choose(model(), PRODUCTIONS, ATTRACTIONS, costs)
