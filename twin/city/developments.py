"""Developments in a scenario: where their residents and jobs go (shares of the zones they
overlap) and their pseudo-buildings; the demand model turns them into trips."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from twin.city.model import CityModel
from twin.city.roads import METRIC_CRS


def development_people(
    model: CityModel, residents: np.ndarray, jobs: np.ndarray, developments: list[dict]
) -> tuple[np.ndarray, np.ndarray]:
    """Residents and jobs per zone with the developments' added to the given ones, spread over
    the grid zones each development overlaps (the demand model then sends their trips)."""
    if not developments:
        return residents, jobs
    n = int((model.zones["kind"] == "grid").sum())
    residents, jobs = residents.copy(), jobs.copy()
    for dev in developments:
        share = zone_shares(model, dev["geometry"], n)
        residents[:n] += share * dev["residents"]
        jobs[:n] += share * dev["jobs"]
    return residents, jobs


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
