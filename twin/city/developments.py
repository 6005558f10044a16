"""Developments in a scenario: where their residents and jobs go (shares of the zones they
overlap), the extra trips (the baseline's gravity model re-run) and their pseudo-buildings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from twin.city.model import CityModel
from twin.city.roads import METRIC_CRS
from twin.traffic.demand import gravity
from twin.traffic.paths import skim


def development_demand(
    model: CityModel, demand: np.ndarray, residents: np.ndarray, developments: list[dict]
) -> tuple[np.ndarray, np.ndarray]:
    """Demand and residents per zone with the developments' trip ends added to the baseline's
    (`demand`, `residents`); the gravity model is re-run with the calibrated beta of the
    baseline and the difference added to its matrix."""
    if not developments:
        return demand, residents
    base_demand, base_residents = demand, residents
    a = model.assumptions
    grid = (model.zones["kind"] == "grid").to_numpy()
    n = int(grid.sum())
    residents = base_residents.copy()
    jobs = model.zones["jobs"].to_numpy(dtype=float).copy()
    for dev in developments:
        share = zone_shares(model, dev["geometry"], n)
        residents[:n] += share * dev["residents"]
        jobs[:n] += share * dev["jobs"]
    net = model.network
    times = skim(net, net.free_flow_time, {"t": net.free_flow_time})["t"][:n, :n]
    cost = np.where(np.isfinite(times), times, times[np.isfinite(times)].max() * 2) + 0.5

    def trips(res: np.ndarray, job: np.ndarray, **beta: float):
        prod = res[:n] * a.car_trips_per_resident * a.peak_hour_share
        attr = job[:n] * a.car_trips_per_job * a.peak_hour_share + 1e-9
        return gravity(prod, attr, cost, deterrence="exponential", **beta)

    base_jobs = model.zones["jobs"].to_numpy(dtype=float)
    before = trips(base_residents, base_jobs, target_mean=a.target_mean_minutes)
    after = trips(residents, jobs, beta=before.beta)
    demand = base_demand.copy()
    demand[:n, :n] = np.maximum(demand[:n, :n] + after.matrix - before.matrix, 0.0)
    return demand, residents


def zone_shares(model: CityModel, geom: shapely.Geometry, n: int) -> np.ndarray:
    """How a development spreads over the grid zones: by area of overlap with each zone's cell,
    or wholly to the nearest zone for a point (or a polygon outside every cell)."""
    centres = shapely.get_coordinates(model.zones.to_crs(METRIC_CRS).geometry.to_numpy()[:n])
    half = model.assumptions.cell_size_m / 2
    cells = shapely.box(*(centres - half).T, *(centres + half).T)
    if model.zone_cells is not None and len(model.zone_cells) == n:
        cells = model.zone_cells  # grid cells or the published zone polygons
    share = shapely.area(shapely.intersection(cells, geom))
    if share.sum() <= 0:
        share = np.zeros(n)
        share[np.argmin(np.hypot(*(centres - geom.centroid.coords[0]).T))] = 1.0
    return share / share.sum()


def new_buildings(developments: list[dict]) -> gpd.GeoDataFrame:
    """Developments as pseudo-buildings (a point becomes a 20 m block) for exposure counts."""
    geoms = [d["geometry"] for d in developments]
    geoms = [g.buffer(20.0) if g.area == 0 else g for g in geoms]
    residents = [d["residents"] for d in developments]
    return gpd.GeoDataFrame({"residents_est": residents}, geometry=geoms, crs=METRIC_CRS)
