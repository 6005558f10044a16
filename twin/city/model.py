"""The bundled city as a traffic model: network, zones and peak-hour demand from published data.

Zones are a regular grid over the buildings plus gateway zones where main roads leave the
extract (through and commuting traffic enters there). Productions come from estimated residents,
attractions from jobs estimated from non-residential floor area and from services; a doubly
constrained gravity model distributes them. Every figure below is an assumption for
planning-level screening, stated so a planner can see and override it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from opendata.settings import Settings
from opendata.store.published import read_published
from twin.city.roads import (
    METRIC_CRS,
    ROAD_CLASSES,
    RoadClass,
    Segments,
    main_component,
    segments_from_roads,
)
from twin.traffic.demand import gravity, grid_zones
from twin.traffic.errors import DemandError
from twin.traffic.network import Network, build_network, largest_strong_component
from twin.traffic.paths import skim

JOB_USES = {
    "office": 1.0,
    "commercial": 1.0,
    "retail": 1.0,
    "public": 1.0,
    "government": 1.0,
    "hotel": 0.5,
    "university": 1.0,
    "school": 1.0,
    "hospital": 1.0,
    "civic": 1.0,
    "train_station": 0.3,
    "yes": 0.6,
}


@dataclass(frozen=True)
class DemandAssumptions:
    """Planning assumptions for the demand model (override any of them)."""

    cell_size_m: float = 250.0
    #: A published dataset of zone polygons to use instead of the regular grid ("" = grid).
    zones_dataset: str = ""
    car_trips_per_resident: float = 0.6  # daily car trips per resident (car-only screening matrix)
    floor_area_per_job_m2: float = 30.0
    car_trips_per_job: float = 0.5  # daily car trips attracted per job (screening matrix)
    trips_per_resident: float = 2.6  # daily person trips by all modes per resident (assumed)
    service_jobs: float = 10.0  # attraction of one published service, in jobs (assumed)
    gateway_car_share: float = 0.4  # car share of people entering at a gateway (assumed)
    peak_hour_share: float = 0.10
    gateway_trips_per_hour: float = 600.0  # peak-hour vehicles entering at each main-road gateway
    through_share: float = 0.6  # share of gateway traffic that only passes through
    target_mean_minutes: float = 2.0
    connector_speed_kmh: float = 25.0
    connectors_per_zone: int = 2
    gateway_classes: tuple[str, ...] = ("motorway", "trunk", "primary", "secondary")
    gateway_merge_m: float = 80.0


@dataclass(frozen=True, eq=False)
class CityModel:
    """Everything the twin needs to assign traffic on the city, and what it was built from."""

    network: Network
    demand: np.ndarray  #: car-only gravity screening matrix (`civic twin assign --city`)
    zones: gpd.GeoDataFrame  # zone id, kind (grid|gateway), residents, jobs, geometry (4326)
    #: Car trips at the gateways no choice model touches: through traffic and outbound commuters.
    gateway_vehicles: np.ndarray
    segments: Segments
    link_geometry: np.ndarray  # per network link, METRIC_CRS; connectors are straight lines
    versions: dict[str, int]
    assumptions: DemandAssumptions
    dropped: dict[str, int] = field(default_factory=dict)
    #: The area of each non-gateway zone (grid cell or published polygon), METRIC_CRS.
    zone_cells: np.ndarray | None = None

    @property
    def road_fid(self) -> np.ndarray:
        """Per network link, the `fid` of the published road feature it lies on (-1: connector).
        `network.source_id` indexes `segments`; this resolves it to the published feature."""
        sid = self.network.source_id
        return np.where(sid >= 0, self.segments.source_fid[np.maximum(sid, 0)], -1)

    def link_frame(self) -> gpd.GeoDataFrame:
        """Road links (not connectors) with their published road feature id, in EPSG:4326."""
        road = self.network.source_id >= 0
        return gpd.GeoDataFrame(
            {"link": np.flatnonzero(road), "road_fid": self.road_fid[road]},
            geometry=self.link_geometry[road],
            crs=METRIC_CRS,
        ).to_crs("EPSG:4326")


def _jobs(buildings: gpd.GeoDataFrame, a: DemandAssumptions) -> np.ndarray:
    share = buildings["use"].map(JOB_USES).fillna(0.0).to_numpy(dtype=float)
    levels = (
        pd.to_numeric(buildings["levels"], errors="coerce")
        .fillna(5)
        .clip(lower=1)
        .to_numpy(dtype=float)
    )
    floor = buildings["footprint_m2"].to_numpy(dtype=float) * levels
    return floor * share / a.floor_area_per_job_m2


def _gateways(seg: Segments, a: DemandAssumptions) -> list[np.ndarray]:
    """Groups of network nodes where a main road ends at the edge of the extract; a dual
    carriageway's way in and way out (a few metres apart) form one gateway."""
    main = np.isin(np.char.replace(seg.highway.astype(str), "_link", ""), a.gateway_classes)
    degree = np.bincount(np.r_[seg.from_node, seg.to_node], minlength=len(seg.node_xy))
    hull = shapely.convex_hull(shapely.multipoints(seg.node_xy)).exterior
    ends = np.unique(np.r_[seg.from_node[main], seg.to_node[main]])
    near_edge = shapely.distance(shapely.points(seg.node_xy[ends]), hull) < 60.0
    candidates = ends[near_edge & (degree[ends] <= 2)]
    groups: list[list[int]] = []
    for node in candidates:
        for group in groups:
            if np.hypot(*(seg.node_xy[group[0]] - seg.node_xy[node])) < a.gateway_merge_m:
                group.append(int(node))
                break
        else:
            groups.append([int(node)])
    return [np.array(g) for g in groups]


