"""Elastic demand solved with the assignment on Sioux Falls: a two-mode market (car on the
network, a fixed-cost public transport alternative) must converge, conserve trips, reduce to
fixed demand with zero sensitivity, and respond in the right direction to a toll."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from twin.traffic.assignment import AssignmentConfig, assign
from twin.traffic.choice import ChoiceModel, calibrate_asc, choose
from twin.traffic.elastic import FeedbackConfig, Market, demand_gap, equilibrate
from twin.traffic.errors import ConfigError
from twin.traffic.paths import skim

from .conftest import net_balance

CONFIG = AssignmentConfig("bfw", target_gap=1e-5)
FEEDBACK = FeedbackConfig(target_gap=1e-4)


@pytest.fixture(scope="module")
def sioux(cases):
    """Sioux Falls with its trips as productions (x1.5) and a transit mode at 1.5x free flow."""
    case = cases["SiouxFalls"]
    net, z = case.network, case.network.zones
    free = skim(net, net.free_flow_time, {"t": net.free_flow_time})["t"]
    fixed = np.stack([np.full((z, z), 2.0), 1.5 * free + 10.0])
    market = Market(
        productions=case.demand.sum(axis=1) * 1.5,
        attractions=case.demand.sum(axis=0),
        fixed_cost=fixed,
        origin_zone=np.arange(z),
        dest_zone=np.arange(z),
        car=0,
        occupancy=1.0,
        fixed_vehicles=np.zeros((z, z)),
    )
    start = ChoiceModel(0.05, 0.7, np.zeros((z, 2)))
    targets, group = np.array([[0.6, 0.4]]), np.zeros(z, np.int64)
    choice = calibrate_asc(
        start, market.productions, market.attractions, market.costs(free), targets, group
    )
    return net, market, choice


@pytest.fixture(scope="module")
def solved(sioux):
    net, market, choice = sioux
    return equilibrate(net, choice, market, CONFIG, FEEDBACK)


def test_converges_to_both_targets(solved):
    assert solved.converged and solved.gap <= 1e-4
    assert solved.assignment.gap <= 1e-5
    assert solved.iterations < 30


def test_the_trips_are_what_the_model_wants_at_their_costs(sioux, solved):
    net, market, choice = sioux
    costs = market.costs(solved.assignment.skim()["cost"])
    wanted = choose(choice, market.productions, market.attractions, costs)
    assert demand_gap(costs, wanted, solved.trips) <= 1e-4


def test_trips_per_origin_are_conserved(sioux, solved):
    _, market, _ = sioux
    np.testing.assert_allclose(solved.trips.sum(axis=(0, 2)), market.productions, rtol=1e-9)


def test_car_flows_load_exactly_the_car_trips(sioux, solved):
    net, market, _ = sioux
    vehicles = market.vehicles(solved.trips)
    np.testing.assert_allclose(solved.assignment.demand, vehicles)
    balance = net_balance(net, solved.assignment.flow)[: net.zones]  # in - out at each zone
    np.testing.assert_allclose(balance, vehicles.sum(axis=0) - vehicles.sum(axis=1), atol=1e-6)


def test_zero_sensitivity_equals_fixed_demand_within_the_gap(sioux):
    net, market, choice = sioux
    rigid = dataclasses.replace(choice, sensitivity=0.0)
    elastic = equilibrate(net, rigid, market, CONFIG, FEEDBACK)
    fixed_trips = choose(rigid, market.productions, market.attractions, market.fixed_cost)
    fixed = assign(net, market.vehicles(fixed_trips), CONFIG)
    np.testing.assert_allclose(elastic.trips, fixed_trips, rtol=1e-12)
    tstt = fixed.tstt
    assert abs(elastic.assignment.tstt - tstt) <= 2 * CONFIG.target_gap * tstt
    assert elastic.iterations == 1


def test_a_toll_moves_trips_from_car_to_transit(sioux, solved):
    net, market, choice = sioux
    tolled = dataclasses.replace(net, toll=np.full(net.n_links, 1.0), toll_factor=1.0)
    after = equilibrate(tolled, choice, market, CONFIG, FEEDBACK, start=solved.trips)
    assert after.converged
    assert after.trips[0].sum() < 0.99 * solved.trips[0].sum()
    assert after.trips[1].sum() > solved.trips[1].sum()
    assert after.assignment.tstt < solved.assignment.tstt


def test_feedback_settings_are_checked():
    with pytest.raises(ConfigError, match="target_gap"):
        FeedbackConfig(target_gap=0.0)
    with pytest.raises(ConfigError, match="max_iterations"):
        FeedbackConfig(max_iterations=0)
