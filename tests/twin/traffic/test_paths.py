"""Shortest paths and all-or-nothing loading on tiny networks crafted to trap bad kernels."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.assignment import AssignmentConfig, assign
from twin.traffic.network import build_network
from twin.traffic.paths import all_or_nothing, shortest_tree, skim
from twin.traffic.tntp import read_net, write_net

from .conftest import net_balance


def _net(links, *, zones, first_thru_index, nodes=None):
    """A network from (from, to, free-flow time) rows, flow-independent unless stated."""
    links = np.array(links, dtype=np.float64)
    node_ids = nodes if nodes is not None else np.arange(1, int(links[:, :2].max()) + 1)
    return build_network(
        node_ids,
        links[:, 0].astype(int),
        links[:, 1].astype(int),
        zones=zones,
        first_thru_index=first_thru_index,
        free_flow_time=links[:, 2],
        capacity=1000.0,
        length=links[:, 2],
    )


# zones 1..3; 1 -> 2 -> 3 costs 2 through zone 2, the bypass 1 -> 4 -> 3 costs 10
THROUGH_ZONE = [(1, 2, 1.0), (2, 3, 1.0), (1, 4, 5.0), (4, 3, 5.0), (3, 1, 1.0)]


def _flow_on(net, flow, a, b):
    return flow[net.link_index(np.array([a]), np.array([b]))[0]]


def test_paths_do_not_pass_through_zones_below_first_thru_node():
    net = _net(THROUGH_ZONE, zones=3, first_thru_index=3)
    demand = np.zeros((3, 3))
    demand[0, 2] = 7.0
    flow, sptt, lost = all_or_nothing(net, net.free_flow_time, demand)
    assert (_flow_on(net, flow, 1, 4), _flow_on(net, flow, 4, 3)) == (7.0, 7.0)
    assert (_flow_on(net, flow, 1, 2), _flow_on(net, flow, 2, 3)) == (0.0, 0.0)
    assert (sptt, lost) == (70.0, 0.0)


def test_paths_may_start_and_end_at_zones():
    net = _net(THROUGH_ZONE, zones=3, first_thru_index=3)
    demand = np.zeros((3, 3))
    demand[0, 1] = 2.0
    demand[1, 2] = 3.0
    flow, _, _ = all_or_nothing(net, net.free_flow_time, demand)
    assert (_flow_on(net, flow, 1, 2), _flow_on(net, flow, 2, 3)) == (2.0, 3.0)


def test_without_blocking_the_zone_shortcut_is_used():
    net = _net(THROUGH_ZONE, zones=3, first_thru_index=0)
    demand = np.zeros((3, 3))
    demand[0, 2] = 7.0
    flow, sptt, _ = all_or_nothing(net, net.free_flow_time, demand)
    assert (_flow_on(net, flow, 1, 2), _flow_on(net, flow, 1, 4)) == (7.0, 0.0)
    assert sptt == 14.0


def test_first_thru_node_survives_a_tntp_round_trip(tmp_path):
    net = _net(THROUGH_ZONE, zones=3, first_thru_index=3)
    write_net(net, tmp_path / "t_net.tntp")
    assert "<FIRST THRU NODE> 4" in (tmp_path / "t_net.tntp").read_text()
    back = read_net(tmp_path / "t_net.tntp")
    dist, _ = shortest_tree(back, back.free_flow_time, 0)
    assert dist[2] == 10.0


# node 5 is a dead end reached cheaply from 1: it must not become a shortcut to zone 2
DEAD_END = [(1, 3, 4.0), (3, 2, 4.0), (1, 5, 0.5), (3, 5, 0.5), (2, 1, 1.0), (4, 3, 1.0)]


def test_dead_end_node_is_not_a_shortcut():
    net = _net(DEAD_END, zones=2, first_thru_index=2)
    demand = np.array([[0.0, 10.0], [0.0, 0.0]])
    flow, sptt, lost = all_or_nothing(net, net.free_flow_time, demand)
    assert _flow_on(net, flow, 1, 5) == 0.0
    assert _flow_on(net, flow, 3, 5) == 0.0
    assert (_flow_on(net, flow, 1, 3), _flow_on(net, flow, 3, 2)) == (10.0, 10.0)
    assert (sptt, lost) == (80.0, 0.0)


def test_unreachable_demand_is_reported_not_loaded():
    net = _net([(1, 3, 1.0), (3, 1, 1.0), (2, 3, 1.0)], zones=2, first_thru_index=2)
    demand = np.array([[0.0, 4.0], [1.0, 0.0]])
    flow, sptt, lost = all_or_nothing(net, net.free_flow_time, demand)
    assert lost == 4.0
    assert (_flow_on(net, flow, 2, 3), _flow_on(net, flow, 3, 1)) == (1.0, 1.0)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_loading_is_the_same_on_any_thread_count(cases, threads):
    case = cases["Anaheim"]
    net = case.network
    reference, ref_sptt, _ = all_or_nothing(net, net.free_flow_time, case.demand, threads=1)
    flow, sptt, _ = all_or_nothing(net, net.free_flow_time, case.demand, threads=threads)
    np.testing.assert_allclose(flow, reference, rtol=1e-12)
    assert sptt == pytest.approx(ref_sptt, rel=1e-12)


@pytest.mark.parametrize("name", ["SiouxFalls", "Anaheim"])
def test_all_or_nothing_conserves_flow(cases, name):
    case = cases[name]
    net = case.network
    flow, _, _ = all_or_nothing(net, net.free_flow_time, case.demand)
    expected = np.zeros(net.n_nodes)
    expected[: net.zones] = case.demand.sum(axis=0) - case.demand.sum(axis=1)
    np.testing.assert_allclose(net_balance(net, flow), expected, atol=1e-6)


def test_skim_sums_fields_along_the_tree():
    net = _net(THROUGH_ZONE, zones=3, first_thru_index=3)
    out = skim(net, net.free_flow_time, {"time": net.free_flow_time, "hops": np.ones(5)})
    assert out["time"][0].tolist() == [0.0, 1.0, 10.0]
    assert out["hops"][0].tolist() == [0.0, 1.0, 2.0]


def test_equilibrium_on_blocked_network_never_uses_zone_transit():
    net = build_network(
        np.arange(1, 5),
        np.array([1, 2, 1, 4]),
        np.array([2, 3, 4, 3]),
        zones=3,
        first_thru_index=3,
        free_flow_time=np.array([1.0, 1.0, 5.0, 5.0]),
        capacity=np.array([10.0, 10.0, 10.0, 10.0]),
    )
    demand = np.zeros((3, 3))
    demand[0, 2] = 50.0
    result = assign(net, demand, AssignmentConfig("bfw", 1e-9, 50))
    assert (_flow_on(net, result.flow, 1, 4), _flow_on(net, result.flow, 4, 3)) == (50.0, 50.0)
    assert (_flow_on(net, result.flow, 1, 2), _flow_on(net, result.flow, 2, 3)) == (0.0, 0.0)
