"""Static user-equilibrium assignment: Frank-Wolfe, conjugate FW and bi-conjugate FW.

The three algorithms differ only in how they pick the target point `s` of the next step
(Mitradjieva & Lindberg 2013, as in AequilibraE); they share one loop, one exact line search on
the Beckmann objective and one relative-gap definition, (TSTT - SPTT) / TSTT. `algorithm="gp"`
hands over to the path-based gradient projection in `twin.traffic.pathbased`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from twin.traffic.errors import ConfigError, DemandError
from twin.traffic.network import Network
from twin.traffic.pathbased import assign_paths
from twin.traffic.paths import all_or_nothing
from twin.traffic.results import AssignmentResult, Progress, build_result
from twin.traffic.vdf import VDFS, cost_and_derivative

CONJUGATE_MAX = 0.99999  # cap on the weight of the previous target (keeps directions fresh)
#: The one default relative gap of every run: `civic twin assign`, scenario specs (bundled, CLI,
#: API) and the engine. Changes in total travel time below about gap x TSTT are noise.
DEFAULT_TARGET_GAP = 1e-5


@dataclass(frozen=True)
class AssignmentConfig:
    """How to run an assignment; every field is checked when the config is built."""

    algorithm: str = "bfw"
    target_gap: float = DEFAULT_TARGET_GAP
    max_iterations: int = 1000
    vdf: str = "bpr"
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            known = ", ".join(ALGORITHMS)
            raise ConfigError("algorithm", f"{self.algorithm!r} is not one of {known}")
        if not 0 <= self.target_gap < 1:
            raise ConfigError("target_gap", f"{self.target_gap!r} must be in [0, 1)")
        if not isinstance(self.max_iterations, int) or self.max_iterations < 1:
            raise ConfigError("max_iterations", f"{self.max_iterations!r} must be an int >= 1")
        if self.vdf not in VDFS:
            raise ConfigError("vdf", f"{self.vdf!r} is not a registered VDF")
        if self.algorithm == "gp" and self.vdf != "bpr":
            raise ConfigError("vdf", "the path-based 'gp' algorithm supports 'bpr' only")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ConfigError("threads", f"{self.threads!r} must be None or an int >= 1")


@dataclass
class _State:
    """What the direction rules remember between iterations."""

    x: np.ndarray
    s1: np.ndarray | None = None  # previous target point
    s2: np.ndarray | None = None  # the one before
    tau: float = 1.0  # previous step length
    fallback: str = ""  # "fw" forces a plain Frank-Wolfe step next
    kind: str = field(default="fw")


def _fw(state: _State, y: np.ndarray, hess: np.ndarray) -> np.ndarray:
    """Frank-Wolfe: head for the all-or-nothing point."""
    state.kind = "fw"
    return y


def _cfw(state: _State, y: np.ndarray, hess: np.ndarray) -> np.ndarray:
    """Conjugate FW: mix the previous target so the direction is H-conjugate to the last one."""
    if state.s1 is None or state.fallback == "fw":
        return _fw(state, y, hess)
    bar = state.s1 - state.x
    num = np.sum(hess * bar * (y - state.x))
    den = np.sum(hess * bar * (y - state.s1))
    alpha = num / den if den != 0 else 0.0
    alpha = min(max(alpha, 0.0), CONJUGATE_MAX)
    state.kind = "cfw"
    return alpha * state.s1 + (1.0 - alpha) * y


def _bfw(state: _State, y: np.ndarray, hess: np.ndarray) -> np.ndarray:
    """Bi-conjugate FW: conjugate to the last two directions (needs a step < 1 last time)."""
    if state.fallback == "fw":
        return _fw(state, y, hess)
    if state.s2 is None:
        return _cfw(state, y, hess)
    x, s1, s2, tau = state.x, state.s1, state.s2, state.tau
    bar1 = s1 - x
    bar2 = tau * s1 - x + (1.0 - tau) * s2
    dfw = y - x
    mu = _ratio(-np.sum(hess * bar2 * dfw), np.sum(hess * bar2 * (s2 - s1)))
    nu = _ratio(-np.sum(hess * bar1 * dfw), np.sum(hess * bar1 * bar1))
    nu = max(0.0, nu + mu * tau / (1.0 - tau))
    beta0 = 1.0 / (1.0 + mu + nu)
    state.kind = "bfw"
    return beta0 * (y + nu * s1 + mu * s2)


def _ratio(num: float, den: float) -> float:
    return max(0.0, num / den) if den != 0 else 0.0


TARGETS: dict[str, Callable[[_State, np.ndarray, np.ndarray], np.ndarray]] = {
    "fw": _fw,
    "cfw": _cfw,
    "bfw": _bfw,
}
ALGORITHMS = (
    "fw",
    "cfw",
    "bfw",
    "gp",
)  # gp: path-based gradient projection (twin.traffic.pathbased)


def line_search(
    x: np.ndarray, d: np.ndarray, net: Network, vdf: str = "bpr", upper: float = 1.0
) -> float:
    """Exact step in [0, upper] minimising the Beckmann objective along `d`.

    Safeguarded Newton on the derivative sum(c(x + t d) * d), which increases in t.
    """
    lo, hi = 0.0, upper
    slope_lo = _slope(x, d, 0.0, net, vdf)[0]
    if slope_lo >= 0:
        return 0.0
    if _slope(x, d, upper, net, vdf)[0] <= 0:
        return upper
    t = 0.5 * upper
    for _ in range(100):
        slope, curve = _slope(x, d, t, net, vdf)
        if slope > 0:
            hi = t
        else:
            lo = t
        if abs(slope) <= 1e-13 * abs(slope_lo) or hi - lo <= 1e-15:
            break
        newton = t - slope / curve if curve > 0 else -1.0
        t = newton if lo < newton < hi else 0.5 * (lo + hi)
    return t


def _slope(x, d, t, net, vdf) -> tuple[float, float]:
    cost, der = cost_and_derivative(x + t * d, net, vdf)
    return float(cost @ d), float(der @ (d * d))


def assign(
    net: Network,
    demand: np.ndarray,
    config: AssignmentConfig | None = None,
    callback: Callable[[Progress], None] | None = None,
    *,
    initial_flow: np.ndarray | None = None,
) -> AssignmentResult:
    """Find the user equilibrium of `demand` (zones x zones) on `net`.

    `initial_flow` warm-starts the link-based algorithms; it must be a loading of this very
    demand (e.g. a convex combination of loadings, as the elastic-demand loop makes)."""
    config = config or AssignmentConfig()
    demand = _check_demand(net, demand)
    if config.algorithm == "gp":
        return assign_paths(net, demand, config.target_gap, config.max_iterations, callback)
    start = time.perf_counter()
    if initial_flow is None:
        free_flow = cost_and_derivative(np.zeros(net.n_links), net, config.vdf)[0]
        x, _, _ = all_or_nothing(net, free_flow, demand, config.threads)
    else:
        x = np.array(initial_flow, dtype=np.float64)
        if x.shape != (net.n_links,) or not np.isfinite(x).all() or (x < 0).any():
            raise DemandError("initial_flow must be one finite, non-negative value per link")
    state, gaps, rule = _State(x=x), [], TARGETS[config.algorithm]
    for iteration in range(1, config.max_iterations + 1):
        cost, hess = cost_and_derivative(state.x, net, config.vdf)
        y, sptt, lost = all_or_nothing(net, cost, demand, config.threads)
        gaps.append(_gap(float(cost @ state.x), sptt))
        if callback is not None:
            elapsed = time.perf_counter() - start
            callback(Progress(iteration, gaps[-1], state.tau, elapsed, state.kind))
        if gaps[-1] <= config.target_gap or iteration == config.max_iterations:
            break
        _step(state, rule(state, y, hess), y, cost, net, config.vdf)
    return build_result(
        net, demand, state.x, gaps, config.target_gap, lost, config.algorithm, config.vdf
    )


def _step(state: _State, s: np.ndarray, y: np.ndarray, cost: np.ndarray, net: Network, vdf: str):
    """Move x towards target s by the exact step; choose the fallback for the next iteration."""
    if state.kind != "fw" and cost @ (s - state.x) >= 0:
        state.kind, s = "fw", y  # not a descent direction: plain FW this time
    tau = line_search(state.x, s - state.x, net, vdf)
    state.x = state.x + tau * (s - state.x)
    state.s2, state.s1, state.tau = state.s1, s, tau
    # x reached its target (or did not move): conjugacy information is void, restart with FW
    state.fallback = "fw" if tau <= 0.0 or tau >= 1.0 else ""


def _gap(tstt: float, sptt: float) -> float:
    """Relative gap (TSTT - SPTT) / TSTT; zero when nothing moves."""
    return (tstt - sptt) / tstt if tstt > 0 else 0.0


def _check_demand(net: Network, demand: np.ndarray) -> np.ndarray:
    demand = np.ascontiguousarray(demand, dtype=np.float64)
    if demand.shape != (net.zones, net.zones):
        raise DemandError(f"demand is {demand.shape}, the network has {net.zones} zones")
    if not np.isfinite(demand).all() or (demand < 0).any():
        raise DemandError("demand must be finite and non-negative")
    return demand


def relative_gap(net: Network, demand: np.ndarray, flow: np.ndarray, vdf: str = "bpr") -> float:
    """Relative gap of any link-flow vector, e.g. a published best-known solution."""
    cost = cost_and_derivative(flow, net, vdf)[0]
    _, sptt, _ = all_or_nothing(net, cost, _check_demand(net, demand))
    return _gap(float(cost @ flow), sptt)
