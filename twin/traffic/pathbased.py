"""Path-based assignment: gradient projection (Jayakrishnan et al. 1994), for tight gaps.

Every OD pair keeps the paths it uses. Origin by origin, the current shortest path joins its
OD's set, and flow moves from each dearer path to it by a Newton step on the cost difference;
link costs follow every move (Gauss-Seidel). It reaches gaps of 1e-8 and below where the
link-based Frank-Wolfe family stalls, at the price of storing paths: use it for networks up to
a few thousand zones. BPR costs only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from numba import njit

from twin.traffic.network import Network
from twin.traffic.paths import all_or_nothing, dijkstra_tree, tree_buffers
from twin.traffic.results import AssignmentResult, Progress, build_result
from twin.traffic.vdf import cost_and_derivative


@njit(cache=True)
def _bpr(links, x, net_arrays, cost, der):
    """Refresh BPR cost and derivative on the given links."""
    fft, cap, b, power, fixed = net_arrays
    for link in links:
        ratio = x[link] / cap[link] if cap[link] > 0 else 0.0
        cost[link] = fft[link] * (1.0 + b[link] * ratio ** power[link]) + fixed[link]
        if cap[link] > 0 and (ratio > 0 or power[link] == 1.0):
            der[link] = fft[link] * b[link] * power[link] * ratio ** (power[link] - 1.0) / cap[link]
        else:
            der[link] = 0.0


@njit(cache=True)
def _grow(store, counts, extra_links):
    """Make room for one more path of `extra_links` links, doubling buffers when full."""
    od_first, nxt, start, length, flow, links = store
    if counts[0] + 1 > nxt.size:
        size = 2 * nxt.size
        nxt, start = _resize(nxt, size), _resize(start, size)
        length, flow = _resize(length, size), _resize(flow, size)
    if counts[1] + extra_links > links.size:
        links = _resize(links, max(2 * links.size, counts[1] + extra_links))
    return od_first, nxt, start, length, flow, links


@njit(cache=True)
def _resize(arr, size):
    out = np.zeros(size, arr.dtype)
    out[: arr.size] = arr
    return out


@njit(cache=True)
def _find_or_add(od, path, k, store, counts):
    """Id of the path with links `path[:k]` in OD `od`'s set, adding it (flow 0) if new."""
    od_first, nxt, start, length, flow, links = store
    p = od_first[od]
    while p >= 0:
        if length[p] == k and np.all(links[start[p] : start[p] + k] == path[:k]):
            return p, store
        p = nxt[p]
    store = _grow(store, counts, k)
    od_first, nxt, start, length, flow, links = store
    p = counts[0]
    start[p], length[p], flow[p] = counts[1], k, 0.0
    links[counts[1] : counts[1] + k] = path[:k]
    nxt[p], od_first[od] = od_first[od], p
    counts[0] += 1
    counts[1] += k
    return p, store


@njit(cache=True)
def _shift(od, best, store, x, net_arrays, cost, der, mark):
    """Move flow of OD `od` from each dearer path to path `best` (Newton steps)."""
    od_first, nxt, start, length, flow, links = store
    sp = links[start[best] : start[best] + length[best]]
    mark[sp] = best + 1
    prev, p = -1, od_first[od]
    while p >= 0:
        if p != best:
            lp = links[start[p] : start[p] + length[p]]
            c_p, c_sp, slope = 0.0, 0.0, 0.0
            for link in lp:
                c_p += cost[link]
                slope += der[link] if mark[link] != best + 1 else -der[link]
            for link in sp:
                c_sp += cost[link]
                slope += der[link]
            if c_p > c_sp and slope > 0:
                step = min(flow[p], (c_p - c_sp) / slope)
                flow[p] -= step
                flow[best] += step
                x[lp] -= step
                x[sp] += step
                _bpr(lp, x, net_arrays, cost, der)
                _bpr(sp, x, net_arrays, cost, der)
        if p != best and flow[p] <= 1e-12 * max(flow[best], 1.0):
            flow[best] += flow[p]
            x[links[start[p] : start[p] + length[p]]] -= flow[p]
            x[sp] += flow[p]
            nxt_p = nxt[p]
            if prev < 0:
                od_first[od] = nxt_p
            else:
                nxt[prev] = nxt_p
            p = nxt_p
            continue
        prev, p = p, nxt[p]
    mark[sp] = 0


