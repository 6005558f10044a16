"""Reading and writing the TNTP formats, including the malformed-input catalogue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.traffic.errors import NetworkFormatError
from twin.traffic.tntp import (
    LinkFlows,
    read_cost_weights,
    read_flow,
    read_folder,
    read_net,
    read_nodes,
    read_trips,
    write_flow,
    write_net,
    write_trips,
)

from .conftest import TNTP


@pytest.mark.parametrize(
    ("name", "nodes", "links", "zones", "first_thru", "trips"),
    [("SiouxFalls", 24, 76, 24, 1, 360600.0), ("Anaheim", 416, 914, 38, 39, 104694.4)],
)
def test_published_case_has_declared_dimensions(
    cases, name, nodes, links, zones, first_thru, trips
):
    case = cases[name]
    net = case.network
    assert (net.n_nodes, net.n_links, net.zones, net.first_thru_node) == (
        nodes,
        links,
        zones,
        first_thru,
    )
    assert case.demand.sum() == pytest.approx(trips, rel=1e-12)


@pytest.mark.parametrize("name", ["SiouxFalls", "Anaheim"])
def test_links_are_in_csr_order_by_tail(cases, name):
    net = cases[name].network
    assert np.all(np.diff(net.tail) >= 0)
    for node in (0, net.n_nodes - 1):
        out = slice(net.indptr[node], net.indptr[node + 1])
        assert np.all(net.tail[out] == node)


def test_sioux_falls_first_link_values(cases):
    net = cases["SiouxFalls"].network
    assert (net.from_id[0], net.to_id[0]) == (1, 2)
    assert net.capacity[0] == 25900.20064
    assert (net.free_flow_time[0], net.b[0], net.power[0]) == (6.0, 0.15, 4.0)
    assert net.source_id[0] == -1


def test_trips_cell_value(cases):
    assert cases["SiouxFalls"].demand[0, 9] == 1300.0  # origin 1, destination 10
    assert cases["Anaheim"].demand[0, 1] == 1365.9


def test_readme_cost_weights_are_read():
    assert read_cost_weights(TNTP / "Anaheim" / "README.md") == (0.0, 0.0)


def test_readme_with_nonzero_weights(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("## Generalized Cost Weights\nToll: 0.5  \nDistance: 0.02\n\n## Units\n")
    assert read_cost_weights(readme) == (0.5, 0.02)


def test_node_coordinates_are_read():
    ids, xy = read_nodes(TNTP / "SiouxFalls" / "SiouxFalls_node.tntp")
    assert ids.tolist() == list(range(1, 25))
    assert xy[0].tolist() == [-96.77041974, 43.61282792]


def test_net_round_trip(cases, tmp_path):
    net = cases["Anaheim"].network
    write_net(net, tmp_path / "x_net.tntp")
    back = read_net(tmp_path / "x_net.tntp")
    for name in ("tail", "head", "capacity", "length", "free_flow_time", "b", "power", "toll"):
        np.testing.assert_array_equal(getattr(back, name), getattr(net, name))
    assert (back.zones, back.first_thru_index) == (net.zones, net.first_thru_index)


def test_trips_round_trip(cases, tmp_path):
    demand = cases["SiouxFalls"].demand
    write_trips(demand, tmp_path / "x_trips.tntp")
    np.testing.assert_array_equal(read_trips(tmp_path / "x_trips.tntp"), demand)


def test_flow_round_trip(tmp_path):
    flows = LinkFlows(np.array([1, 2]), np.array([2, 1]), np.array([10.5, 0.25]), np.ones(2))
    write_flow(flows, tmp_path / "x_flow.tntp")
    back = read_flow(tmp_path / "x_flow.tntp")
    assert back.volume.tolist() == [10.5, 0.25]
    assert back.to_id.tolist() == [2, 1]


NET_HEAD = (
    "<NUMBER OF ZONES> 2\n<NUMBER OF NODES> 3\n<FIRST THRU NODE> 1\n<NUMBER OF LINKS> 2\n"
    "<END OF METADATA>\n~ init term cap len fft b power speed toll type ;\n"
)
GOOD_ROWS = "1\t3\t100\t1\t1\t0.15\t4\t0\t0\t1\t;\n3\t2\t100\t1\t1\t0.15\t4\t0\t0\t1\t;\n"

MALFORMED_NETS = {
    "truncated": (NET_HEAD + GOOD_ROWS.splitlines(True)[0], 7, "2 but 1 links were read"),
    "wrong column count": (NET_HEAD + GOOD_ROWS + "3 1 100 1 1 ;\n", 9, "expected 10 columns"),
    "non-numeric field": (
        NET_HEAD + GOOD_ROWS.replace("100", "lots", 1),
        7,
        "column 'capacity' is not a number: 'lots'",
    ),
    "missing metadata": (
        NET_HEAD.replace("<FIRST THRU NODE> 1\n", "") + GOOD_ROWS,
        None,
        "missing metadata <FIRST THRU NODE>",
    ),
    "node outside range": (NET_HEAD + GOOD_ROWS.replace("3\t2", "3\t9"), 8, "outside 1..3"),
    "no end of metadata": ("<NUMBER OF ZONES> 2\n", None, "missing <END OF METADATA>"),
}


@pytest.mark.parametrize("case", MALFORMED_NETS.values(), ids=MALFORMED_NETS.keys())
def test_malformed_net_names_file_and_line(tmp_path, case):
    text, line, reason = case
    path = tmp_path / "bad_net.tntp"
    path.write_text(text)
    with pytest.raises(NetworkFormatError) as err:
        read_net(path)
    assert err.value.line == line
    assert reason in str(err.value)
    assert str(err.value).startswith(str(path))


TRIPS_HEAD = "<NUMBER OF ZONES> 2\n<END OF METADATA>\n\nOrigin 1\n"
MALFORMED_TRIPS = {
    "non-numeric trips": (TRIPS_HEAD + "  2 : many;\n", 5, "not a number: 'many'"),
    "unknown zone": (TRIPS_HEAD + "  7 : 3.0;\n", 5, "zone '7' is not in 1..2"),
    "negative trips": (TRIPS_HEAD + "  2 : -3.0;\n", 5, "must be >= 0"),
    "values before origin": ("<NUMBER OF ZONES> 2\n<END OF METADATA>\n2 : 1;\n", 3, "before any"),
    "total mismatch": (
        TRIPS_HEAD.replace("<END", "<TOTAL OD FLOW> 50\n<END") + "2 : 5;\n",
        None,
        "add up to 5",
    ),
}


@pytest.mark.parametrize("case", MALFORMED_TRIPS.values(), ids=MALFORMED_TRIPS.keys())
def test_malformed_trips_names_file_and_line(tmp_path, case):
    text, line, reason = case
    path = tmp_path / "bad_trips.tntp"
    path.write_text(text)
    with pytest.raises(NetworkFormatError) as err:
        read_trips(path)
    assert (err.value.line, reason in str(err.value)) == (line, True)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(NetworkFormatError, match="not a folder of TNTP files"):
        read_folder(tmp_path / "nowhere")


def test_folder_without_trips_is_a_clear_error(tmp_path):
    (tmp_path / "x_net.tntp").write_text(NET_HEAD + GOOD_ROWS)
    with pytest.raises(NetworkFormatError, match=r"no \*_trips.tntp file"):
        read_folder(tmp_path)


def test_unreadable_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(NetworkFormatError, match="cannot read file"):
        read_net(tmp_path / "absent_net.tntp")
