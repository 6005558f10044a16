"""Destination and mode choice: a nested logit with the main mode above the destination,
origin-constrained (every origin sends exactly its productions), as in DfT TAG unit M2.

With generalised costs `C[m, o, d]` in minutes (infinite: mode not available), attraction sizes
`A[d]`, a cost sensitivity `lam` per minute and a logsum scale `theta` in (0, 1]:

    V[m,o,d] = ln A[d] - lam * C[m,o,d]          destination, within a mode
    L[m,o]   = ln sum_d exp(V[m,o,d])            the mode's logsum (accessibility by that mode)
    U[m,o]   = asc[o,m] + theta * L[m,o]         main mode
    T[m,o,d] = P[o] * softmax_m(U[:,o]) * exp(V[m,o,d] - L[m,o])

With `lam = 0` nothing depends on cost: that is the fixed-demand limit the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from twin.traffic.errors import ConfigError, DemandError


@dataclass(frozen=True, eq=False)
class ChoiceModel:
    """Parameters of the nested logit; `asc` has one row per origin, one column per mode."""

    sensitivity: float  #: lam, utility per generalised minute at the destination level (>= 0)
    theta: float  #: scale of the mode level relative to the destination level, in (0, 1]
    asc: np.ndarray  #: (origins, modes) mode constants in utility units

    def __post_init__(self) -> None:
        if not (np.isfinite(self.sensitivity) and self.sensitivity >= 0):
            raise ConfigError("sensitivity", f"{self.sensitivity!r} must be >= 0")
        if not 0 < self.theta <= 1:
            raise ConfigError("theta", f"{self.theta!r} must be in (0, 1]")
        if np.asarray(self.asc).ndim != 2:
            raise ConfigError("asc", "must be an (origins, modes) array")


@dataclass(frozen=True, eq=False)
class Choice:
    """Choice probabilities and logsums at one set of costs."""

    mode: np.ndarray  #: (origins, modes) P(m | o)
    destination: np.ndarray  #: (modes, origins, destinations) P(d | o, m)
    logsum: np.ndarray  #: (modes, origins) L, -inf where the mode reaches no destination
    utility: np.ndarray  #: (modes, origins) U


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    """ln sum exp along `axis`, -inf where every value is -inf (no alternative)."""
    top = np.max(values, axis=axis, keepdims=True)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(values - safe), axis=axis, keepdims=True)) + safe
    return np.squeeze(out, axis=axis)


def _check(model: ChoiceModel, attractions: np.ndarray, costs: np.ndarray) -> None:
    n_modes, n_orig, n_dest = costs.shape
    if attractions.shape != (n_dest,) or model.asc.shape != (n_orig, n_modes):
        raise DemandError(
            f"costs are {costs.shape}; attractions {attractions.shape} and asc "
            f"{model.asc.shape} do not match"
        )
    if (attractions < 0).any() or not attractions.sum() > 0:
        raise DemandError("attractions must be >= 0 with a positive total")
    if np.isnan(costs).any() or (costs < 0).any():
        raise DemandError("generalised costs must be >= 0 (inf: mode not available)")


def probabilities(model: ChoiceModel, attractions: np.ndarray, costs: np.ndarray) -> Choice:
    """P(m|o), P(d|o,m) and the logsums at `costs` (modes x origins x destinations)."""
    attractions = np.asarray(attractions, dtype=float)
    costs = np.asarray(costs, dtype=float)
    _check(model, attractions, costs)
    usable = np.isfinite(costs) & (attractions > 0)[None, None, :]
    with np.errstate(divide="ignore"):
        size = np.log(attractions)[None, None, :]
    v = np.where(usable, size - model.sensitivity * np.where(usable, costs, 0.0), -np.inf)
    logsum = _logsumexp(v, axis=2)
    with np.errstate(invalid="ignore"):
        destination = np.where(usable, np.exp(v - logsum[:, :, None]), 0.0)
    utility = np.where(np.isfinite(logsum), model.asc.T + model.theta * logsum, -np.inf)
    total = _logsumexp(utility, axis=0)
    if not np.isfinite(total).all():
        o = int(np.flatnonzero(~np.isfinite(total))[0])
        raise DemandError(f"origin {o} has no available mode and destination")
    mode = np.exp(utility - total[None, :]).T
    return Choice(mode, destination, logsum, utility)


def choose(
    model: ChoiceModel, productions: np.ndarray, attractions: np.ndarray, costs: np.ndarray
) -> np.ndarray:
    """Person trips T[m, o, d]; every origin's row sums to its productions.

    >>> m = ChoiceModel(0.1, 1.0, np.zeros((1, 2)))
    >>> t = choose(m, np.array([10.0]), np.array([1.0, 1.0]), np.array([[[1, 1]], [[1, 1]]]))
    >>> t.sum(), t[0, 0].tolist()
    (np.float64(10.0), [2.5, 2.5])
    """
    p = probabilities(model, attractions, costs)
    productions = np.asarray(productions, dtype=float)
    return productions[None, :, None] * p.mode.T[:, :, None] * p.destination


def composite_cost(
    model: ChoiceModel, productions: np.ndarray, attractions: np.ndarray, costs: np.ndarray
) -> float:
    """Expected maximum utility of all trips in generalised minutes (lower is better).

    Its change between two cost situations is the logsum measure of user benefit (with the
    sign of a cost); it is undefined with zero sensitivity, where demand cannot respond."""
    if model.sensitivity <= 0:
        raise ConfigError("sensitivity", "the composite cost needs a sensitivity > 0")
    p = probabilities(model, attractions, costs)
    emu = _logsumexp(p.utility, axis=0)
    scale = model.theta * model.sensitivity
    return float(-(np.asarray(productions, dtype=float) * emu).sum() / scale)


def calibrate_asc(
    model: ChoiceModel,
    productions: np.ndarray,
    attractions: np.ndarray,
    costs: np.ndarray,
    targets: np.ndarray,
    group: np.ndarray,
    *,
    tol: float = 1e-10,
    max_iter: int = 500,
) -> ChoiceModel:
    """Mode constants such that each group of origins splits its trips by `targets[group]`.

    `targets` is (groups, modes), rows summing to 1 over the modes the group can use; the
    classic update asc += ln(target / modelled share) is repeated until shares match."""
    targets = np.asarray(targets, dtype=float)
    group = np.asarray(group, dtype=np.int64)
    productions = np.asarray(productions, dtype=float)
    if not np.allclose(targets.sum(axis=1), 1.0):
        raise ConfigError("mode_shares", "target mode shares must sum to 1")
    asc = np.array(model.asc, dtype=float)
    for _ in range(max_iter):
        current = replace(model, asc=asc)
        share = _group_shares(probabilities(current, attractions, costs).mode, productions, group)
        want = targets[group]
        ok = (want > 0) & (share[group] > 0)
        step = np.zeros_like(asc)
        step[ok] = np.log(want[ok] / share[group][ok])
        if np.abs(step).max(initial=0.0) <= tol:
            return current
        asc += step
    raise DemandError("mode constants did not converge to the target shares")


def _group_shares(mode: np.ndarray, productions: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Trip-weighted mode shares per origin group: (groups, modes)."""
    n_groups = int(group.max()) + 1
    trips = np.zeros((n_groups, mode.shape[1]))
    np.add.at(trips, group, productions[:, None] * mode)
    total = trips.sum(axis=1, keepdims=True)
    return np.divide(trips, total, out=np.zeros_like(trips), where=total > 0)


def mode_shares(trips: np.ndarray) -> np.ndarray:
    """Share of each mode in a trips array T[m, o, d]."""
    per_mode = trips.sum(axis=(1, 2))
    return per_mode / per_mode.sum() if per_mode.sum() > 0 else per_mode
