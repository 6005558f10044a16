"""Building networks from arrays and keeping the largest strongly connected component."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.errors import NetworkError
from twin.traffic.network import build_network, largest_strong_component


def _ring_with_tail():
    """Zones 1, 2 on a ring 1-2-3; node 4 only reachable, node 5 only leaving."""
    return build_network(
        np.array([1, 2, 3, 4, 5]),
        np.array([1, 2, 3, 3, 5]),
        np.array([2, 3, 1, 4, 1]),
        zones=2,
        free_flow_time=np.ones(5),
        capacity=100.0,
        source_id=np.array([10, 11, 12, 13, 14]),
    )


def test_links_are_sorted_by_tail_and_keep_their_source_id():
    net = build_network(
        np.array([7, 8, 9]),
        np.array([9, 7, 8]),
        np.array([7, 8, 9]),
        zones=1,
        free_flow_time=np.array([1.0, 2.0, 3.0]),
        capacity=1.0,
        source_id=np.array([100, 200, 300]),
    )
    assert net.from_id.tolist() == [7, 8, 9]
    assert net.source_id.tolist() == [200, 300, 100]
    assert net.indptr.tolist() == [0, 1, 2, 3]


def test_largest_component_drops_dangling_nodes():
    net, report = largest_strong_component(_ring_with_tail())
    assert net.node_ids.tolist() == [1, 2, 3]
    assert sorted(report.dropped_node_ids.tolist()) == [4, 5]
    assert report.dropped_links == 2
    assert report.dropped_zone_ids.tolist() == []
    assert sorted(net.source_id.tolist()) == [10, 11, 12]
    assert net.zones == 2


def test_largest_component_reports_dropped_zones():
    net = build_network(
        np.array([1, 2, 3, 4]),
        np.array([2, 3, 4, 1]),
        np.array([3, 4, 2, 2]),
        zones=2,
        free_flow_time=np.ones(4),
        capacity=1.0,
    )
    kept, report = largest_strong_component(net)
    assert report.dropped_zone_ids.tolist() == [1]
    assert (kept.zones, kept.node_ids.tolist()) == (1, [2, 3, 4])
    assert report.kept_nodes.tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"to_ids": np.array([2, 9])}, "link to node 9 is not a known node id"),
        ({"capacity": np.array([0.0, 1.0])}, "has b > 0 but capacity <= 0"),
        ({"free_flow_time": np.array([-1.0, 1.0])}, "must not be negative"),
        ({"free_flow_time": np.array([np.nan, 1.0])}, "non-finite"),
        ({"lanes": np.ones(3)}, "has 3 values for 2 links"),
        ({"zones": 5}, "zones=5 must be between 0"),
        ({"colour": np.ones(2)}, "unknown link attribute"),
        ({"node_ids": np.array([1, 1, 2])}, "not unique"),
    ],
)
def test_inconsistent_arrays_are_rejected(change, message):
    args = {
        "node_ids": np.array([1, 2]),
        "from_ids": np.array([1, 2]),
        "to_ids": np.array([2, 1]),
        "zones": 2,
        "free_flow_time": np.ones(2),
        "capacity": np.ones(2),
    }
    args.update(change)
    with pytest.raises(NetworkError, match=message):
        build_network(**args)


def test_link_index_finds_links_by_node_ids(cases):
    net = cases["SiouxFalls"].network
    index = net.link_index(np.array([1, 24, 5]), np.array([3, 13, 24]))
    assert index[2] == -1
    assert (net.from_id[index[0]], net.to_id[index[0]]) == (1, 3)
    assert (net.from_id[index[1]], net.to_id[index[1]]) == (24, 13)
