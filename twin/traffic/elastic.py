"""Elastic demand: destination and mode choice solved together with the car assignment.

The combined problem (Evans 1976; Oppenheim 1995 for the nested logit) minimises the Beckmann
integral of the car links plus the entropy terms of the choice model. Each outer iteration takes
Evans' step: at the current car costs the choice model gives target trips T* and their
all-or-nothing loading y; an exact line search on the combined objective moves trips and flows
together towards (T*, y); then BFW re-equilibrates the car flows for the new trips, warm-started
from that point. Convergence is measured by TAG unit M2's demand/supply gap

    %GAP = sum C(T) |D(C(T)) - T| / sum C(T) T

(T the trips used, C their costs, D the trips the choice model wants at those costs) next to the
assignment's relative gap: both are reported and both must reach their targets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin.traffic.assignment import AssignmentConfig, assign
from twin.traffic.choice import ChoiceModel, choose
from twin.traffic.errors import ConfigError, DemandError
from twin.traffic.network import Network
from twin.traffic.paths import all_or_nothing
from twin.traffic.results import AssignmentResult, Progress
from twin.traffic.vdf import cost_and_derivative

#: The default demand/supply gap: ten times stricter than TAG unit M2's 0.1 % guidance.
DEFAULT_DEMAND_GAP = 1e-4


@dataclass(frozen=True)
class FeedbackConfig:
    """How far to iterate demand against supply."""

    target_gap: float = DEFAULT_DEMAND_GAP
    max_iterations: int = 100

    def __post_init__(self) -> None:
        if not 0 < self.target_gap < 1:
            raise ConfigError("demand target_gap", f"{self.target_gap!r} must be in (0, 1)")
        if not isinstance(self.max_iterations, int) or self.max_iterations < 1:
            raise ConfigError("demand max_iterations", f"{self.max_iterations!r} must be >= 1")


@dataclass(frozen=True, eq=False)
class Market:
    """The demand side as arrays: who travels, where to, and the costs no network changes.

    Choice origins and destinations are network zones (`origin_zone`, `dest_zone`). For the car
    mode, `fixed_cost` holds what is added to the congested zone-to-zone cost (parking, walking
    to the car); for every other mode the whole generalised cost (inf: not available).
    `fixed_vehicles` are car trips no choice touches (through traffic, say)."""

    productions: np.ndarray  #: (origins,) person trips
    attractions: np.ndarray  #: (destinations,) size terms
    fixed_cost: np.ndarray  #: (modes, origins, destinations) generalised minutes
    origin_zone: np.ndarray
    dest_zone: np.ndarray
    car: int  #: index of the car mode
    occupancy: float  #: persons per car
    fixed_vehicles: np.ndarray  #: (zones, zones)

    def costs(self, car_skim: np.ndarray) -> np.ndarray:
        """Full generalised costs with the congested car skim (zones x zones) put in."""
        out = self.fixed_cost.copy()
        out[self.car] += car_skim[np.ix_(self.origin_zone, self.dest_zone)]
        return out

    def vehicles(self, trips: np.ndarray) -> np.ndarray:
        """The car vehicle matrix (zones x zones) for person trips T[m, o, d]."""
        out = self.fixed_vehicles.copy()
        out[np.ix_(self.origin_zone, self.dest_zone)] += trips[self.car] / self.occupancy
        return out


@dataclass(frozen=True, eq=False)
class ElasticResult:
    """Trips and car flows at the combined equilibrium, and how close it is."""

    assignment: AssignmentResult
    trips: np.ndarray  #: (modes, origins, destinations) person trips used
    costs: np.ndarray  #: their generalised minutes at the final car costs
    gaps: np.ndarray  #: demand/supply %GAP (as a fraction) per outer iteration
    iterations: int
    converged: bool
    target_gap: float

    @property
    def gap(self) -> float:
        """The final demand/supply gap."""
        return float(self.gaps[-1]) if self.gaps.size else 0.0


def demand_gap(costs: np.ndarray, wanted: np.ndarray, trips: np.ndarray) -> float:
    """TAG's %GAP as a fraction: sum C |D - T| / sum C T over available alternatives."""
    ok = np.isfinite(costs)
    total = float((costs[ok] * trips[ok]).sum())
    return float((costs[ok] * np.abs(wanted[ok] - trips[ok])).sum() / total) if total else 0.0


