"""Who travels where by which mode in the city's morning peak hour: the market the elastic demand
model works on (productions, attractions, the costs of walking, cycling and public transport) and
the parameters of its nested logit, all from published data and stated assumptions.

Two groups travel: residents of the grid zones (car, public transport, bike, walk) and people
entering at a gateway from outside the extract (car or public transport). Through traffic and
residents' car trips leaving the extract are fixed (`CityModel.gateway_vehicles`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from twin.city.model import CityModel
from twin.city.modes import ModeAssumptions, ModeCosts, mode_costs
from twin.city.roads import METRIC_CRS
from twin.data import value_of_time
from twin.traffic.choice import ChoiceModel, calibrate_asc
from twin.traffic.elastic import DEFAULT_DEMAND_GAP, FeedbackConfig, Market

MODES = ("car", "pt", "bike", "walk")
DEMAND_MODELS = ("elastic", "fixed")
#: Shares of residents' trips by mode (calibration targets), rounded, of the order of the trips
#: of Helsinki residents in HSL's travel survey "Liikkumistottumukset Helsingin seudulla 2018".
MODE_SHARES = (("car", 0.22), ("pt", 0.33), ("bike", 0.09), ("walk", 0.36))


@dataclass(frozen=True)
class ChoiceAssumptions:
    """The `[demand]` table of a scenario: how people choose mode and destination."""

    model: str = "elastic"  #: "elastic" (choice responds to the scenario) or "fixed"
    #: Utility per generalised minute in destination choice; the order of TAG unit M2's
    #: illustrative commuting values (section 5.6). 0 makes demand ignore cost.
    sensitivity: float = 0.065
    theta: float = 0.68  #: mode choice above destination choice (TAG unit M2, section 5.6)
    mode_shares: tuple[tuple[str, float], ...] = MODE_SHARES
    car_occupancy: float = 1.3  #: persons per car; value_of_time.csv assumes the same 1.3
    parking_eur: float = 2.0  #: mean parking charge per car trip ending in the extract (assumed)
    car_terminal_min: float = 2.0  #: walking to and from the parked car (assumed)
    currency: str = "EUR"
    value_of_time: float | None = None  #: per vehicle-hour; default from value_of_time.csv
    target_gap: float = DEFAULT_DEMAND_GAP  #: demand/supply %GAP (as a fraction) to reach
    max_iterations: int = 50
    modes: ModeAssumptions = field(default_factory=ModeAssumptions)

    @property
    def shares(self) -> dict[str, float]:
        """Target shares of residents' trips by mode."""
        return dict(self.mode_shares)

    def feedback(self) -> FeedbackConfig:
        """The convergence settings of the demand/supply loop."""
        return FeedbackConfig(self.target_gap, self.max_iterations)

    def describe(self) -> str:
        """One line saying which demand assumption produced the numbers."""
        if self.model == "fixed":
            return (
                "fixed demand: the baseline's trips by mode and destination are kept; cars only "
                "re-route"
            )
        return (
            "elastic demand: destination and mode (car, public transport, bike, walk) chosen by "
            f"a nested logit (sensitivity {self.sensitivity:g}/min, theta {self.theta:g}), "
            "solved with the car assignment"
        )


@dataclass(frozen=True, eq=False)
class Travel:
    """The demand side of a city at one set of residents and jobs."""

    market: Market
    group: np.ndarray  #: per origin: 0 residents, 1 entering at a gateway
    targets: np.ndarray  #: (groups, modes) calibration shares
    modes: ModeCosts


def intrazonal_m(model: CityModel) -> np.ndarray:
    """Mean trip length within each grid zone: half the square root of its area."""
    n = int((model.zones["kind"] == "grid").sum())
    if model.zone_cells is not None and len(model.zone_cells) == n:
        return 0.5 * np.sqrt(shapely.area(model.zone_cells))
    return np.full(n, 0.5 * model.assumptions.cell_size_m)


def _attractions(model: CityModel, services: gpd.GeoDataFrame, jobs: np.ndarray) -> np.ndarray:
    """Jobs plus `service_jobs` per published service in each grid zone."""
    n = jobs.size
    zones = model.zones.to_crs(METRIC_CRS).geometry.to_numpy()[:n]
    points = services.to_crs(METRIC_CRS).geometry.representative_point().to_numpy()
    nearest = shapely.STRtree(zones).nearest(points) if len(points) else np.zeros(0, int)
    count = np.bincount(nearest, minlength=n)
    return jobs + model.assumptions.service_jobs * count + 1e-6


def build_travel(
    model: CityModel,
    frames: dict[str, gpd.GeoDataFrame],
    residents: np.ndarray,
    jobs: np.ndarray,
    c: ChoiceAssumptions,
    modes: ModeCosts | None = None,
) -> Travel:
    """The market for residents and jobs per grid zone (`frames`: metric roads, stops, services).

    `modes` reuses the walk, bike and public transport costs of a city already built."""
    a, net = model.assumptions, model.network
    zones = model.zones
    grid = (zones["kind"] == "grid").to_numpy()
    n_grid, n_zones = int(grid.sum()), net.zones
    zone_xy = zones.to_crs(METRIC_CRS).get_coordinates().to_numpy()
    if modes is None:
        modes = mode_costs(
            frames["roads"], frames["stops"], zone_xy, n_grid, intrazonal_m(model), c.modes
        )
    vot = c.value_of_time or value_of_time(c.currency)
    car = np.full((n_zones, n_grid), c.car_terminal_min + c.parking_eur / vot * 60)
    car[np.arange(n_grid), np.arange(n_grid)] += intrazonal_m(model) / 1000 / 20.0 * 60
    fixed = np.stack([car, modes.pt, modes.bike, modes.walk])
    gateway_persons = a.gateway_trips_per_hour * (1 - a.through_share) * c.car_occupancy
    productions = np.r_[
        residents[:n_grid] * a.trips_per_resident * a.peak_hour_share,
        np.full(n_zones - n_grid, gateway_persons / a.gateway_car_share),
    ]
    market = Market(
        productions=productions,
        attractions=_attractions(model, frames["services"], jobs[:n_grid]),
        fixed_cost=fixed,
        origin_zone=np.arange(n_zones),
        dest_zone=np.arange(n_grid),
        car=MODES.index("car"),
        occupancy=c.car_occupancy,
        fixed_vehicles=model.gateway_vehicles,
    )
    share = c.shares
    targets = np.array(
        [
            [share[m] for m in MODES],
            [a.gateway_car_share, 1 - a.gateway_car_share, 0.0, 0.0],
        ]
    )
    group = np.r_[np.zeros(n_grid, np.int64), np.ones(n_zones - n_grid, np.int64)]
    return Travel(market, group, targets, modes)


def calibrated(travel: Travel, c: ChoiceAssumptions, car_skim: np.ndarray) -> ChoiceModel:
    """The nested logit with mode constants that reproduce the target shares at these costs."""
    m = travel.market
    costs = m.costs(car_skim)
    available = np.isfinite(costs).any(axis=2).T  # (origins, modes)
    targets = travel.targets.copy()
    for g in range(len(targets)):  # a mode nobody in the group can use gets no share
        targets[g] *= available[travel.group == g].any(axis=0)
        targets[g] /= targets[g].sum()
    start = ChoiceModel(c.sensitivity, c.theta, np.zeros((m.productions.size, len(MODES))))
    return calibrate_asc(start, m.productions, m.attractions, costs, targets, travel.group)
