"""Time of day: a mesoscopic simulation of the morning peak on the assignment's network and OD.

The peak-hour OD is spread over the periods by a departure-time profile and drawn as whole
vehicles (seeded, so a run is deterministic for its seed). Every `reroute_min` the vehicles about
to depart get the fastest route at the link times of that moment (free-flow time plus the time
to discharge the queue ahead, plus tolls), and `twin.traffic.meso` moves them through link queues
that spill back. Results per link and period: flow, mean speed, mean queue; per period: vehicle-
hours spent and lost in queues. Memory is O(links x periods + vehicles x route length).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from twin.traffic.errors import ConfigError, DemandError
from twin.traffic.meso import ARRIVED, FORCED, SLACK, TELEPORTED, simulate
from twin.traffic.network import Network
from twin.traffic.paths import dijkstra_tree, tree_buffers

BATCHES = 4  #: incremental loading steps of each routing window


@dataclass(frozen=True)
class DynamicConfig:
    """The simulated morning: its clock, time step, queue physics and routing."""

    start_h: float = 6.0  #: clock time of the first period
    periods: int = 16  #: 16 x 15 min = 06:00-10:00
    period_min: float = 15.0
    dt_s: float = 1.0
    jam_density: float = 140.0  #: vehicles per km and lane in a standing queue (7.1 m each)
    stuck_s: float = 10.0  #: a head blocked longer squeezes in or jumps ahead (MATSim: 10 s)
    reroute_min: float = 5.0  #: route choice interval
    seed: int = 1
    cooldown_min: float = 60.0  #: simulated after the last period so late vehicles can arrive

    def __post_init__(self) -> None:
        for name in ("period_min", "dt_s", "jam_density", "stuck_s", "reroute_min"):
            if not getattr(self, name) > 0:
                raise ConfigError(name, f"{getattr(self, name)!r} must be positive")
        if not isinstance(self.periods, int) or self.periods < 1:
            raise ConfigError("periods", f"{self.periods!r} must be an integer >= 1")
        if self.cooldown_min < 0:
            raise ConfigError("cooldown_min", "must be >= 0")

    def label(self, period: int) -> str:
        """Clock time at the start of a period, e.g. '07:45'."""
        minutes = round(self.start_h * 60 + period * self.period_min)
        return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, eq=False)
class DynamicResult:
    """Per link and period (periods x links) and per period; cooldown traffic is not included."""

    config: DynamicConfig
    flow: np.ndarray  #: vehicles per hour leaving the link
    speed: np.ndarray  #: km/h of the vehicles that left the link (nan: none left)
    queue: np.ndarray  #: mean vehicles standing in the link's queue
    vehicle_hours: np.ndarray  #: (periods,) on links
    delay_hours: np.ndarray  #: (periods,) of that, standing in queues on links
    entry_hours: np.ndarray  #: (periods,) waiting to enter the network (first link full)
    departures: np.ndarray  #: (periods,) vehicles departing
    vehicles: int
    arrived: int  #: by the end of the cooldown
    teleported: int  #: jumped ahead along their route (SUMO's teleport)
    forced: int  #: squeezed into a full link after `stuck_s` (MATSim's stuck rule)
    seconds: float  #: wall-clock run time (routing + simulation)
    total_vehicle_hours: float = 0.0  #: on links, the cooldown included
    #: With `keep_routes`: the vehicles (origin, destination, departure s) and their routes
    #: (flat link indices, start and length per vehicle), e.g. to run the same trips elsewhere.
    trips: tuple[np.ndarray, ...] | None = None


def vehicles_from_od(
    od: np.ndarray, profile: np.ndarray, config: DynamicConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole vehicles (origin, destination, departure second) for the peak-hour `od` scaled by
    `profile` (per period, the departure rate relative to the peak hour); seeded rounding."""
    profile = np.asarray(profile, dtype=float)
    if profile.shape != (config.periods,) or (profile < 0).any():
        raise DemandError(f"the profile needs {config.periods} non-negative values")
    rng = np.random.default_rng(config.seed)
    o_idx, d_idx = np.nonzero(od > 0)
    o_idx, d_idx = o_idx[o_idx != d_idx], d_idx[o_idx != d_idx]
    rate = od[o_idx, d_idx]
    period_s = config.period_min * 60
    parts = []
    for p, share in enumerate(profile):
        expected = rate * share * config.period_min / 60
        n = np.floor(expected).astype(np.int64)
        n += rng.random(expected.size) < (expected - n)
        pick = np.repeat(np.arange(expected.size), n)
        depart = p * period_s + rng.random(pick.size) * period_s
        parts.append((o_idx[pick], d_idx[pick], depart))
    origin, dest, depart = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((dest, origin, depart))
    return origin[order], dest[order], depart[order]


