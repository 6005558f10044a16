"""Demand of a baseline or a scenario: trips by mode and destination together with the car
equilibrium they cause, under the scenario's demand assumption (elastic or fixed).

The baseline calibrates the mode constants to the target shares at its own equilibrium costs (a
few passes, each warm-started); a scenario reuses those constants, so with elastic demand it
changes trips only because its costs (or its residents and jobs) changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin.city.travel import MODES, ChoiceAssumptions, Travel, calibrated
from twin.traffic.assignment import AssignmentConfig, assign
from twin.traffic.choice import ChoiceModel, choose, composite_cost
from twin.traffic.elastic import ElasticResult, equilibrate
from twin.traffic.network import Network
from twin.traffic.paths import skim
from twin.traffic.results import AssignmentResult, Progress

CALIBRATION_PASSES = 6
ASC_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class DemandSolution:
    """Trips by mode and destination, their costs, the car equilibrium and how it converged."""

    travel: Travel
    choice: ChoiceModel
    trips: np.ndarray  #: (modes, origins, destinations) person trips per hour
    costs: np.ndarray  #: generalised minutes at the final car costs
    result: AssignmentResult
    gap: float  #: demand/supply %GAP (fraction); 0 with fixed demand
    iterations: int  #: demand/supply iterations (1 with fixed demand)
    converged: bool

    def user_cost(self, c: ChoiceAssumptions) -> float | None:
        """The composite (logsum) generalised cost in person-minutes; None if undefined."""
        if c.model == "fixed" or c.sensitivity <= 0:
            return None
        m = self.travel.market
        return composite_cost(self.choice, m.productions, m.attractions, self.costs)


def _free_flow_skim(net: Network) -> np.ndarray:
    cost = net.free_flow_time + net.fixed_cost()
    return skim(net, cost, {"c": cost})["c"]


def _solution(travel: Travel, choice: ChoiceModel, r: ElasticResult) -> DemandSolution:
    return DemandSolution(
        travel, choice, r.trips, r.costs, r.assignment, r.gap, r.iterations, r.converged
    )


def baseline_demand(
    net: Network,
    travel: Travel,
    c: ChoiceAssumptions,
    config: AssignmentConfig,
    progress: Callable[[Progress], None] | None = None,
) -> DemandSolution:
    """The baseline's trips at equilibrium, with mode constants calibrated to its costs."""
    feedback = c.feedback()
    choice = calibrated(travel, c, _free_flow_skim(net))
    r = equilibrate(net, choice, travel.market, config, feedback, callback=progress)
    for _ in range(CALIBRATION_PASSES):
        again = calibrated(travel, c, r.assignment.skim()["cost"])
        if np.abs(again.asc - choice.asc).max() <= ASC_TOLERANCE:
            break
        choice = again
        r = equilibrate(
            net, choice, travel.market, config, feedback, start=r.trips, callback=progress
        )
    return _solution(travel, choice, r)


def scenario_demand(
    net: Network,
    travel: Travel,
    base: DemandSolution,
    c: ChoiceAssumptions,
    config: AssignmentConfig,
    progress: Callable[[Progress], None] | None = None,
) -> DemandSolution:
    """The scenario's trips: re-chosen at its costs (elastic), or the baseline's kept (fixed;
    developments add their own trips, distributed at the baseline's costs)."""
    if c.model == "elastic":
        start = base.trips if _same_people(base.travel, travel) else None
        r = equilibrate(
            net, base.choice, travel.market, config, c.feedback(), start=start, callback=progress
        )
        return _solution(travel, base.choice, r)
    trips = _fixed_trips(base, travel)
    result = assign(net, travel.market.vehicles(trips), config, progress)
    costs = travel.market.costs(result.skim()["cost"])
    return DemandSolution(travel, base.choice, trips, costs, result, 0.0, 1, True)


def _same_people(a: Travel, b: Travel) -> bool:
    return bool(
        np.array_equal(a.market.productions, b.market.productions)
        and np.array_equal(a.market.attractions, b.market.attractions)
    )


def _fixed_trips(base: DemandSolution, travel: Travel) -> np.ndarray:
    """Baseline trips plus what developments add, chosen at the baseline's costs."""
    if _same_people(base.travel, travel):
        return base.trips
    old, new = base.travel.market, travel.market
    before = choose(base.choice, old.productions, old.attractions, base.costs)
    after = choose(base.choice, new.productions, new.attractions, base.costs)
    return np.maximum(base.trips + after - before, 0.0)


def _person_hours(solution: DemandSolution) -> float:
    ok = np.isfinite(solution.costs)
    return float((solution.costs[ok] * solution.trips[ok]).sum() / 60)


def demand_totals(
    base: DemandSolution, scen: DemandSolution, c: ChoiceAssumptions
) -> dict[str, tuple[str, float, float]]:
    """Totals of the demand side, before and after: trips by mode, car share, generalised cost
    of all trips and the users' cost (for elastic demand with the same people and places, the
    logsum measure, whose change is minus the change in consumer surplus; otherwise the
    generalised cost of all trips), and the demand/supply gap."""
    out: dict[str, tuple[str, float, float]] = {}
    b_mode, s_mode = base.trips.sum(axis=(1, 2)), scen.trips.sum(axis=(1, 2))
    out["person_trips"] = ("persons/h", float(b_mode.sum()), float(s_mode.sum()))
    for i, mode in enumerate(MODES):
        out[f"trips_{mode}"] = ("persons/h", float(b_mode[i]), float(s_mode[i]))
    residents = base.travel.group == 0
    car = MODES.index("car")
    shares = [
        100 * s.trips[car][residents].sum() / max(s.trips[:, residents].sum(), 1e-12)
        for s in (base, scen)
    ]
    out["car_share"] = ("%", float(shares[0]), float(shares[1]))
    b_cost, s_cost = _person_hours(base), _person_hours(scen)
    out["generalised_cost"] = ("person*h/h", b_cost, s_cost)
    b_user, s_user = base.user_cost(c), scen.user_cost(c)
    comparable = _same_people(base.travel, scen.travel)  # new homes or jobs: no logsum change
    logsum = b_user is not None and s_user is not None and comparable
    after = b_cost + (s_user - b_user) / 60 if logsum else s_cost
    out["user_cost"] = ("person*h/h", b_cost, float(after))
    out["demand_gap"] = ("", base.gap, scen.gap)
    return out
