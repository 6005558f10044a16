"""The path-based gradient projection algorithm reaches gaps the Frank-Wolfe family cannot."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.assignment import AssignmentConfig, assign, relative_gap

from .conftest import net_balance, published_flow

CASES = ["SiouxFalls", "Anaheim"]


@pytest.fixture(scope="module")
def solved(cases):
    config = AssignmentConfig("gp", target_gap=1e-10, max_iterations=500)
    return {name: assign(case.network, case.demand, config) for name, case in cases.items()}


@pytest.mark.parametrize("name", CASES)
def test_gradient_projection_reaches_1e_10(cases, solved, name):
    case = cases[name]
    assert solved[name].converged
    assert relative_gap(case.network, case.demand, solved[name].flow) <= 1e-10


@pytest.mark.parametrize("name", CASES)
def test_gradient_projection_flows_match_published_closely(cases, solved, name):
    best = published_flow(cases[name])
    assert np.abs(solved[name].flow - best).sum() / best.sum() < 1e-5


@pytest.mark.parametrize("name", CASES)
def test_gradient_projection_conserves_flow(cases, solved, name):
    case = cases[name]
    expected = np.zeros(case.network.n_nodes)
    expected[: case.network.zones] = case.demand.sum(axis=0) - case.demand.sum(axis=1)
    np.testing.assert_allclose(net_balance(case.network, solved[name].flow), expected, atol=1e-6)