@njit(cache=True)
def _route_window(graph, sizes, cost, virtual, trips, which, load):
    """Routes (links to simulate) of the vehicles `which`, one tree per origin and one path per
    destination; adds each route's vehicles to `load` (per link) and returns flat links and
    per-vehicle start (into them) and length (0: only zone connectors, no road; -1: no path).
    `sizes` is (first thru node index, zones, nodes), `trips` (origin, destination)."""
    first_thru, zones, n_nodes = sizes
    origin, dest = trips
    order = which[np.argsort(origin[which] * zones + dest[which])]
    bufs = tree_buffers(n_nodes, graph[2].size)
    dist, pred, wanted = bufs[0], bufs[1], bufs[4]
    tail = graph[1]
    out = np.empty(max(1, 64 * order.size), np.int32)
    used = 0
    start = np.zeros(order.size, np.int64)
    length = np.zeros(order.size, np.int64)
    slot = np.empty(origin.size, np.int64)  # vehicle -> its row in start/length
    slot[which] = np.arange(which.size)
    i = 0
    while i < order.size:
        o = origin[order[i]]
        j = i
        while j < order.size and origin[order[j]] == o:
            wanted[dest[order[j]]] = True
            j += 1
        dijkstra_tree(o, graph, cost, first_thru, zones, bufs)
        k = i
        while k < j:
            d = dest[order[k]]
            wanted[d] = False
            n_same = 0
            while k + n_same < j and dest[order[k + n_same]] == d:
                n_same += 1
            begin = used
            node = d
            while node != o and pred[node] >= 0 and dist[d] < np.inf:
                link = pred[node]
                load[link] += n_same
                if not virtual[link]:
                    if used == out.size:
                        out = np.concatenate((out, np.empty(out.size, np.int32)))
                    out[used] = link
                    used += 1
                node = tail[link]
            out[begin:used] = out[begin:used][::-1].copy()
            for _ in range(n_same):
                row = slot[order[k]]
                start[row] = begin
                length[row] = used - begin if dist[d] < np.inf else -1
                k += 1
        i = j
    return out[:used], start, length


@njit(cache=True)
def _link_minutes(links, ready, now, capacity):
    """Current link times (min): free flow plus the time to discharge the standing queue."""
    ring, offset, head, count, storage, ff = links[:6]
    out = ff / 60.0
    for a in range(count.size):
        queued = 0
        for k in range(count[a]):
            if ready[ring[offset[a] + (head[a] + k) % storage[a]]] > now:
                break
            queued += 1
        if queued > 0 and capacity[a] > 0:
            out[a] += queued / capacity[a] * 60.0
    return out


class _Sim:
    """The arrays the kernel works on, and the routing between its windows."""

    def __init__(self, net: Network, virtual: np.ndarray, config: DynamicConfig, n: int):
        ff = net.free_flow_time * 60.0
        road = ~virtual
        storage = np.where(
            road, np.maximum(1, np.floor(net.length / 1000 * net.lanes * config.jam_density)), 1
        ).astype(np.int64)
        ring = storage + SLACK
        offset = np.r_[0, np.cumsum(ring)[:-1]].astype(np.int64)
        cap_step = np.where(road, net.capacity * config.dt_s / 3600.0, 1e9)
        self.links = (
            np.zeros(int(ring.sum()), np.int32),
            offset,
            np.zeros(net.n_links, np.int64),
            np.zeros(net.n_links, np.int64),
            ring,
            ff,
            np.zeros(net.n_links),
            cap_step,
            np.full(net.n_links, -1.0),  # since when the head has been blocked (-1: it is not)
            np.zeros(net.n_links, np.int64),  # the links a step visits ...
            np.zeros(net.n_links, np.bool_),  # ... as flags
            np.zeros(1, np.int64),  # ... and how many there are
            storage,
        )
        self.veh = tuple(np.zeros(n, t) for t in (np.int64, np.int64, float, float, np.int64))
        self.waiting = (np.full(net.n_links, -1), np.full(net.n_links, -1), np.full(n, -1))
        self.state = (np.zeros(1, np.int64), np.zeros(net.n_links, np.int64), np.zeros(4, np.int64))
        shape = (config.periods + 1, net.n_links)
        self.meas = (
            np.zeros(shape),
            np.zeros(shape),
            np.zeros(shape),
            np.zeros(config.periods + 1),
            np.zeros(config.periods + 1),
            np.zeros(config.periods + 1),
        )


