"""The road network as NumPy arrays: nodes, zones and directed links in CSR order by tail node."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin.traffic.errors import NetworkError

FLOAT_FIELDS = ("length", "free_flow_time", "capacity", "lanes", "speed", "b", "power", "toll")


@dataclass(frozen=True, eq=False)
class Network:
    """Directed network; zones are the first `zones` nodes, links are sorted by tail node.

    Nodes with an index below `first_thru_index` (zone centroids) may start or end a path but
    are never passed through. `source_id` maps a link back to a published feature (-1 if none).
    """

    node_ids: np.ndarray
    zones: int
    first_thru_index: int
    indptr: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    length: np.ndarray
    free_flow_time: np.ndarray
    capacity: np.ndarray
    lanes: np.ndarray
    speed: np.ndarray
    b: np.ndarray
    power: np.ndarray
    toll: np.ndarray
    link_type: np.ndarray
    source_id: np.ndarray
    toll_factor: float = 0.0
    distance_factor: float = 0.0
    name: str = field(default="")

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_ids.size)

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return int(self.tail.size)

    @property
    def first_thru_node(self) -> int:
        """The TNTP `<FIRST THRU NODE>` id: the first node id that may be passed through."""
        if self.first_thru_index >= self.n_nodes:
            return int(self.node_ids.max()) + 1
        return int(self.node_ids[self.first_thru_index])

    @property
    def from_id(self) -> np.ndarray:
        """External id of each link's tail node."""
        return self.node_ids[self.tail]

    @property
    def to_id(self) -> np.ndarray:
        """External id of each link's head node."""
        return self.node_ids[self.head]

    def fixed_cost(self) -> np.ndarray:
        """Flow-independent part of the generalised cost: toll and distance, weighted."""
        return self.toll_factor * self.toll + self.distance_factor * self.length

    def link_index(self, from_ids: np.ndarray, to_ids: np.ndarray) -> np.ndarray:
        """Index of the link for each (from, to) id pair; -1 where no such link exists."""
        from_ids = np.asarray(from_ids, dtype=np.int64)
        to_ids = np.asarray(to_ids, dtype=np.int64)
        top = max(int(self.node_ids.max(initial=0)), int(from_ids.max(initial=0)))
        base = max(top, int(to_ids.max(initial=0))) + 1
        keys = self.from_id * base + self.to_id
        order = np.argsort(keys, kind="stable")
        want = from_ids * base + to_ids
        pos = np.clip(np.searchsorted(keys[order], want), 0, max(keys.size - 1, 0))
        found = keys[order][pos] == want if keys.size else np.zeros(want.size, bool)
        return np.where(found, order[pos], -1)


def build_network(
    node_ids: np.ndarray,
    from_ids: np.ndarray,
    to_ids: np.ndarray,
    *,
    zones: int,
    first_thru_index: int | None = None,
    toll_factor: float = 0.0,
    distance_factor: float = 0.0,
    name: str = "",
    **links: object,
) -> Network:
    """Build a `Network` from per-link arrays keyed by external node ids.

    `node_ids` lists every node, zones first. Link arrays (`length`, `free_flow_time`,
    `capacity`, `lanes`, `speed`, `b`, `power`, `toll`, `link_type`, `source_id`) are optional
    except `free_flow_time` and `capacity`; links are re-sorted by tail node.
    """
    node_ids = np.asarray(node_ids, dtype=np.int64)
    index = _id_index(node_ids)
    tail, head = index(from_ids, "from"), index(to_ids, "to")
    arrays = _link_arrays(tail.size, links)
    order = np.argsort(tail, kind="stable")
    arrays = {k: v[order] for k, v in arrays.items()}
    tail, head = tail[order], head[order]
    indptr = np.zeros(node_ids.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=node_ids.size), out=indptr[1:])
    if not 0 <= zones <= node_ids.size:
        raise NetworkError(f"zones={zones} must be between 0 and the node count {node_ids.size}")
    thru = zones if first_thru_index is None else int(first_thru_index)
    factors = {"toll_factor": float(toll_factor), "distance_factor": float(distance_factor)}
    net = Network(node_ids, int(zones), thru, indptr, tail, head, **arrays, **factors, name=name)
    _validate(net)
    return net