def equilibrate(
    net: Network,
    model: ChoiceModel,
    market: Market,
    assignment: AssignmentConfig,
    feedback: FeedbackConfig | None = None,
    *,
    start: np.ndarray | None = None,
    callback: Callable[[Progress], None] | None = None,
) -> ElasticResult:
    """Trips by mode and destination consistent with the car costs they cause.

    `start` (trips T[m, o, d], e.g. a baseline's) is where the iteration begins; by default the
    choice at free-flow car costs."""
    feedback = feedback or FeedbackConfig()
    t0 = time.perf_counter()
    trips = start if start is not None else _choose(model, market, net, None)
    result = assign(net, market.vehicles(trips), assignment)
    gaps: list[float] = []
    for iteration in range(1, feedback.max_iterations + 1):
        costs = market.costs(result.skim()["cost"])
        wanted = choose(model, market.productions, market.attractions, costs)
        gaps.append(demand_gap(costs, wanted, trips))
        if callback is not None:
            elapsed = time.perf_counter() - t0
            callback(Progress(iteration, gaps[-1], 0.0, elapsed, "demand"))
        if gaps[-1] <= feedback.target_gap or iteration == feedback.max_iterations:
            break
        trips, flow = _evans_step(net, model, market, result, trips, wanted, assignment)
        result = assign(net, market.vehicles(trips), assignment, initial_flow=flow)
    costs = market.costs(result.skim()["cost"])
    converged = bool(gaps[-1] <= feedback.target_gap)
    return ElasticResult(
        result, trips, costs, np.array(gaps), len(gaps), converged, feedback.target_gap
    )


def _choose(model: ChoiceModel, market: Market, net: Network, flow: np.ndarray | None):
    """The choice at the car costs of `flow` (free flow when None)."""
    from twin.traffic.paths import skim

    link_cost = cost_and_derivative(np.zeros(net.n_links) if flow is None else flow, net)[0]
    car = skim(net, link_cost, {"cost": link_cost})["cost"]
    return choose(model, market.productions, market.attractions, market.costs(car))


def _evans_step(net, model, market, result, trips, wanted, assignment):
    """Move trips and flows together to the minimum of the combined objective along the way
    to (wanted, its all-or-nothing loading); returns the new trips and their flows."""
    link_cost = cost_and_derivative(result.flow, net, assignment.vdf)[0]
    y, _, lost = all_or_nothing(net, link_cost, market.vehicles(wanted), assignment.threads)
    if lost > 0:
        raise DemandError(f"{lost:.1f} car trips have no path")
    y = assign(net, market.vehicles(wanted), assignment, initial_flow=y).flow
    d_flow, d_trips = y - result.flow, wanted - trips
    if model.sensitivity <= 0:
        return wanted, y  # no entropy term: demand ignores cost, any step reaches it
    slope = _objective_slope(net, model, market, result.flow, d_flow, trips, d_trips, assignment)
    step = _bisect(slope)
    return trips + step * d_trips, result.flow + step * d_flow


def _objective_slope(net, model, market, flow, d_flow, trips, d_trips, assignment):
    """d/da of the combined objective at (flow + a d_flow, trips + a d_trips)."""
    lam, theta = model.sensitivity, model.theta
    usable = np.isfinite(market.fixed_cost) & (d_trips != 0)
    fixed = np.where(usable, market.fixed_cost, 0.0)
    attraction = np.broadcast_to(market.attractions[None, None, :], trips.shape)
    with np.errstate(divide="ignore"):
        constant = fixed - np.log(attraction) / lam - model.asc.T[:, :, None] / (theta * lam)
    constant = np.where(usable, constant, 0.0)
    nest = 1.0 / (theta * lam) - 1.0 / lam

    def slope(a: float) -> float:
        cost = cost_and_derivative(flow + a * d_flow, net, assignment.vdf)[0]
        t = trips + a * d_trips
        t_om = t.sum(axis=2, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            marginal = constant + np.log(t) / lam + nest * np.log(t_om)
        marginal = np.where(usable, marginal, 0.0)
        return float(market.occupancy * (cost @ d_flow) + (marginal * d_trips).sum())

    return slope


def _bisect(slope: Callable[[float], float], tol: float = 1e-10) -> float:
    """The root of an increasing function on [0, 1] (0 or 1 when it keeps one sign)."""
    if slope(1.0) <= 0:
        return 1.0
    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if slope(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)