def simulate_peak(
    net: Network,
    od: np.ndarray,
    profile: np.ndarray,
    config: DynamicConfig | None = None,
    *,
    virtual: np.ndarray | None = None,
    keep_routes: bool = False,
) -> DynamicResult:
    """Simulate the morning: `od` is the peak-hour vehicle matrix (zones x zones), `profile` the
    departure rate of each period relative to it; `virtual` links (zone connectors) are passed
    instantly and hold no queue."""
    config = config or DynamicConfig()
    t0 = time.perf_counter()
    virtual = np.zeros(net.n_links, bool) if virtual is None else np.asarray(virtual, bool)
    origin, dest, depart = vehicles_from_od(np.asarray(od, dtype=float), profile, config)
    sim = _Sim(net, virtual, config, origin.size)
    sim.depart = depart
    routes = _run(net, virtual, config, sim, origin, dest, depart)
    result = _result(net, config, sim, origin.size, routes, time.perf_counter() - t0)
    if not keep_routes:
        return result
    trips = (origin, dest, depart, routes, sim.veh[0].copy(), sim.veh[1].copy())
    return dataclasses.replace(result, trips=trips)


def _run(net, virtual, config, sim, origin, dest, depart) -> np.ndarray:
    """Route each window's departures, then simulate it; continue through the cooldown."""
    period_s = config.period_min * 60
    window = config.reroute_min * 60
    end = config.periods * period_s
    routes = np.zeros(0, np.int32)
    start, length, ready, entered, pos = sim.veh
    veh = (start, length, ready, entered, pos, depart)
    t = 0.0
    while t < end + config.cooldown_min * 60 - 1e-9:
        t_next = min(t + window, end) if t < end else end + config.cooldown_min * 60
        lo, hi = np.searchsorted(depart, [t, t_next])
        if hi > lo:
            routes = _route(net, virtual, sim, routes, (origin, dest), (lo, hi, t, t_next - t))
        params = (config.dt_s, period_s, config.stuck_s, config.seed)
        simulate((t, t_next), params, routes, sim.links, veh, sim.waiting, sim.meas, sim.state)
        t = t_next
        if t >= end and sim.state[2][ARRIVED] == origin.size:
            break  # everyone has arrived: the rest of the cooldown would be empty
    return routes


def _route(net, virtual, sim, routes, trips, span) -> np.ndarray:
    """Fastest routes for the vehicles departing in `span` = (lo, hi, now, window seconds),
    loaded incrementally: in BATCHES
    interleaved slices, each routed at the current queue times plus the BPR delay of the flow
    the earlier slices put on each link, so one window's drivers do not all pile onto one path."""
    graph = (net.indptr, net.tail, net.head)
    sizes = (net.first_thru_index, net.zones, net.n_nodes)
    lo, hi, now, window_s = span
    start, length, ready = sim.veh[0], sim.veh[1], sim.veh[2]
    queue_min = _link_minutes(sim.links, ready, now, net.capacity) + net.fixed_cost()
    load = np.zeros(net.n_links)
    for b in range(BATCHES):
        which = np.arange(lo + b, hi, BATCHES)
        if not which.size:
            continue
        ratio = np.divide(load * 3600 / window_s, net.capacity, where=net.capacity > 0,
                          out=np.zeros(net.n_links))  # fmt: skip
        minutes = queue_min + net.free_flow_time * net.b * ratio**net.power
        flat, first, count = _route_window(graph, sizes, minutes, virtual, trips, which, load)
        if (count < 0).any():
            raise DemandError(f"{int((count < 0).sum())} vehicles have no path")
        start[which] = first + routes.size
        length[which] = count
        routes = np.concatenate((routes, flat))
    return routes


def _result(net, config, sim, n, routes, seconds) -> DynamicResult:
    exits, tt_sum, queue_sum, on_links, delay, entry = (m[: config.periods] for m in sim.meas)
    period_s = config.period_min * 60
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.where(exits > 0, net.length[None, :] / (tt_sum / exits) * 3.6, np.nan)
    counters = sim.state[2]
    period = np.minimum((sim.depart // period_s).astype(np.int64), config.periods - 1)
    departures = np.bincount(period, minlength=config.periods)
    return DynamicResult(
        config=config,
        flow=exits * 3600 / period_s,
        speed=speed,
        queue=queue_sum / period_s,
        vehicle_hours=on_links / 3600,
        delay_hours=delay / 3600,
        entry_hours=entry / 3600,
        departures=departures,
        vehicles=n,
        arrived=int(counters[ARRIVED]),
        teleported=int(counters[TELEPORTED]),
        forced=int(counters[FORCED]),
        total_vehicle_hours=float(sim.meas[3].sum() / 3600),
        seconds=seconds,
    )