def _id_index(node_ids: np.ndarray):
    """Return a function mapping external ids to internal indices, failing on unknown ids."""
    if np.unique(node_ids).size != node_ids.size:
        raise NetworkError("node ids are not unique")
    sorter = np.argsort(node_ids)
    sorted_ids = node_ids[sorter]

    def index(ids: np.ndarray, end: str) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, max(sorted_ids.size - 1, 0))
        bad = sorted_ids[pos] != ids if sorted_ids.size else np.ones(ids.size, bool)
        if bad.any():
            raise NetworkError(f"link {end} node {int(ids[bad][0])} is not a known node id")
        return sorter[pos].astype(np.int32)

    return index


def _link_arrays(n: int, links: dict[str, object]) -> dict[str, np.ndarray]:
    """Coerce link attribute arrays, filling defaults for optional ones."""
    defaults = {"length": 0.0, "lanes": 1.0, "speed": 0.0, "b": 0.15, "power": 4.0, "toll": 0.0}
    unknown = set(links) - set(FLOAT_FIELDS) - {"link_type", "source_id"}
    if unknown:
        raise NetworkError(f"unknown link attribute(s): {', '.join(sorted(unknown))}")
    out: dict[str, np.ndarray] = {}
    for name in FLOAT_FIELDS:
        if name not in links and name not in defaults:
            raise NetworkError(f"link attribute {name!r} is required")
        out[name] = _column(links.get(name, defaults.get(name)), n, np.float64, name)
    out["link_type"] = _column(links.get("link_type", 1), n, np.int64, "link_type")
    out["source_id"] = _column(links.get("source_id", -1), n, np.int64, "source_id")
    return out


def _column(value: object, n: int, dtype: type, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise NetworkError(f"link attribute {name!r} has {arr.size} values for {n} links")
    return arr.copy()


def _validate(net: Network) -> None:
    """Reject values that would make costs undefined."""
    for name in ("free_flow_time", "capacity", "b", "power", "length", "toll"):
        if not np.isfinite(getattr(net, name)).all():
            raise NetworkError(f"link attribute {name!r} has non-finite values")
    if (net.free_flow_time < 0).any():
        raise NetworkError("free_flow_time must not be negative")
    congestible = net.b > 0
    if (net.capacity[congestible] <= 0).any():
        bad = int(np.flatnonzero(congestible & (net.capacity <= 0))[0])
        link = f"{net.node_ids[net.tail[bad]]}->{net.node_ids[net.head[bad]]}"
        raise NetworkError(f"link {link} has b > 0 but capacity <= 0")
    if (net.b < 0).any() or (net.power < 0).any():
        raise NetworkError("BPR b and power must not be negative")
    if (net.fixed_cost() + net.free_flow_time < 0).any():
        raise NetworkError("generalised free-flow cost must not be negative")


@dataclass(frozen=True)
class ComponentReport:
    """What `largest_strong_component` dropped: node ids, zone ids and link count."""

    kept_nodes: np.ndarray
    dropped_node_ids: np.ndarray
    dropped_zone_ids: np.ndarray
    dropped_links: int


def largest_strong_component(net: Network) -> tuple[Network, ComponentReport]:
    """Keep the largest strongly connected component; report the nodes and links removed.

    `kept_nodes` holds the old node indices in their new order (zones stay first), so a demand
    matrix can be cut with `demand[np.ix_(k, k)]` where `k = kept_nodes[:new.zones]`.
    """
    from scipy.sparse import csr_matrix  # imported here: scipy costs ~35 MB in every process
    from scipy.sparse.csgraph import connected_components

    graph = csr_matrix((np.ones(net.n_links), (net.tail, net.head)), (net.n_nodes,) * 2)
    _, labels = connected_components(graph, directed=True, connection="strong")
    keep = labels == np.bincount(labels).argmax()
    kept_nodes = np.flatnonzero(keep)
    new_index = np.full(net.n_nodes, -1, dtype=np.int64)
    new_index[kept_nodes] = np.arange(kept_nodes.size)
    link_keep = keep[net.tail] & keep[net.head]
    arrays = {k: getattr(net, k)[link_keep] for k in (*FLOAT_FIELDS, "link_type", "source_id")}
    new = build_network(
        net.node_ids[kept_nodes],
        net.from_id[link_keep],
        net.to_id[link_keep],
        zones=int(keep[: net.zones].sum()),
        first_thru_index=int(keep[: net.first_thru_index].sum()),
        toll_factor=net.toll_factor,
        distance_factor=net.distance_factor,
        name=net.name,
        **arrays,
    )
    dropped = ~keep
    report = ComponentReport(
        kept_nodes,
        net.node_ids[dropped],
        net.node_ids[: net.zones][dropped[: net.zones]],
        int((~link_keep).sum()),
    )
    return new, report