def _zones(
    buildings: gpd.GeoDataFrame, a: DemandAssumptions, polygons: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Zones over the buildings: a regular grid, or the given zone polygons (each building goes
    to the polygon holding its representative point, else the nearest one). Returns centres,
    residents and jobs per zone, and the zone areas."""
    points = buildings.geometry.representative_point().to_numpy()
    if polygons is None:
        zone_of, centres = grid_zones(shapely.get_coordinates(points), a.cell_size_m)
        half = a.cell_size_m / 2
        cells = shapely.box(*(centres - half).T, *(centres + half).T)
    else:
        tree = shapely.STRtree(polygons)
        zone_of = tree.nearest(points)  # inside a polygon means distance 0: that polygon
        cells = polygons
        centres = shapely.get_coordinates(shapely.point_on_surface(polygons))
    residents = np.bincount(zone_of, buildings["residents_est"].to_numpy(dtype=float), len(centres))
    jobs = np.bincount(zone_of, _jobs(buildings, a), len(centres))
    return centres, residents, jobs, cells


def _zone_polygons(settings: Settings, name: str) -> np.ndarray:
    """The polygons of a published zones dataset, in METRIC_CRS."""
    frame, _ = read_published(settings, name)
    polygons = frame.to_crs(METRIC_CRS).geometry.to_numpy()
    if not len(polygons) or not np.isin(shapely.get_type_id(polygons), (3, 6)).all():
        raise DemandError(f"zones dataset '{name}' must hold (multi)polygons, one per zone")
    return polygons


def _connectors(
    centres: np.ndarray, seg: Segments, a: DemandAssumptions
) -> tuple[np.ndarray, np.ndarray]:
    """Each zone centre to its nearest network nodes: (zone index, node index) pairs."""
    pairs = []
    for z, centre in enumerate(centres):
        dist = np.hypot(*(seg.node_xy - centre).T)
        pairs += [(z, int(node)) for node in np.argsort(dist)[: a.connectors_per_zone]]
    return np.array(pairs)[:, 0], np.array(pairs)[:, 1]


def build_city_model(
    settings: Settings,
    assumptions: DemandAssumptions | None = None,
    classes: dict[str, RoadClass] | None = None,
    versions: dict[str, int] | None = None,
) -> CityModel:
    """Build network and demand from the published `roads` and `buildings`: the current versions,
    or those pinned in `versions` (e.g. `{"roads": 1}`) so a scenario stays reproducible."""
    a = assumptions or DemandAssumptions()
    pins = versions or {}
    roads, roads_v = read_published(settings, "roads", pins.get("roads"))
    buildings, buildings_v = read_published(settings, "buildings", pins.get("buildings"))
    seg = main_component(segments_from_roads(roads, classes or ROAD_CLASSES))
    buildings = buildings.to_crs(METRIC_CRS)
    polygons = _zone_polygons(settings, a.zones_dataset) if a.zones_dataset else None
    centres, residents, jobs, cells = _zones(buildings, a, polygons)
    gates = _gateways(seg, a)
    model = _assemble(seg, centres, gates, a)
    demand, fixed = _demand(model, residents, jobs, len(gates), a)
    net, report = largest_strong_component(model)
    kept = report.kept_nodes[: net.zones]
    zones = _zone_frame(centres, _gate_xy(seg, gates), residents, jobs)
    versions = {"roads": roads_v.version, "buildings": buildings_v.version}
    dropped = {
        **seg.dropped,
        "links_outside_main_component": report.dropped_links,
        "zones_outside_main_component": int(report.dropped_zone_ids.size),
    }
    return CityModel(
        net,
        demand[np.ix_(kept, kept)],
        zones.iloc[kept].reset_index(drop=True),
        fixed[np.ix_(kept, kept)],
        seg,
        _geometry(net, seg, centres, gates),
        versions,
        a,
        dropped,
        zone_cells=cells[kept[kept < len(centres)]],
    )


def _assemble(
    seg: Segments, centres: np.ndarray, gates: list[np.ndarray], a: DemandAssumptions
) -> Network:
    """Zones first (grid, then gateways), then road nodes; connectors are free-flowing links."""
    n_grid, n_gate = len(centres), len(gates)
    zones = n_grid + n_gate
    road_node = lambda idx: zones + np.asarray(idx)  # noqa: E731 - index shift, read as a name
    cz, cn = _connectors(centres, seg, a)
    dist = np.hypot(*(centres[cz] - seg.node_xy[cn]).T)
    gz = np.repeat(np.arange(n_grid, zones), [g.size for g in gates]).astype(np.int64)
    gn = np.concatenate(gates) if gates else np.zeros(0, dtype=np.int64)
    from_ids = np.r_[road_node(seg.from_node), cz, road_node(cn), gz, road_node(gn)]
    to_ids = np.r_[road_node(seg.to_node), road_node(cn), cz, road_node(gn), gz]
    n_conn = 2 * len(cz) + 2 * len(gz)
    length = np.r_[seg.length, dist, dist, np.zeros(2 * len(gz))]
    speed = np.r_[seg.speed, np.full(n_conn, a.connector_speed_kmh)]
    return build_network(
        np.arange(zones + len(seg.node_xy)),
        from_ids,
        to_ids,
        zones=zones,
        length=length,
        speed=speed,
        free_flow_time=length / 1000 / speed * 60,
        capacity=np.r_[seg.capacity, np.full(n_conn, 1e6)],
        lanes=np.r_[seg.lanes, np.ones(n_conn)],
        b=np.r_[np.full(seg.length.size, 0.15), np.zeros(n_conn)],
        power=np.full(seg.length.size + n_conn, 4.0),
        link_type=np.r_[np.ones(seg.length.size, dtype=np.int64), np.full(n_conn, 9)],
        source_id=np.r_[np.arange(seg.length.size), np.full(n_conn, -1)],
        name="city",
    )


def _demand(
    net: Network, residents: np.ndarray, jobs: np.ndarray, n_gate: int, a: DemandAssumptions
) -> tuple[np.ndarray, np.ndarray]:
    """Peak-hour car OD matrices: the car-only gravity screening matrix (`civic twin assign
    --city`) and the gateway traffic no choice model touches (through and outbound)."""
    n_grid = residents.size
    if residents.sum() <= 0:
        raise DemandError("the buildings dataset estimates no residents; cannot build demand")
    times = skim(net, net.free_flow_time, {"time": net.free_flow_time})["time"]
    local = times[:n_grid, :n_grid]
    local = np.where(np.isfinite(local), local, local[np.isfinite(local)].max() * 2)
    prod = residents * a.car_trips_per_resident * a.peak_hour_share
    attr = jobs * a.car_trips_per_job * a.peak_hour_share + 1e-9
    city = gravity(
        prod, attr, local + 0.5, deterrence="exponential", target_mean=a.target_mean_minutes
    ).matrix
    demand = np.zeros((net.zones, net.zones))
    demand[:n_grid, :n_grid] = city
    fixed = np.zeros((net.zones, net.zones))
    if n_gate:
        gate = slice(n_grid, n_grid + n_gate)
        fixed[gate, gate] = a.gateway_trips_per_hour * a.through_share / max(n_gate - 1, 1)
        np.fill_diagonal(fixed[gate, gate], 0.0)
        inbound = a.gateway_trips_per_hour * (1 - a.through_share)
        weights = (jobs + 1e-9) / (jobs + 1e-9).sum()
        demand[gate, :n_grid] = inbound * weights
        fixed[:n_grid, gate] = np.outer(inbound * weights, np.ones(n_gate))
    return demand + fixed, fixed


def _zone_frame(
    centres: np.ndarray, gate_xy: np.ndarray, residents: np.ndarray, jobs: np.ndarray
) -> gpd.GeoDataFrame:
    n_grid, n_gate = len(centres), len(gate_xy)
    return gpd.GeoDataFrame(
        {
            "zone": np.arange(1, n_grid + n_gate + 1),
            "kind": ["grid"] * n_grid + ["gateway"] * n_gate,
            "residents": np.r_[residents, np.zeros(n_gate)].round(1),
            "jobs": np.r_[jobs, np.zeros(n_gate)].round(1),
        },
        geometry=shapely.points(np.vstack([centres, gate_xy]) if n_gate else centres),
        crs=METRIC_CRS,
    ).to_crs("EPSG:4326")


def _gate_xy(seg: Segments, gates: list[np.ndarray]) -> np.ndarray:
    """Where each gateway zone sits: the middle of its road ends."""
    return np.array([seg.node_xy[g].mean(axis=0) for g in gates]).reshape(-1, 2)


def _geometry(
    net: Network, seg: Segments, centres: np.ndarray, gates: list[np.ndarray]
) -> np.ndarray:
    """A metric geometry per link of `net`: road links reuse their segment, connectors are lines."""
    out = np.empty(net.n_links, dtype=object)
    road = net.source_id >= 0
    out[road] = seg.geometry[net.source_id[road]]
    xy = np.vstack([centres, _gate_xy(seg, gates), seg.node_xy])
    ends = np.column_stack([net.node_ids[net.tail], net.node_ids[net.head]])[~road]
    out[~road] = shapely.linestrings(np.stack([xy[ends[:, 0]], xy[ends[:, 1]]], axis=1))
    return out
