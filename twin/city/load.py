"""The city a scenario starts from: the traffic model (network, zones, demand) plus the published
frames the impacts need (roads with footways, buildings, services), all at the same pinned dataset
versions and in metric coordinates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from opendata.errors import NotFound
from opendata.settings import Settings
from opendata.store.published import read_published
from twin.city.model import CityModel, DemandAssumptions, build_city_model
from twin.city.roads import METRIC_CRS


@dataclass(frozen=True, eq=False)
class City:
    """The baseline city: traffic model plus the published frames the impacts need (metric)."""

    model: CityModel
    roads: gpd.GeoDataFrame  # all published roads incl. footways, EPSG:3067
    buildings: gpd.GeoDataFrame  # EPSG:3067
    services: gpd.GeoDataFrame  # EPSG:3067
    stops: gpd.GeoDataFrame  # public transport stops, EPSG:3067 (empty if none are published)
    versions: dict[str, int]

    @property
    def node_xy(self) -> np.ndarray:
        """Metric coordinates of every network node, from the ends of its links."""
        net, geom = self.model.network, self.model.link_geometry
        xy = np.full((net.n_nodes, 2), np.nan)
        xy[net.tail] = shapely.get_coordinates(shapely.get_point(geom, 0))
        xy[net.head] = shapely.get_coordinates(shapely.get_point(geom, -1))
        return xy

    @property
    def hull(self) -> shapely.Geometry:
        """Convex hull of the road network (metric): where edits can take effect."""
        return shapely.convex_hull(shapely.multipoints(self.node_xy[self.model.network.zones :]))


def load_city(
    settings: Settings, assumptions: DemandAssumptions, versions: Mapping[str, int]
) -> City:
    """The city model and the published frames at the pinned `versions` (current otherwise)."""
    model = build_city_model(settings, assumptions, versions=dict(versions))
    frames, used = {}, dict(model.versions)
    for name in ("roads", "buildings", "services"):
        frame, version = read_published(settings, name, used.get(name, versions.get(name)))
        frames[name], used[name] = frame.to_crs(METRIC_CRS), version.version
    stops = gpd.GeoDataFrame({"kind": []}, geometry=[], crs=METRIC_CRS)
    try:  # no published stops: public transport is not available (the mode choice says so)
        frame, version = read_published(settings, "stops", versions.get("stops"))
        stops, used["stops"] = frame.to_crs(METRIC_CRS), version.version
    except NotFound:
        if "stops" in versions:
            raise
    return City(model, frames["roads"], frames["buildings"], frames["services"], stops, used)
