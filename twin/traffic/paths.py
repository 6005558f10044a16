"""Shortest paths and all-or-nothing loading, compiled with numba.

One Dijkstra tree per origin on the CSR arrays; the origin's demand is loaded by walking the
tree in reverse settle order. Origins are split over threads with `prange`; each thread keeps
its own tree buffers and link-flow row, so memory is O(threads x (nodes + links)).

The heap is a 4-ary min-heap of (distance, node) in two arrays with lazy deletion: a node may be
pushed again with a smaller key and its stale entries are skipped when popped. Four children
per node make it shallower; it measured 30% faster than a binary heap on grid networks.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from twin.traffic.network import Network

#: Busy-waiting OpenMP workers steal the core the main thread needs for the line search between
#: parallel loads: on a shared 2-core machine this made iterations 30x slower. Entry points
#: (`civic`, the benchmarks, the test suite) set it before the first parallel loop; importing
#: this module changes nothing.
THREAD_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


@njit(cache=True, inline="always")
def _push(keys, vals, size, key, val):
    """Insert into the heap; return the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 2
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
        first = 4 * i + 1
        if first >= size:
            break
        best, best_key = first, keys[first]
        for child in range(first + 1, min(first + 4, size)):
            if keys[child] < best_key:
                best, best_key = child, keys[child]
        if best_key >= key:
            break
        keys[i] = best_key
        vals[i] = vals[best]
        i = best
    keys[i] = key
    vals[i] = val
    return top_key, top_val, size


@njit(cache=True)
def _leaf_bound(dist, wanted, zones, first_thru, origin):
    """Largest tentative distance of the wanted zones that are leaves (never expanded)."""
    bound = 0.0
    for z in range(min(zones, first_thru)):
        if wanted[z] and z != origin and dist[z] > bound:
            bound = dist[z]
    return bound


@njit(cache=True)
def _count_wanted(wanted, zones, first_thru, origin):
    """Wanted nodes settled through the heap, and wanted blocked zones (leaves)."""
    n_open, n_leaves = 0, 0
    for z in range(zones):
        if wanted[z]:
            if z < first_thru and z != origin:
                n_leaves += 1
            else:
                n_open += 1
    return n_open, n_leaves


@njit(cache=True)
def dijkstra_tree(origin, graph, cost, first_thru, zones, bufs):
    """Dijkstra from `origin`, stopping once every zone flagged in `wanted` has its distance.

    `graph` is (indptr, tail, head); `bufs` comes from `tree_buffers`. Nodes below `first_thru`
    other than the origin are leaves: they get a distance and a predecessor but never enter the
    heap, so no path passes through them. Returns the number of settled (expanded) nodes, in
    settle order in `order`; leaves are not listed there.
    """
    indptr, _, head = graph
    dist, pred, order, _, wanted, heap = bufs
    keys, vals = heap
    dist[:] = np.inf
    pred[:] = -1
    n_open, unreached = _count_wanted(wanted, zones, first_thru, origin)
    bound = np.inf if n_open + unreached > 0 else -1.0  # -1: nothing wanted, build the full tree
    dist[origin] = 0.0
    size = _push(keys, vals, 0, 0.0, origin)
    settled = 0
    while size > 0:
        d, u, size = _pop(keys, vals, size)
        if d > dist[u]:
            continue  # stale heap entry
        if d >= bound >= 0.0:
            break  # every leaf we want already has its final distance
        order[settled] = u
        settled += 1
        if wanted[u]:
            n_open -= 1
        for link in range(indptr[u], indptr[u + 1]):
            v = head[link]
            nd = d + cost[link]
            if nd < dist[v]:
                if v < first_thru and v != origin:
                    if wanted[v] and dist[v] == np.inf:
                        unreached -= 1
                else:
                    size = _push(keys, vals, size, nd, v)
                dist[v] = nd
                pred[v] = link
        if n_open == 0 and unreached == 0 and bound == np.inf:
            bound = _leaf_bound(dist, wanted, zones, first_thru, origin)
    return settled


@njit(cache=True)
def tree_buffers(n, m):
    """Per-thread tree buffers: dist, pred, order, node load, wanted flags, heap."""
    heap = (np.empty(m + 1, np.float64), np.empty(m + 1, np.int32))
    return (
        np.empty(n, np.float64),
        np.empty(n, np.int64),
        np.empty(n, np.int32),
        np.zeros(n, np.float64),
        np.zeros(n, np.bool_),
        heap,
    )


