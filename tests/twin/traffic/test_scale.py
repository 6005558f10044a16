"""A synthetic grid much larger than the published cases converges in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from twin.traffic.assignment import AssignmentConfig, assign
from twin.traffic.synthetic import grid_demand, grid_network

from .conftest import net_balance

SCRIPT = """
import json, pathlib
from twin.traffic.assignment import AssignmentConfig, assign
from twin.traffic.synthetic import grid_demand, grid_network
net, demand = grid_network({n}, {n}), grid_demand({n}, {n}, trips_per_zone=250)
result = assign(net, demand, AssignmentConfig("bfw", 1e-4, 300))
status = pathlib.Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]
print(json.dumps({{"gap": result.gap, "iterations": result.iterations, "links": net.n_links,
                  "zones": net.zones, "peak_mib": int(status) / 1024}}))
"""


@pytest.fixture(scope="module")
def grid():
    return grid_network(12, 12), grid_demand(12, 12, trips_per_zone=250)


def test_grid_network_shape(grid):
    net, demand = grid
    assert (net.zones, net.n_nodes, net.n_links) == (144, 288, 2 * 2 * 12 * 11 + 2 * 144)
    assert net.first_thru_node == 145
    assert demand.sum() == pytest.approx(144 * 250)


def test_grid_converges_and_conserves_flow(grid):
    net, demand = grid
    result = assign(net, demand, AssignmentConfig("bfw", 1e-5, 500))
    assert result.converged
    expected = np.zeros(net.n_nodes)
    expected[: net.zones] = demand.sum(axis=0) - demand.sum(axis=1)
    np.testing.assert_allclose(net_balance(net, result.flow), expected, atol=1e-6)


@pytest.mark.slow
def test_large_grid_converges_in_bounded_memory():
    """1024 zones, 5.3k links: all shortest-path trees at once would be zones x links x 8 B
    = 43 MB; peak memory must stay far below anything that scales with zones squared x links."""
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(n=32)], capture_output=True, text=True, check=True
    )
    stats = json.loads(run.stdout)
    assert (stats["zones"], stats["links"]) == (1024, 2 * 2 * 32 * 31 + 2 * 1024)
    assert stats["gap"] <= 1e-4
    assert stats["peak_mib"] < 600
