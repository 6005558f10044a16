"""Edits applied to the bundled city's arrays (no assignment): what each edit type does to links,
tolls and demand, and how selections combine."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from opendata.settings import Settings
from twin.data import persons_per_dwelling, value_of_time
from twin.scenarios.edits import (
    City,
    Variant,
    apply_edits,
    baseline_variant,
    load_city,
    select_links,
)
from twin.scenarios.spec import parse_scenario

SQUARE = "POLYGON ((24.938 60.1665, 24.944 60.1665, 24.944 60.17, 24.938 60.17, 24.938 60.1665))"
BLOCK = "POLYGON ((24.941 60.1740, 24.943 60.1740, 24.943 60.1750, 24.941 60.1750, 24.941 60.1740))"


def spec_with(*edits: dict):
    return parse_scenario({"name": "t", "title": {"en": "T", "fi": "T"}, "edits": list(edits)})


@pytest.fixture(scope="module")
def city(bundled: Settings) -> City:
    return load_city(bundled, spec_with({"type": "close", "road_fid": 1}))


@pytest.fixture(scope="module")
def base(city: City) -> Variant:
    return baseline_variant(city)


def selected_fids(city: City, base: Variant, **select) -> set[int]:
    selection = spec_with({"type": "close", **select}).edits[0].select
    arrays = {"road_fid": base.road_fid, "geometry": base.geometry}
    return set(base.road_fid[select_links(city, arrays, selection, "edits[0]")].tolist())


def test_finnish_and_swedish_street_names_select_the_same_links(city, base):
    fi = selected_fids(city, base, name="Mannerheimintie", polygon=SQUARE)
    sv = selected_fids(city, base, name="Mannerheimvägen", polygon=SQUARE)
    assert fi == sv and len(fi) > 3


def test_name_and_polygon_together_select_only_that_stretch(city, base):
    whole = selected_fids(city, base, name="Mannerheimintie")
    stretch = selected_fids(city, base, name="Mannerheimintie", polygon=SQUARE)
    assert stretch < whole


def test_road_fid_and_osm_key_select_the_same_feature(city, base):
    fid = int(base.road_fid[base.road_fid >= 0][0])
    key = city.roads.set_index("fid").loc[fid, "osm_key"]
    assert (
        selected_fids(city, base, road_fid=fid) == selected_fids(city, base, osm_key=key) == {fid}
    )


def test_closed_links_leave_the_network_and_map_back_to_the_baseline(city, base):
    edit = {"type": "close", "name": "Mannerheimintie", "polygon": SQUARE}
    variant = apply_edits(city, spec_with(edit), base)
    assert variant.closed.size > 3
    assert variant.network.n_links == base.network.n_links - variant.closed.size
    assert not np.isin(variant.base_link, variant.closed).any()
    kept = variant.base_link
    assert (base.network.length[kept] == variant.network.length).all()


def test_lanes_alone_scale_capacity(city, base):
    edit = {"type": "change", "name": "Bulevardi", "lanes": 2}
    variant = apply_edits(city, spec_with(edit), base)
    b = variant.base_link
    touched = variant.road_fid >= 0
    touched &= (
        city.roads.set_index("fid")
        .reindex(variant.road_fid)["name"]
        .eq("Bulevardi")
        .to_numpy(dtype=bool, na_value=False)
    )
    ratio = variant.network.capacity[touched] / base.network.capacity[b[touched]]
    expected = 2 / base.network.lanes[b[touched]]
    assert np.allclose(ratio, expected) and (variant.network.lanes[touched] == 2).all()


def test_max_speed_only_lowers_speeds_and_updates_free_flow_time(city, base):
    variant = apply_edits(
        city, spec_with({"type": "change", "polygon": SQUARE, "max_speed_kmh": 30}), base
    )
    before = base.network.speed[variant.base_link]
    after = variant.network.speed
    assert (after <= np.maximum(before, 0) + 1e-12).all() and (after < before).any()
    slowed = after < before
    fft = variant.network.length[slowed] / 1000 / 30 * 60
    assert np.allclose(variant.network.free_flow_time[slowed], fft)


def test_cordon_charge_turns_euros_into_minutes_on_entering_links(city, base):
    edit = {"type": "cordon_charge", "polygon": SQUARE, "amount": 3.0}
    variant = apply_edits(city, spec_with(edit), base)
    tolls = variant.network.toll[variant.network.toll > 0]
    assert tolls.size > 3
    assert np.allclose(tolls, 3.0 / value_of_time("EUR") * 60)
    assert variant.network.toll_factor == 1.0


def test_polygon_development_adds_all_its_residents_across_zones(city, base):
    edit = {"type": "development", "geometry": BLOCK, "dwellings": 500, "jobs": 100}
    variant = apply_edits(city, spec_with(edit), base)
    added = variant.residents - base.residents
    assert added.sum() == pytest.approx(500 * persons_per_dwelling("helsinki"))
    assert (added >= 0).all()
    assert (variant.jobs - base.jobs).sum() == pytest.approx(100)
    assert len(variant.new_buildings) == 1


def test_jobs_only_development_adds_jobs_and_no_residents(city, base):
    edit = {"type": "development", "geometry": "POINT (24.942 60.1745)", "jobs": 500}
    variant = apply_edits(city, spec_with(edit), base)
    np.testing.assert_array_equal(variant.residents, base.residents)
    assert (variant.jobs - base.jobs).sum() == pytest.approx(500)
    assert (variant.jobs - base.jobs).max() == pytest.approx(500)  # a point: one zone


def test_added_link_joins_the_snapped_nodes_both_ways(city, base):
    net = base.network
    a, b = net.zones + 10, net.zones + 200
    xy = city.node_xy
    line = f"LINESTRING ({xy[a][0]} {xy[a][1]}, {xy[b][0]} {xy[b][1]})"
    geom = gpd.GeoSeries([shapely.from_wkt(line)], crs=3067).to_crs(4326).iloc[0]
    edit = {"type": "add_link", "geometry": geom.wkt, "speed_kmh": 40, "lanes": 2}
    variant = apply_edits(city, spec_with(edit), base)
    new = variant.base_link < 0
    pairs = set(zip(variant.network.from_id[new], variant.network.to_id[new], strict=True))
    ids = net.node_ids
    assert pairs == {(ids[a], ids[b]), (ids[b], ids[a])}
    assert np.allclose(variant.network.capacity[new], 1400.0)