@njit(cache=True)
def _load_origin(o, row, graph, cost, first_thru, flows, bufs):
    """Build the tree of origin `o` and add its demand to `flows`; return (sptt, unreachable)."""
    tail = graph[1]
    dist, pred, order, load, wanted, _ = bufs
    zones = row.size
    any_wanted = False
    for d in range(zones):
        if row[d] > 0.0 and d != o:
            wanted[d] = True
            any_wanted = True
    if not any_wanted:
        return 0.0, 0.0
    settled = dijkstra_tree(o, graph, cost, first_thru, zones, bufs)
    sptt, lost = 0.0, 0.0
    for d in range(zones):
        if not wanted[d]:
            continue
        wanted[d] = False
        if dist[d] == np.inf:
            lost += row[d]
            continue
        sptt += row[d] * dist[d]
        load[d] += row[d]
        if d < first_thru:  # a leaf: not in the settle order, hand its load on now
            link = pred[d]
            flows[link] += load[d]
            load[tail[link]] += load[d]
            load[d] = 0.0
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
def _aon(graph, cost, demand, first_thru, n_chunks):
    """Load every origin's demand; origins are dealt round-robin to `n_chunks` threads."""
    n, m, zones = graph[0].size - 1, graph[2].size, demand.shape[0]
    flows = np.zeros((n_chunks, m))
    sptt = np.zeros(n_chunks)
    lost = np.zeros(n_chunks)
    for c in prange(n_chunks):
        bufs = tree_buffers(n, m)
        for o in range(c, zones, n_chunks):
            s, u = _load_origin(o, demand[o], graph, cost, first_thru, flows[c], bufs)
            sptt[c] += s
            lost[c] += u
    total = flows[0].copy()
    for c in range(1, n_chunks):
        total += flows[c]
    return total, sptt.sum(), lost.sum()


@njit(parallel=True, cache=True)
def _skim(graph, cost, fields, zones, first_thru):
    """Sum each row of `fields` (k x links) along the shortest-cost tree of every zone."""
    tail = graph[1]
    n, m, k = graph[0].size - 1, tail.size, fields.shape[0]
    out = np.full((k, zones, zones), np.inf)
    for o in prange(zones):
        bufs = tree_buffers(n, m)
        dist, pred, order, wanted = bufs[0], bufs[1], bufs[2], bufs[4]
        wanted[:zones] = True
        acc = np.zeros((k, n))
        settled = dijkstra_tree(o, graph, cost, first_thru, zones, bufs)
        for i in range(1, settled):
            _accumulate(acc, fields, tail, pred[order[i]], order[i])
        for d in range(min(zones, first_thru)):
            if d != o and dist[d] < np.inf:
                _accumulate(acc, fields, tail, pred[d], d)  # zone leaves come last
        for d in range(zones):
            if dist[d] < np.inf:
                out[:, o, d] = acc[:, d]
    return out


@njit(cache=True, inline="always")
def _accumulate(acc, fields, tail, link, v):
    for f in range(fields.shape[0]):
        acc[f, v] = acc[f, tail[link]] + fields[f, link]


def _graph(net: Network) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return net.indptr, net.tail, net.head


def all_or_nothing(
    net: Network, cost: np.ndarray, demand: np.ndarray, threads: int | None = None
) -> tuple[np.ndarray, float, float]:
    """Load `demand` on shortest paths under `cost`.

    Returns link flows, the shortest-path total cost (SPTT) and the demand with no path.
    """
    demand = np.ascontiguousarray(demand, dtype=np.float64)
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    most = numba.config.NUMBA_NUM_THREADS
    threads = min(threads or most, most)
    # more chunks than threads, handed out one at a time: a thread that the OS pauses (other
    # jobs on the machine) does not leave the others idle at the end of the loop
    chunks = 1 if threads == 1 else 4 * threads
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        with numba.parallel_chunksize(1):
            return _aon(_graph(net), cost, demand, net.first_thru_index, chunks)
    finally:
        numba.set_num_threads(previous)


def skim(net: Network, cost: np.ndarray, fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Zone-to-zone sums of each link field along the shortest-`cost` paths (inf if no path)."""
    names = list(fields)
    stack = np.ascontiguousarray(np.vstack([fields[k] for k in names]), dtype=np.float64)
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    out = _skim(_graph(net), cost, stack, net.zones, net.first_thru_index)
    return dict(zip(names, out, strict=True))


def shortest_tree(net: Network, cost: np.ndarray, origin: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and predecessor links from node index `origin` to every node (-1: none)."""
    bufs = tree_buffers(net.n_nodes, net.n_links)
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    dijkstra_tree(origin, _graph(net), cost, net.first_thru_index, 0, bufs)
    return bufs[0], bufs[1]
