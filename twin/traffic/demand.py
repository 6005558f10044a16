"""Demand: OD matrices from files, a doubly-constrained gravity model, zones from a grid.

Everything is array based so the city model can pass productions, attractions and a cost
matrix built from published data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from twin.traffic.errors import ConfigError, DemandError, NetworkFormatError

Deterrence = Callable[[np.ndarray, float], np.ndarray]


def _exponential(cost: np.ndarray, beta: float) -> np.ndarray:
    return np.exp(-beta * cost)


def _power(cost: np.ndarray, beta: float) -> np.ndarray:
    return np.power(np.maximum(cost, 1e-12), -beta)


def _gamma(cost: np.ndarray, beta: float, alpha: float = 1.0) -> np.ndarray:
    """Combined (gamma) deterrence c^-alpha * exp(-beta c); beta is the calibrated one."""
    return np.power(np.maximum(cost, 1e-12), -alpha) * np.exp(-beta * cost)


DETERRENCE: dict[str, Deterrence] = {
    "exponential": _exponential,
    "power": _power,
    "gamma": _gamma,
}


@dataclass(frozen=True)
class GravityResult:
    """A balanced OD matrix, the deterrence parameter used and its mean trip cost."""

    matrix: np.ndarray
    beta: float
    mean_cost: float
    iterations: int


def read_trips_csv(path: str | Path, zone_ids: np.ndarray) -> np.ndarray:
    """Read `origin,destination,trips` rows into a dense matrix ordered like `zone_ids`."""
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise NetworkFormatError(path, None, f"cannot read CSV ({err})") from None
    missing = {"origin", "destination", "trips"} - set(table.columns)
    if missing:
        raise NetworkFormatError(path, 1, f"missing column(s): {', '.join(sorted(missing))}")
    trips = pd.to_numeric(table["trips"], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(trips) | (trips < 0)
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 2
        raise NetworkFormatError(path, line, "trips must be a non-negative number")
    pos = {int(z): i for i, z in enumerate(zone_ids)}
    matrix = np.zeros((len(zone_ids),) * 2)
    for row, (o, d, t) in enumerate(zip(table["origin"], table["destination"], trips, strict=True)):
        if int(o) not in pos or int(d) not in pos:
            raise NetworkFormatError(path, row + 2, f"unknown zone in pair ({o}, {d})")
        matrix[pos[int(o)], pos[int(d)]] += t
    return matrix


def write_trips_csv(matrix: np.ndarray, zone_ids: np.ndarray, path: str | Path) -> None:
    """Write the non-zero cells of a matrix as `origin,destination,trips`."""
    o, d = np.nonzero(matrix)
    pd.DataFrame({"origin": zone_ids[o], "destination": zone_ids[d], "trips": matrix[o, d]}).to_csv(
        path, index=False
    )


def furness(
    seed: np.ndarray,
    productions: np.ndarray,
    attractions: np.ndarray,
    *,
    tol: float = 1e-9,
    max_iter: int = 1000,
) -> tuple[np.ndarray, int]:
    """Balance `seed` so row sums match productions and column sums attractions (IPF)."""
    matrix = seed.astype(np.float64, copy=True)
    for iteration in range(1, max_iter + 1):
        rows = matrix.sum(axis=1)
        matrix *= np.divide(productions, rows, out=np.zeros_like(rows), where=rows > 0)[:, None]
        cols = matrix.sum(axis=0)
        matrix *= np.divide(attractions, cols, out=np.zeros_like(cols), where=cols > 0)
        error = np.abs(matrix.sum(axis=1) - productions).max()
        if error <= tol * max(productions.max(), 1.0):
            return matrix, iteration
    return matrix, max_iter


def gravity(
    productions: np.ndarray,
    attractions: np.ndarray,
    cost_matrix: np.ndarray,
    *,
    deterrence: str = "exponential",
    beta: float | None = None,
    target_mean: float | None = None,
    alpha: float = 1.0,
) -> GravityResult:
    """Doubly-constrained gravity model T_ij = a_i P_i b_j A_j f(c_ij).

    Give either `beta` or `target_mean` (the parameter is then calibrated so the mean trip cost
    matches it). Attractions are scaled to the production total, which is conserved.
    `alpha` is the fixed power of the combined (gamma) deterrence c^-alpha * exp(-beta c).
    """
    prod, attr, cost = _check_gravity(productions, attractions, cost_matrix, deterrence)
    if (beta is None) == (target_mean is None):
        raise ConfigError("beta", "give exactly one of beta or target_mean")
    fn = DETERRENCE[deterrence]
    if deterrence == "gamma":
        fn = partial(_gamma, alpha=float(alpha))
    if target_mean is not None:
        beta = calibrate_beta(prod, attr, cost, fn, float(target_mean))
    matrix, iterations = furness(prod[:, None] * attr[None, :] * fn(cost, beta), prod, attr)
    return GravityResult(matrix, float(beta), mean_cost(matrix, cost), iterations)


def _check_gravity(productions, attractions, cost_matrix, deterrence):
    prod = np.asarray(productions, dtype=np.float64)
    attr = np.asarray(attractions, dtype=np.float64)
    cost = np.asarray(cost_matrix, dtype=np.float64)
    if deterrence not in DETERRENCE:
        known = ", ".join(DETERRENCE)
        raise ConfigError("deterrence", f"{deterrence!r} is not one of {known}")
    if cost.shape != (prod.size, attr.size):
        raise DemandError(f"cost matrix is {cost.shape}, expected {(prod.size, attr.size)}")
    if (prod < 0).any() or (attr < 0).any() or attr.sum() <= 0:
        raise DemandError("productions and attractions must be >= 0 with a positive total")
    if not np.isfinite(cost).all() or (cost < 0).any():
        raise DemandError("the cost matrix must be finite and non-negative")
    return prod, attr * prod.sum() / attr.sum(), cost


def mean_cost(matrix: np.ndarray, cost: np.ndarray) -> float:
    """Trip-weighted mean cost of a matrix."""
    total = matrix.sum()
    return float((matrix * cost).sum() / total) if total > 0 else 0.0


def calibrate_beta(
    prod: np.ndarray, attr: np.ndarray, cost: np.ndarray, fn: Deterrence, target: float
) -> float:
    """Find beta whose balanced matrix has mean cost `target` (bisection; mean falls with beta)."""

    def mean_at(beta: float) -> float:
        seed = prod[:, None] * attr[None, :] * fn(cost, beta)
        return mean_cost(furness(seed, prod, attr, tol=1e-7)[0], cost)

    if target >= mean_at(0.0):
        raise DemandError(f"target mean cost {target:g} is not below the beta=0 mean")
    lo, hi = 0.0, 1.0 / max(float(cost.mean()), 1e-12)
    for _ in range(60):
        if mean_at(hi) <= target:
            break
        lo, hi = hi, hi * 2.0
    else:
        raise DemandError(f"target mean cost {target:g} is below what the costs can give")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if mean_at(mid) > target else (lo, mid)
        if hi - lo <= 1e-10 * max(hi, 1e-12):
            break
    return 0.5 * (lo + hi)


def peak_hour(matrix: np.ndarray, share: float) -> np.ndarray:
    """The peak-hour matrix: a share (0..1] of daily trips."""
    if not 0 < share <= 1:
        raise ConfigError("share", f"{share!r} must be in (0, 1]")
    return matrix * share


def grid_zones(points: np.ndarray, cell_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Zones from a regular grid over (n, 2) points: zone index per point and zone centres.

    Only cells holding at least one point become zones, numbered row by row.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] == 0:
        raise DemandError("points must be a non-empty (n, 2) array")
    if not cell_size > 0:
        raise ConfigError("cell_size", f"{cell_size!r} must be positive")
    origin = pts.min(axis=0)
    cells = np.floor((pts - origin) / cell_size).astype(np.int64)
    keys = cells[:, 1] * (cells[:, 0].max() + 1) + cells[:, 0]
    unique, zone_of_point = np.unique(keys, return_inverse=True)
    ncols = cells[:, 0].max() + 1
    centres = origin + (np.column_stack([unique % ncols, unique // ncols]) + 0.5) * cell_size
    return zone_of_point, centres
