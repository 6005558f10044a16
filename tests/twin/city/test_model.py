"""The twin on the bundled city: built from published data, every link traceable, deterministic."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from opendata.settings import Settings
from opendata.store.published import read_published
from twin.city.model import CityModel, build_city_model
from twin.city.roads import ROAD_CLASSES, segments_from_roads
from twin.traffic.assignment import AssignmentConfig, assign


@pytest.fixture(scope="module")
def city(bundled: Settings) -> CityModel:
    return build_city_model(bundled)


def test_network_comes_from_the_current_published_roads(city: CityModel, bundled: Settings) -> None:
    roads, version = read_published(bundled, "roads")
    assert city.versions["roads"] == version.version
    fids = city.road_fid[city.road_fid >= 0]
    assert np.isin(fids, roads["fid"].to_numpy()).all()
    assert city.network.n_links > 1000 and city.network.zones >= 20


def test_every_road_link_lies_on_its_published_feature(city: CityModel, bundled: Settings) -> None:
    roads, _ = read_published(bundled, "roads")
    links = city.link_frame().to_crs("EPSG:3067")
    source = roads.set_index("fid").loc[links["road_fid"]].to_crs("EPSG:3067").geometry.to_numpy()
    # A link is a piece of its road between intersections: every point of it is on that road.
    farthest = shapely.hausdorff_distance(
        links.geometry.to_numpy(),
        shapely.intersection(links.geometry.to_numpy(), shapely.buffer(source, 0.05)),
    )
    assert np.nanmax(farthest) < 0.1


def test_oneway_roads_run_one_way_and_others_both(bundled: Settings) -> None:
    roads, _ = read_published(bundled, "roads")
    seg = segments_from_roads(roads)
    drivable = roads["highway"].isin(list(ROAD_CLASSES))
    oneway = roads.loc[drivable & (roads["oneway"] == "yes"), "fid"].to_numpy()
    twoway = roads.loc[
        drivable & roads["oneway"].isna() & roads["junction"].isna(), "fid"
    ].to_numpy()
    triples = set(zip(seg.from_node, seg.to_node, seg.source_fid, strict=True))
    one = [t for t in triples if t[2] in set(oneway)]
    two = [t for t in triples if t[2] in set(twoway)]
    assert len(one) > 50 and len(two) > 50
    assert not any((b, a, f) in triples for a, b, f in one)
    assert all((b, a, f) in triples for a, b, f in two)


def test_demand_is_positive_and_zones_sum_residents(city: CityModel) -> None:
    assert city.demand.shape == (city.network.zones, city.network.zones)
    assert city.demand.sum() > 1000
    assert city.zones["residents"].sum() > 5000


def test_assignment_converges_and_is_deterministic(city: CityModel) -> None:
    config = AssignmentConfig(algorithm="bfw", target_gap=1e-5, max_iterations=500)
    first = assign(city.network, city.demand, config)
    second = assign(city.network, city.demand, config)
    assert first.gap <= 1e-5
    np.testing.assert_array_equal(first.flow, second.flow)
    road = city.network.source_id >= 0
    assert (first.flow[road] > 0).sum() > 500
    frame = gpd.GeoDataFrame(
        {"flow": first.flow[road]}, geometry=city.link_geometry[road], crs="EPSG:3067"
    )
    assert frame.geometry.length.sum() > 10_000


def test_cli_assigns_the_city_and_maps_links_to_road_fids(bundled: Settings, tmp_path) -> None:
    import os
    import subprocess
    import sys

    import pandas as pd

    out = tmp_path / "city.csv"
    env = {
        **os.environ,
        "CIVIC_DATA_DIR": str(bundled.data_dir),
        "CIVIC_CATALOG_URL": bundled.catalog_url,
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from api.cli import main; main()",
            "twin",
            "assign",
            "--city",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "city: converged" in done.stdout
    links = pd.read_csv(out)
    roads, _ = read_published(bundled, "roads")
    road_links = links[links["source_id"] >= 0]
    assert len(road_links) > 1000
    assert road_links["source_id"].isin(roads["fid"]).all()
    assert road_links["flow"].sum() > 0


def test_zones_can_come_from_a_published_zones_dataset(tmp_path) -> None:
    from opendata.ingest.computed import publish_frame
    from opendata.ingest.pipeline import ingest
    from opendata.ingest.specs import load_spec
    from tests.conftest import BASE_METADATA, DATASETS
    from twin.city.model import DemandAssumptions

    store = Settings(data_dir=tmp_path / "data", datasets_dir=DATASETS, source_roots=(DATASETS,))
    for name in ("roads", "buildings"):
        ingest(load_spec(DATASETS / f"{name}.toml"), store)
    west = shapely.box(24.92, 60.15, 24.944, 60.19)
    east = shapely.box(24.944, 60.15, 24.97, 60.19)
    zones = gpd.GeoDataFrame({"name": ["west", "east"]}, geometry=[west, east], crs="EPSG:4326")
    publish_frame(
        store,
        name="zones",
        metadata=BASE_METADATA,
        fields=[{"name": "name", "type": "string"}],
        frame=zones,
        provenance={"test": True},
    )
    model = build_city_model(store, DemandAssumptions(zones_dataset="zones"))
    buildings, _ = read_published(store, "buildings")
    grid = model.zones[model.zones["kind"] == "grid"]
    assert len(grid) == 2
    assert grid["residents"].sum() == pytest.approx(buildings["residents_est"].sum(), rel=1e-6)
    west_residents = buildings[buildings.representative_point().within(west)]["residents_est"].sum()
    assert grid["residents"].iloc[0] == pytest.approx(west_residents, rel=1e-6)
    assert model.demand[:2, :2].sum() > 0
    assert len(model.zone_cells) == 2 and model.zone_cells[0].equals(zones.to_crs(3067).geometry[0])