@njit(cache=True)
def _sweep(graph, net_arrays, first_thru, demand, x, store, counts):
    """One Gauss-Seidel pass over all origins; returns the (possibly grown) path store."""
    n, m, zones = graph[0].size - 1, graph[2].size, demand.shape[0]
    cost, der = np.zeros(m), np.zeros(m)
    _bpr(np.arange(m), x, net_arrays, cost, der)
    bufs = tree_buffers(n, m)
    pred, wanted = bufs[1], bufs[4]
    path, mark = np.empty(n, np.int32), np.zeros(m, np.int64)
    for o in range(zones):
        for d in range(zones):
            wanted[d] = demand[o, d] > 0 and d != o
        dijkstra_tree(o, graph, cost, first_thru, zones, bufs)
        for d in range(zones):
            if not wanted[d] or pred[d] < 0:
                continue
            wanted[d] = False
            k, v = 0, d
            while v != o:
                path[k] = pred[v]
                v = graph[1][pred[v]]
                k += 1
            od = o * zones + d
            first = store[0][od] < 0
            best, store = _find_or_add(od, path[:k][::-1].copy(), k, store, counts)
            if first:  # the OD's first path carries all its demand
                store[4][best] = demand[o, d]
                sp = store[5][store[2][best] : store[2][best] + k]
                x[sp] += demand[o, d]
                _bpr(sp, x, net_arrays, cost, der)
            else:
                _shift(od, best, store, x, net_arrays, cost, der, mark)
        wanted[:zones] = False
    return store


@njit(cache=True)
def _path_link_flows(store, n_ods, x):
    """Rebuild link flows from path flows (drops the round-off of many small shifts)."""
    od_first, nxt, start, length, flow, links = store
    x[:] = 0.0
    for od in range(n_ods):
        p = od_first[od]
        while p >= 0:
            x[links[start[p] : start[p] + length[p]]] += flow[p]
            p = nxt[p]


def assign_paths(
    net: Network,
    demand: np.ndarray,
    target_gap: float,
    max_iterations: int,
    callback: Callable | None = None,
) -> AssignmentResult:
    """Gradient projection to `target_gap`; same result type as `twin.traffic.assignment.assign`."""

    start_time = time.perf_counter()
    graph = (net.indptr, net.tail, net.head)
    arrays = (net.free_flow_time, net.capacity, net.b, net.power, net.fixed_cost())
    zones = net.zones
    store = (
        np.full(zones * zones, -1, np.int64),
        np.full(1024, -1, np.int64),
        np.zeros(1024, np.int64),
        np.zeros(1024, np.int64),
        np.zeros(1024, np.float64),
        np.zeros(16384, np.int32),
    )
    counts = np.zeros(2, np.int64)
    x, gaps, lost = np.zeros(net.n_links), [], 0.0
    for iteration in range(1, max_iterations + 1):
        store = _sweep(graph, arrays, net.first_thru_index, demand, x, store, counts)
        _path_link_flows(store, zones * zones, x)
        cost = cost_and_derivative(x, net)[0]
        _, sptt, lost = all_or_nothing(net, cost, demand)
        tstt = float(cost @ x)
        gaps.append((tstt - sptt) / tstt if tstt > 0 else 0.0)
        if callback is not None:
            elapsed = time.perf_counter() - start_time
            callback(Progress(iteration, gaps[-1], 1.0, elapsed, "gp"))
        if gaps[-1] <= target_gap:
            break
    return build_result(net, demand, x, gaps, target_gap, lost, "gp", "bpr")
