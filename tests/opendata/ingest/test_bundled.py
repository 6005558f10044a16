"""The bundled municipality publishes real, sensible data through every pipeline step."""

from __future__ import annotations

import geopandas as gpd
import pytest

from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.published import read_published


@pytest.fixture(scope="module")
def catalog(bundled: Settings) -> Catalog:
    return Catalog(bundled.catalog_url)


def test_every_bundled_dataset_is_published(catalog: Catalog) -> None:
    names = {ds.name for ds, _ in catalog.current()}
    bundled = {"roads", "buildings", "services", "stops", "green_areas", "water", "place_names"}
    assert bundled <= names


def test_roads_carry_class_name_oneway_lanes_and_speed(bundled: Settings) -> None:
    roads, _ = read_published(bundled, "roads")
    assert len(roads) > 2000
    assert {"primary", "secondary", "residential", "footway"} <= set(roads["highway"])
    assert "Mannerheimintie" in set(roads["name"])
    assert roads["oneway"].eq("yes").sum() > 100
    assert roads["lanes"].notna().sum() > 100
    thirty = roads[roads["maxspeed"] == "30"]
    assert len(thirty) > 100 and (thirty["maxspeed_kmh"] == 30).all()
    assert roads["maxspeed_kmh"].dropna().between(5, 130).all()
    assert set(roads.geometry.geom_type) <= {"LineString", "MultiLineString"}


def test_buildings_include_multipolygon_relations_and_estimate_residents(bundled: Settings) -> None:
    buildings, version = read_published(bundled, "buildings")
    assert len(buildings) > 400
    assert buildings["osm_key"].str.startswith("relation/").sum() > 20
    assert buildings["residents_est"].sum() > 5000
    assert (buildings.loc[buildings["use"] == "office", "residents_est"] == 0).all()
    estimate = next(c for c in version.columns if c["name"] == "residents_est")
    assert estimate["estimate"] is True and estimate["unit"] == "persons"


def test_services_came_through_the_nordic_csv_intact(bundled: Settings, catalog: Catalog) -> None:
    services, version = read_published(bundled, "services")
    assert set(services["category"]) == {"school", "health", "library", "grocery", "pharmacy"}
    assert "Helsingin yliopiston pääkirjasto" in set(services["name"])
    assert "Helsingfors universitets huvudbibliotek" in set(services["name_sv"])
    assert services.total_bounds[0] > 24.93 and services.total_bounds[3] < 60.18
    assert version.source_crs == "EPSG:3067"


def test_personal_data_in_services_was_detected_and_dropped(bundled: Settings) -> None:
    services, version = read_published(bundled, "services")
    assert "phone" not in services.columns and "email" not in services.columns
    findings = {(p["column"], p["detector"]): p for p in version.report["privacy"]}
    assert findings[("phone", "phone")]["action"] == "drop"
    assert findings[("email", "email")]["action"] == "drop"
    assert findings[("email", "email")]["count"] >= 1


def test_quarantine_is_reported_not_silent(catalog: Catalog) -> None:
    report = catalog.version("buildings").report
    assert report["rows_in"] == report["rows_published"] + report["rows_quarantined"]
    assert report["rows_quarantined"] > 0
    assert any("cannot be assembled" in reason for reason in report["quarantine_reasons"])


def test_green_areas_and_stops_have_kinds(bundled: Settings) -> None:
    green, _ = read_published(bundled, "green_areas")
    stops, _ = read_published(bundled, "stops")
    assert "park" in set(green["kind"]) and green["area_m2"].sum() > 10_000
    assert {"bus_stop"} <= set(stops["kind"])
    assert isinstance(stops, gpd.GeoDataFrame) and set(stops.geometry.geom_type) == {"Point"}


def test_water_areas_are_polygons_with_kinds_and_areas(bundled: Settings) -> None:
    water, version = read_published(bundled, "water")
    assert len(water) >= 10
    assert {"pond", "basin"} <= set(water["kind"])
    assert set(water.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    assert water["area_m2"].sum() > 3000
    assert version.report["rows_quarantined"] >= 1  # Töölönlahti, cut by the extract's edge


def test_place_names_are_points_named_in_finnish_and_swedish(bundled: Settings) -> None:
    places, _ = read_published(bundled, "place_names")
    by_name = dict(zip(places["name"], places["name_sv"], strict=True))
    assert by_name["Kluuvi"] == "Gloet" and by_name["Senaatintori"] == "Senatstorget"
    assert {"city", "suburb", "square"} <= set(places["place"])
    assert set(places.geometry.geom_type) == {"Point"} and places["name"].notna().all()
