"""Synthetic TNTP-like grid networks with gravity demand, for scale tests and benchmarks."""

from __future__ import annotations

import numpy as np

from twin.traffic.demand import gravity
from twin.traffic.network import Network, build_network


def _zoned(rows: int, cols: int, zone_step: int) -> np.ndarray:
    """Indices (row-major) of the intersections that get a zone: every zone_step-th one."""
    r, c = np.divmod(np.arange(rows * cols), cols)
    return np.flatnonzero((r % zone_step == 0) & (c % zone_step == 0))


def grid_network(rows: int, cols: int, *, seed: int = 0, zone_step: int = 1) -> Network:
    """A rows x cols street grid with a zone centroid at every `zone_step`-th intersection
    (in both directions; 1: every intersection).

    Zones 1..Z come first and are joined to their intersection by two free-flowing connectors
    (b = 0); zones may not be passed through (first thru node = Z + 1), as in TNTP networks.
    Every fourth street is an arterial with two lanes and a higher speed.
    """
    rng = np.random.default_rng(seed)
    at = _zoned(rows, cols, zone_step)
    zones = at.size
    node = np.arange(rows * cols).reshape(rows, cols) + zones + 1
    pairs = [(node[:, :-1], node[:, 1:], 0), (node[:-1, :], node[1:, :], 1)]
    tails, heads, arterial = [], [], []
    for a, b, axis in pairs:
        line = np.indices(a.shape)[axis ^ 1]  # the street a link runs along
        is_art = (line % 4 == 0).ravel()
        tails += [a.ravel(), b.ravel()]
        heads += [b.ravel(), a.ravel()]
        arterial += [is_art, is_art]
    tail, head, art = np.concatenate(tails), np.concatenate(heads), np.concatenate(arterial)
    length = rng.uniform(0.8, 1.2, tail.size)  # km
    lanes = np.where(art, 2.0, 1.0)
    speed = np.where(art, 60.0, 40.0) * rng.uniform(0.9, 1.1, tail.size)  # km/h
    capacity = lanes * rng.uniform(700.0, 1000.0, tail.size)
    centroid = np.arange(1, zones + 1)
    n_conn = 2 * zones
    return build_network(
        np.arange(1, zones + rows * cols + 1),
        np.concatenate([tail, centroid, node.ravel()[at]]),
        np.concatenate([head, node.ravel()[at], centroid]),
        zones=zones,
        first_thru_index=zones,
        length=np.concatenate([length, np.full(n_conn, 0.1)]),
        free_flow_time=np.concatenate([60.0 * length / speed, np.full(n_conn, 0.5)]),
        capacity=np.concatenate([capacity, np.full(n_conn, 1e5)]),
        lanes=np.concatenate([lanes, np.ones(n_conn)]),
        speed=np.concatenate([speed, np.full(n_conn, 12.0)]),
        b=np.concatenate([np.full(tail.size, 0.15), np.zeros(n_conn)]),
        power=np.full(tail.size + n_conn, 4.0),
        link_type=np.concatenate([np.where(art, 2, 1), np.full(n_conn, 9)]),
        name=f"grid{rows}x{cols}",
    )


def grid_demand(
    rows: int, cols: int, *, trips_per_zone: float = 60.0, seed: int = 0, zone_step: int = 1
) -> np.ndarray:
    """Gravity demand between the grid's zones; Manhattan distance, exponential deterrence."""
    rng = np.random.default_rng(seed + 1)
    at = _zoned(rows, cols, zone_step)
    zones = at.size
    r, c = np.divmod(at, cols)
    dist = (np.abs(r[:, None] - r[None, :]) + np.abs(c[:, None] - c[None, :])) / zone_step
    dist = dist.astype(np.float64)
    weight = rng.uniform(0.5, 1.5, zones)
    prod = trips_per_zone * weight / weight.mean()
    attr = rng.permutation(prod)
    np.fill_diagonal(dist, 0.5)
    return gravity(prod, attr, dist, deterrence="exponential", beta=0.25).matrix
