"""GMNS node.csv / link.csv export and import."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.assignment import AssignmentConfig, assign
from twin.traffic.errors import NetworkFormatError
from twin.traffic.gmns import read_gmns, write_gmns

FIELDS = ("tail", "head", "capacity", "length", "free_flow_time", "b", "power", "toll", "lanes")


@pytest.mark.parametrize("name", ["SiouxFalls", "Anaheim"])
def test_gmns_round_trip_keeps_the_network(cases, name, tmp_path):
    net = cases[name].network
    write_gmns(net, tmp_path)
    back = read_gmns(tmp_path, block_centroids=net.first_thru_index > 0)
    for field in FIELDS:
        np.testing.assert_allclose(getattr(back, field), getattr(net, field), rtol=1e-15)
    assert (back.zones, back.first_thru_index) == (net.zones, net.first_thru_index)


def test_gmns_network_gives_the_same_equilibrium(cases, tmp_path):
    case = cases["Anaheim"]
    write_gmns(case.network, tmp_path)
    config = AssignmentConfig("bfw", 1e-5)
    again = assign(read_gmns(tmp_path), case.demand, config)
    assert again.objective == pytest.approx(assign(case.network, case.demand, config).objective)


def test_gmns_capacity_is_per_lane(tmp_path):
    (tmp_path / "node.csv").write_text("node_id,zone_id\n1,1\n2,2\n")
    (tmp_path / "link.csv").write_text(
        "link_id,from_node_id,to_node_id,length,capacity,lanes,free_speed\n"
        "5,1,2,2.0,900,2,60\n6,2,1,2.0,900,1,30\n"
    )
    net = read_gmns(tmp_path)
    assert net.capacity.tolist() == [1800.0, 900.0]
    assert net.free_flow_time.tolist() == [2.0, 4.0]  # minutes from length / free_speed
    assert net.source_id.tolist() == [5, 6]


@pytest.mark.parametrize(
    ("links", "line", "message"),
    [
        ("link_id,from_node_id,to_node_id,length\n1,1,2,1\n", 1, "missing column(s): capacity"),
        ("link_id,from_node_id,to_node_id,length,capacity,free_speed\n1,1,2,x,9,5\n", 2, "length"),
        ("link_id,from_node_id,to_node_id,length,capacity\n1,1,2,1,9\n", 2, "vdf_fftt or"),
    ],
)
def test_malformed_gmns_names_file_and_line(tmp_path, links, line, message):
    (tmp_path / "node.csv").write_text("node_id,zone_id\n1,1\n2,\n")
    (tmp_path / "link.csv").write_text(links)
    with pytest.raises(NetworkFormatError) as err:
        read_gmns(tmp_path)
    assert (err.value.line, message in str(err.value)) == (line, True)
    assert "link.csv" in str(err.value)
