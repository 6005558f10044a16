"""The BPR volume-delay function, its derivative, its integral and the registry."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.network import build_network
from twin.traffic.vdf import VDF, VDFS, beckmann, cost_and_derivative, register_vdf


@pytest.fixture()
def net():
    return build_network(
        np.array([1, 2]),
        np.array([1, 1, 2]),
        np.array([2, 2, 1]),
        zones=2,
        free_flow_time=np.array([10.0, 2.0, 4.0]),
        capacity=np.array([100.0, 0.0, 50.0]),
        b=np.array([0.15, 0.0, 1.0]),
        power=np.array([4.0, 4.0, 1.0]),
        toll=np.array([2.0, 0.0, 0.0]),
        length=np.array([3.0, 1.0, 1.0]),
        toll_factor=0.5,
        distance_factor=0.1,
    )


def test_bpr_time_values(net):
    time = VDFS["bpr"].time(np.array([200.0, 1e6, 25.0]), net)
    assert time.tolist() == [10.0 * (1 + 0.15 * 16), 2.0, 4.0 * 1.5]


def test_generalised_cost_adds_weighted_toll_and_distance(net):
    cost, _ = cost_and_derivative(np.zeros(3), net)
    assert cost.tolist() == [10.0 + 0.5 * 2.0 + 0.1 * 3.0, 2.0 + 0.1, 4.0 + 0.1]


@pytest.mark.parametrize("flow", [0.0, 30.0, 150.0])
def test_derivative_matches_finite_difference(net, flow):
    x = np.full(3, flow)
    h = 1e-4 * max(flow, 1.0)
    numeric = (VDFS["bpr"].time(x + h, net) - VDFS["bpr"].time(x - h, net)) / (2 * h)
    if flow == 0.0:
        numeric = (VDFS["bpr"].time(x + h, net) - VDFS["bpr"].time(x, net)) / h
    np.testing.assert_allclose(VDFS["bpr"].derivative(x, net), numeric, rtol=1e-3, atol=1e-9)


def test_integral_differentiates_to_time(net):
    x, h = np.array([80.0, 5.0, 20.0]), 1e-3
    numeric = (VDFS["bpr"].integral(x + h, net) - VDFS["bpr"].integral(x - h, net)) / (2 * h)
    np.testing.assert_allclose(numeric, VDFS["bpr"].time(x, net), rtol=1e-7)


def test_beckmann_includes_fixed_costs(net):
    assert beckmann(np.array([0.0, 10.0, 0.0]), net) == pytest.approx(10.0 * (2.0 + 0.1))


def test_registry_refuses_a_duplicate_name():
    with pytest.raises(ValueError, match="already registered"):
        register_vdf("bpr", VDF(*[VDFS["bpr"].time] * 3))
