"""Shared fixtures: the published TNTP cases from tests/data/tntp, read once per session."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import TEST_DATA
from twin.traffic.network import Network
from twin.traffic.tntp import TntpCase, read_folder

TNTP = TEST_DATA / "tntp"
CASES = ("SiouxFalls", "Anaheim")


@pytest.fixture(scope="session")
def cases() -> dict[str, TntpCase]:
    """Every published case, keyed by folder name."""
    return {name: read_folder(TNTP / name) for name in CASES}


def published_flow(case: TntpCase) -> np.ndarray:
    """The best-known flows as a link array in the network's order."""
    net = case.network
    index = net.link_index(case.best_flows.from_id, case.best_flows.to_id)
    assert (index >= 0).all()
    flow = np.zeros(net.n_links)
    flow[index] = case.best_flows.volume
    return flow


def net_balance(net: Network, flow: np.ndarray) -> np.ndarray:
    """Inflow minus outflow at every node."""
    inflow = np.bincount(net.head, weights=flow, minlength=net.n_nodes)
    outflow = np.bincount(net.tail, weights=flow, minlength=net.n_nodes)
    return inflow - outflow
