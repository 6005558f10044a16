"""Shortest paths and all-or-nothing loading, compiled with numba.

One Dijkstra tree (binary heap on the CSR arrays) per origin; the origin's demand is loaded by
walking the tree in reverse settle order. Origins are split over threads with `prange`; each
thread keeps its own tree buffers and link-flow row, so memory is O(threads x (nodes + links)).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from twin.network import Network


@njit(cache=True, inline="always")
def _push(keys, vals, size, key, val):
    """Insert into a binary min-heap held in two arrays; return the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        vals[i] = vals[parent]
        i = parent
    keys[i] = key
    vals[i] = val
    return size + 1


@njit(cache=True, inline="always")
def _pop(keys, vals, size):
    """Remove the smallest entry; return (key, value, new size)."""
    top_key, top_val = keys[0], vals[0]
    size -= 1
    key, val = keys[size], vals[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= key:
            break
        keys[i] = keys[child]
        vals[i] = vals[child]
        i = child
    keys[i] = key
    vals[i] = val
    return top_key, top_val, size


@njit(cache=True)
def _tree(origin, indptr, head, cost, first_thru, wanted, n_wanted, dist, pred, order, done, heap):
    """Dijkstra from `origin`; stop once `n_wanted` nodes flagged in `wanted` are settled.

    Nodes below `first_thru` other than the origin are settled but never expanded, so paths
    cannot pass through them. Returns the number of settled nodes, listed in `order`.
    """
    keys, vals = heap
    dist[:] = np.inf
    pred[:] = -1
    done[:] = False
    dist[origin] = 0.0
    size = _push(keys, vals, 0, 0.0, origin)
    settled = 0
    while size > 0:
        d, u, size = _pop(keys, vals, size)
        if done[u]:
            continue
        done[u] = True
        order[settled] = u
        settled += 1
        if wanted[u]:
            n_wanted -= 1
            if n_wanted == 0:
                break
        if u < first_thru and u != origin:
            continue
        for link in range(indptr[u], indptr[u + 1]):
            v = head[link]
            nd = d + cost[link]
            if nd < dist[v]:
                dist[v] = nd
                pred[v] = link
                size = _push(keys, vals, size, nd, v)
    return settled


@njit(cache=True)
def _buffers(n, m):
    """Per-thread tree buffers: dist, pred, order, done, node load, wanted flags, heap."""
    heap = (np.empty(m + 1, np.float64), np.empty(m + 1, np.int32))
    return (
        np.empty(n, np.float64),
        np.empty(n, np.int64),
        np.empty(n, np.int32),
        np.zeros(n, np.bool_),
        np.zeros(n, np.float64),
        np.zeros(n, np.bool_),
        heap,
    )


@njit(cache=True)
def _load_origin(o, row, indptr, tail, head, cost, first_thru, flows, bufs):
    """Build the tree of origin `o` and add its demand to `flows`; return (sptt, unreachable)."""
    dist, pred, order, done, load, wanted, heap = bufs
    n_wanted = 0
    for d in range(row.size):
        if row[d] > 0.0 and d != o:
            wanted[d] = True
            n_wanted += 1
    if n_wanted == 0:
        return 0.0, 0.0
    settled = _tree(o, indptr, head, cost, first_thru, wanted, n_wanted, dist, pred, order, done, heap)
    sptt, lost = 0.0, 0.0
    for d in range(row.size):
        if wanted[d]:
            if done[d]:
                load[d] = row[d]
                sptt += row[d] * dist[d]
            else:
                lost += row[d]
            wanted[d] = False
    for i in range(settled - 1, 0, -1):
        v = order[i]
        if load[v] != 0.0:
            link = pred[v]
            flows[link] += load[v]
            load[tail[link]] += load[v]
            load[v] = 0.0
    load[o] = 0.0
    return sptt, lost


@njit(parallel=True, cache=True)
def _aon(indptr, tail, head, cost, demand, first_thru, n_chunks):
    n, m, zones = indptr.size - 1, head.size, demand.shape[0]
    flows = np.zeros((n_chunks, m))
    sptt = np.zeros(n_chunks)
    lost = np.zeros(n_chunks)
    for c in prange(n_chunks):
        bufs = _buffers(n, m)
        for o in range(c, zones, n_chunks):
            s, u = _load_origin(o, demand[o], indptr, tail, head, cost, first_thru, flows[c], bufs)
            sptt[c] += s
            lost[c] += u
    total = flows[0].copy()
    for c in range(1, n_chunks):
        total += flows[c]
    return total, sptt.sum(), lost.sum()


@njit(parallel=True, cache=True)
def _skim(indptr, tail, head, cost, fields, zones, first_thru):
    """Sum each row of `fields` (k x links) along the shortest-cost tree of every zone."""
    n, m, k = indptr.size - 1, head.size, fields.shape[0]
    out = np.full((k, zones, zones), np.inf)
    wanted = np.zeros(n, np.bool_)
    wanted[:zones] = True
    for o in prange(zones):
        dist, pred, order, done, _, _, heap = _buffers(n, m)
        acc = np.zeros((k, n))
        settled = _tree(o, indptr, head, cost, first_thru, wanted, zones, dist, pred, order, done, heap)
        for i in range(1, settled):
            v = order[i]
            link = pred[v]
            for f in range(k):
                acc[f, v] = acc[f, tail[link]] + fields[f, link]
        for d in range(zones):
            if done[d]:
                for f in range(k):
                    out[f, o, d] = acc[f, d]
    return out


def all_or_nothing(
    net: Network, cost: np.ndarray, demand: np.ndarray, threads: int | None = None
) -> tuple[np.ndarray, float, float]:
    """Load `demand` on shortest paths under `cost`.

    Returns link flows, the shortest-path total cost (SPTT) and the demand with no path.
    """
    chunks = threads or numba.get_num_threads()
    demand = np.ascontiguousarray(demand, dtype=np.float64)
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    return _aon(net.indptr, net.tail, net.head, cost, demand, net.first_thru_index, chunks)


def skim(net: Network, cost: np.ndarray, fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Zone-to-zone sums of each link field along the shortest-`cost` paths (inf if no path)."""
    names = list(fields)
    stack = np.ascontiguousarray(np.vstack([fields[k] for k in names]), dtype=np.float64)
    out = _skim(net.indptr, net.tail, net.head, np.asarray(cost, np.float64), stack, net.zones,
                net.first_thru_index)
    return dict(zip(names, out))


def shortest_tree(net: Network, cost: np.ndarray, origin: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and predecessor links from node index `origin` to every node (-1: none)."""
    n, m = net.n_nodes, net.n_links
    dist, pred, order, done, _, wanted, heap = _buffers(n, m)
    cost = np.asarray(cost, np.float64)
    _tree(origin, net.indptr, net.head, cost, net.first_thru_index, wanted, -1, dist, pred, order,
          done, heap)
    return np.where(done, dist, np.inf), pred
