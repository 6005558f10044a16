"""Equilibrium assignment against the published best-known solutions, and its invariants."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.assignment import AssignmentConfig, assign, relative_gap
from twin.traffic.errors import ConfigError, DemandError
from twin.traffic.vdf import VDFS, beckmann

from .conftest import net_balance, published_flow

CASES = ["SiouxFalls", "Anaheim"]
ALGORITHMS = ["fw", "cfw", "bfw"]


@pytest.fixture(scope="module")
def solved(cases):
    """BFW at a relative gap of 1e-6 (which is <= 1e-5) for every case."""
    config = AssignmentConfig("bfw", target_gap=1e-6, max_iterations=2000)
    return {name: assign(case.network, case.demand, config) for name, case in cases.items()}


@pytest.mark.parametrize("name", CASES)
def test_published_solution_has_a_gap_near_zero(cases, name):
    case = cases[name]
    gap = relative_gap(case.network, case.demand, published_flow(case))
    assert abs(gap) < 1e-12


@pytest.mark.parametrize("name", CASES)
def test_published_costs_match_our_generalised_cost(cases, name):
    case = cases[name]
    flow = published_flow(case)
    cost = VDFS["bpr"].time(flow, case.network) + case.network.fixed_cost()
    index = case.network.link_index(case.best_flows.from_id, case.best_flows.to_id)
    np.testing.assert_allclose(cost[index], case.best_flows.cost, rtol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_assignment_reaches_target_gap(solved, name):
    assert solved[name].converged
    assert solved[name].gap <= 1e-6


@pytest.mark.parametrize("name", CASES)
def test_flows_match_published_within_half_percent(cases, solved, name):
    # only links whose cost depends on flow have unique equilibrium flows; the others are
    # covered by the gap and objective tests
    net = cases[name].network
    congestible = (net.b > 0) & (net.power > 0) & (net.capacity < 1e9)
    assert congestible.all()  # true for both published cases
    best = published_flow(cases[name])[congestible]
    flow = solved[name].flow[congestible]
    assert np.abs(flow - best).sum() / best.sum() < 0.005


@pytest.mark.parametrize("name", CASES)
def test_objective_matches_published(cases, solved, name):
    best = beckmann(published_flow(cases[name]), cases[name].network)
    assert solved[name].objective == pytest.approx(best, rel=1e-5)


def test_sioux_falls_objective_matches_readme_value(solved):
    # the README quotes the optimal objective in units of 1e5
    assert solved["SiouxFalls"].objective / 1e5 == pytest.approx(42.31335287107440, rel=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_total_system_travel_time_within_a_hundredth_percent(cases, solved, name):
    case = cases[name]
    best = published_flow(case)
    tstt = VDFS["bpr"].time(best, case.network) @ best
    assert solved[name].tstt == pytest.approx(tstt, rel=1e-4)


@pytest.mark.parametrize("name", CASES)
def test_flow_is_conserved_at_every_node(cases, solved, name):
    case = cases[name]
    expected = np.zeros(case.network.n_nodes)
    zones = case.network.zones
    # zones absorb what they attract and emit what they produce (intrazonal trips cancel)
    expected[:zones] = case.demand.sum(axis=0) - case.demand.sum(axis=1)
    np.testing.assert_allclose(net_balance(case.network, solved[name].flow), expected, atol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_evaluator_agrees_with_reported_gap(cases, solved, name):
    case = cases[name]
    gap = relative_gap(case.network, case.demand, solved[name].flow)
    assert gap == pytest.approx(solved[name].gap, rel=1e-9)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("name", CASES)
def test_gap_history_decreases(cases, name, algorithm):
    case = cases[name]
    result = assign(case.network, case.demand, AssignmentConfig(algorithm, 1e-4, 3000))
    gaps = result.gaps
    assert result.converged
    # not monotone step by step, but each tenth of the run ends lower than the first
    tenths = np.array_split(gaps, min(10, gaps.size))
    assert all(part.min() < gaps[0] for part in tenths[1:])
    assert gaps[-1] < 1e-2 * gaps[0]


@pytest.mark.parametrize(("name", "gap"), [("SiouxFalls", 1e-4), ("Anaheim", 1e-5)])
def test_bfw_needs_fewer_iterations_than_fw(cases, name, gap):
    case = cases[name]
    runs = {
        a: assign(case.network, case.demand, AssignmentConfig(a, gap, 20000)).iterations
        for a in ("fw", "bfw")
    }
    assert runs["bfw"] < runs["fw"]


def test_callback_sees_every_iteration(cases):
    case = cases["SiouxFalls"]
    seen = []
    result = assign(case.network, case.demand, AssignmentConfig("cfw", 1e-3), seen.append)
    assert [p.iteration for p in seen] == list(range(1, result.iterations + 1))
    assert [p.gap for p in seen] == result.gaps.tolist()


def test_iteration_cap_stops_unconverged(cases):
    case = cases["SiouxFalls"]
    result = assign(case.network, case.demand, AssignmentConfig("fw", 1e-8, max_iterations=5))
    assert (result.iterations, result.converged) == (5, False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("algorithm", "msa-ish"),
        ("target_gap", -1.0),
        ("target_gap", 2.0),
        ("max_iterations", 0),
        ("max_iterations", 2.5),
        ("vdf", "conic"),
        ("threads", 0),
    ],
)
def test_config_rejects_bad_field(field, value):
    with pytest.raises(ConfigError) as err:
        AssignmentConfig(**{field: value})
    assert err.value.field == field
    assert isinstance(err.value, ValueError)
    assert field in str(err.value)


def test_demand_of_wrong_shape_is_rejected(cases):
    case = cases["SiouxFalls"]
    with pytest.raises(DemandError, match="24 zones"):
        assign(case.network, case.demand[:3, :3])


def test_skim_time_is_the_shortest_path_cost(solved, cases):
    result = solved["SiouxFalls"]
    skims = result.skim()
    assert skims["time"].shape == (24, 24)
    np.testing.assert_allclose(skims["time"], skims["cost"])  # no tolls or distance weight
    assert skims["time"][0, 0] == 0.0
    assert skims["distance"][0, 1] == 6.0  # direct link 1 -> 2, length 6
    assert skims["time"][0, 1] == pytest.approx(result.time[0], rel=1e-12)
