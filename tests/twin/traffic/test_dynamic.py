"""The mesoscopic morning peak on small networks whose answers are known: flows below capacity
pass unchanged at free-flow speed, a bottleneck releases exactly its capacity and its queue
spills back upstream, later drivers route around a queue, and a run is fixed by its seed."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.dynamic import DynamicConfig, simulate_peak, vehicles_from_od
from twin.traffic.errors import ConfigError, DemandError
from twin.traffic.network import build_network

CONNECTOR = 9


def corridor(bottleneck: float = 600.0, detour: bool = False):
    """Zone 0 -> road 2 -> 3 -> 4 -> 5 -> zone 1; link 3->4 (100 m) has `bottleneck` veh/h.
    With `detour`, a longer road 2 -> 6 -> 5 at full capacity offers another way."""
    links = [  # from, to, km, capacity, lanes, kind
        (0, 2, 0.0, 1e6, 1, CONNECTOR),
        (2, 3, 1.0, 1800.0, 1, 1),
        (3, 4, 0.1, bottleneck, 1, 1),
        (4, 5, 1.0, 1800.0, 1, 1),
        (5, 1, 0.0, 1e6, 1, CONNECTOR),
    ]
    if detour:
        links += [(2, 6, 1.2, 1800.0, 1, 1), (6, 5, 1.2, 1800.0, 1, 1)]
    f, t, km, cap, lanes, kind = (np.array(c) for c in zip(*links, strict=True))
    speed = np.where(kind == CONNECTOR, 1e3, 50.0)
    net = build_network(
        np.arange(7 if detour else 6), f, t, zones=2, first_thru_index=2,
        length=km * 1000, free_flow_time=km / speed * 60, capacity=cap, lanes=lanes,
        speed=speed, link_type=kind,
    )  # fmt: skip
    return net, net.link_type == CONNECTOR


def od(rate: float) -> np.ndarray:
    out = np.zeros((2, 2))
    out[0, 1] = rate
    return out


def link(net, a: int, b: int) -> int:
    return int(net.link_index(np.array([a]), np.array([b]))[0])


FLAT = np.ones(4)
ONE_HOUR = DynamicConfig(periods=4, cooldown_min=120.0)


def test_below_capacity_everything_passes_at_free_flow():
    net, virtual = corridor()
    result = simulate_peak(net, od(400.0), FLAT, ONE_HOUR, virtual=virtual)
    assert result.vehicles == result.arrived and result.teleported == 0
    bottleneck = link(net, 3, 4)
    assert result.flow[1:, bottleneck] == pytest.approx(np.full(3, 400.0), abs=30.0)
    assert np.nanmean(result.speed[:, link(net, 2, 3)]) == pytest.approx(50.0, rel=0.03)
    assert result.delay_hours.sum() < 0.05 * result.vehicle_hours.sum()


def test_a_bottleneck_releases_its_capacity_and_the_queue_spills_back():
    net, virtual = corridor(bottleneck=600.0)
    config = DynamicConfig(periods=8, cooldown_min=0.0)
    profile = np.r_[np.ones(4), np.zeros(4)]
    result = simulate_peak(net, od(1200.0), profile, config, virtual=virtual)
    bottleneck, upstream = link(net, 3, 4), link(net, 2, 3)
    assert result.flow[1:6, bottleneck] == pytest.approx(np.full(5, 600.0), rel=0.02)
    storage_up = 1.0 * 1 * config.jam_density  # 1 km, one lane
    assert result.queue[3, upstream] > 0.9 * storage_up  # the queue filled the link upstream
    assert result.delay_hours[3] > result.delay_hours[0]
    late = np.nanmean(result.speed[3:6, upstream])
    assert late < 0.5 * 50.0


def test_later_drivers_route_around_a_queue():
    net, virtual = corridor(bottleneck=300.0, detour=True)
    five = DynamicConfig(periods=12, period_min=5.0, cooldown_min=60.0)
    result = simulate_peak(net, od(900.0), np.ones(12), five, virtual=virtual)
    detour = link(net, 2, 6)
    short = link(net, 2, 3)
    assert result.flow[0, detour] < 0.5 * result.flow[0, short]  # at first: the short way
    assert result.flow[3:, detour].mean() > result.flow[0, detour] + 100.0  # then around it
    assert (result.flow[:, link(net, 3, 4)] <= 300.0 * 1.05).all()  # never above capacity
    assert result.arrived == result.vehicles


def test_the_same_seed_gives_identical_results_and_another_seed_others():
    net, virtual = corridor()
    a = simulate_peak(net, od(700.0), FLAT, ONE_HOUR, virtual=virtual)
    b = simulate_peak(net, od(700.0), FLAT, ONE_HOUR, virtual=virtual)
    c = simulate_peak(net, od(700.0), FLAT, DynamicConfig(periods=4, seed=2), virtual=virtual)
    np.testing.assert_array_equal(a.flow, b.flow)
    np.testing.assert_array_equal(a.queue, b.queue)
    assert not np.array_equal(a.flow, c.flow)
    assert abs(a.vehicles - c.vehicles) <= 4


def test_departures_follow_the_profile():
    profile = np.array([0.5, 1.0, 1.0, 0.25])
    origin, dest, depart = vehicles_from_od(od(800.0), profile, ONE_HOUR)
    counts = np.bincount((depart // 900).astype(int), minlength=4)
    np.testing.assert_allclose(counts, 800 * profile / 4, atol=1)
    assert (np.diff(depart) >= 0).all() and (origin == 0).all() and (dest == 1).all()


@pytest.mark.parametrize(
    "kwargs, name", [({"dt_s": 0}, "dt_s"), ({"periods": 0}, "periods"), ({"stuck_s": -1}, "stuck")]
)
def test_bad_settings_are_refused(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        DynamicConfig(**kwargs)


def test_a_profile_of_the_wrong_length_is_refused():
    net, virtual = corridor()
    with pytest.raises(DemandError, match="4 non-negative values"):
        simulate_peak(net, od(100.0), np.ones(3), ONE_HOUR, virtual=virtual)


@pytest.mark.slow
def test_a_city_of_100k_links_runs_in_bounded_memory(tmp_path):
    """102,560 links, 26,000 nodes, 400 zones, 30 simulated minutes, in its own process.

    The peak is the child's own VmHWM: `ru_maxrss` survives exec on Linux, so it would report
    the (large) pytest parent's resident size at fork instead of the simulation's."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from twin.traffic.synthetic import grid_network, grid_demand\n"
        "from twin.traffic.dynamic import DynamicConfig, simulate_peak\n"
        "net = grid_network(160, 160, zone_step=8)\n"
        "od = grid_demand(160, 160, zone_step=8, trips_per_zone=40.0)\n"
        "cfg = DynamicConfig(periods=2, dt_s=2.0, cooldown_min=0.0)\n"
        "r = simulate_peak(net, od, np.ones(2), cfg, virtual=net.link_type == 9)\n"
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "peak = int(hwm.split()[1]) / 1024\n"
        "print(net.n_links, r.vehicles, round(peak))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True
    )
    links, vehicles, peak_mib = map(int, done.stdout.split())
    assert links > 100_000 and vehicles > 5_000
    assert peak_mib < 1200
