"""Scenario specs: one small TOML or JSON file (or a dict from the API), parsed into frozen
dataclasses. Unknown keys and wrong types are refused with the key path (`edits[2].lanes`),
mirroring `opendata.ingest.specs`, so a typo never silently does nothing.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from types import UnionType
from typing import Any

import shapely
from shapely.geometry import shape

from opendata.errors import SpecError
from opendata.ingest.speccheck import check_keys, fail, number, text
from twin.city.model import DemandAssumptions
from twin.scenarios.demand_spec import parse_demand
from twin.scenarios.model import (
    CATEGORIES,
    CURRENCIES,
    DATASETS,
    NAME_RE,
    SELECT_KEYS,
    AddLink,
    AssignmentSpec,
    Baseline,
    Change,
    Close,
    CordonCharge,
    Development,
    Edit,
    Impacts,
    ScenarioSpec,
    Selection,
)
from twin.scenarios.timeofday import parse_time_of_day
from twin.traffic.assignment import DEFAULT_TARGET_GAP, TARGETS


def _number(data: Mapping[str, Any], key: str, path: str, *, positive: bool = False) -> float:
    value = number(data[key], f"{path}.{key}")
    if value < 0 or (positive and value == 0):
        need = "positive" if positive else ">= 0"
        raise SpecError(f"{path}.{key}: must be {need}, got {value!r}")
    return value


def _opt(data: Mapping[str, Any], key: str, path: str, **kw: bool) -> float | None:
    return _number(data, key, path, **kw) if key in data else None


def _list(value: object, path: str, kind: type | UnionType, label: str = "") -> tuple:
    """One value or a non-empty list of values of `kind`, as a tuple."""
    label = label or getattr(kind, "__name__", "number")
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, kind):
            raise fail(f"{path}[{i}]" if isinstance(value, list) else path, label, item)
    if not items:
        raise fail(path, f"a {label} or a non-empty list", value)
    return tuple(items)


def parse_geometry(value: object, path: str, kinds: tuple[str, ...]) -> shapely.Geometry:
    """A geometry in EPSG:4326 from WKT, a GeoJSON string or a GeoJSON table."""
    try:
        if isinstance(value, str) and value.lstrip().startswith("{"):
            value = json.loads(value)
        geom = shape(value) if isinstance(value, dict) else shapely.from_wkt(value)
    except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException) as err:
        raise SpecError(f"{path}: not a WKT or GeoJSON geometry ({err})") from None
    if geom is None or geom.geom_type not in kinds or geom.is_empty:
        raise fail(path, f"a {' or '.join(kinds)} (WKT or GeoJSON)", value)
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise SpecError(f"{path}: coordinates must be longitude/latitude (EPSG:4326)")
    if not geom.is_valid:
        raise SpecError(f"{path}: invalid geometry ({shapely.is_valid_reason(geom)})")
    return geom


def _selection(data: Mapping[str, Any], path: str) -> Selection:
    given = SELECT_KEYS & data.keys()
    if not given:
        raise SpecError(f"{path}: give a selection: {', '.join(sorted(SELECT_KEYS))}")
    polygon = data.get("polygon")
    return Selection(
        road_fid=_list(data["road_fid"], f"{path}.road_fid", int) if "road_fid" in data else (),
        osm_key=_list(data["osm_key"], f"{path}.osm_key", str) if "osm_key" in data else (),
        name=_list(data["name"], f"{path}.name", str) if "name" in data else (),
        polygon=None
        if polygon is None
        else parse_geometry(polygon, f"{path}.polygon", ("Polygon", "MultiPolygon")),
    )


def _close(data: Mapping[str, Any], path: str) -> Close:
    check_keys(data, path, {"type", "note"} | SELECT_KEYS, {"type"})
    return Close(_selection(data, path))


def _change(data: Mapping[str, Any], path: str) -> Change:
    values = {"lanes", "capacity", "speed_kmh", "max_speed_kmh"}
    check_keys(data, path, {"type", "note"} | SELECT_KEYS | values, {"type"})
    if not values & data.keys():
        raise SpecError(f"{path}: give at least one of {', '.join(sorted(values))}")
    kw = {k: _opt(data, k, path, positive=True) for k in values}
    return Change(_selection(data, path), **kw)


def _add_link(data: Mapping[str, Any], path: str) -> AddLink:
    keys = {"type", "note", "geometry", "speed_kmh", "lanes", "capacity", "oneway", "snap_m"}
    check_keys(data, path, keys, {"type", "geometry", "speed_kmh"})
    oneway = data.get("oneway", False)
    if not isinstance(oneway, bool):
        raise fail(f"{path}.oneway", "true or false", oneway)
    return AddLink(
        geometry=parse_geometry(data["geometry"], f"{path}.geometry", ("LineString",)),
        speed_kmh=_number(data, "speed_kmh", path, positive=True),
        lanes=_opt(data, "lanes", path, positive=True) or 1.0,
        capacity=_opt(data, "capacity", path, positive=True),
        oneway=oneway,
        snap_m=_opt(data, "snap_m", path, positive=True) or 30.0,
    )


def _development(data: Mapping[str, Any], path: str) -> Development:
    keys = {"type", "note", "geometry", "dwellings", "jobs", "persons_per_dwelling"}
    check_keys(data, path, keys, {"type", "geometry"})
    dwellings = _opt(data, "dwellings", path) or 0.0
    jobs = _opt(data, "jobs", path) or 0.0
    if dwellings + jobs <= 0:
        raise SpecError(f"{path}: give dwellings and/or jobs greater than 0")
    return Development(
        geometry=parse_geometry(data["geometry"], f"{path}.geometry", ("Point", "Polygon")),
        dwellings=dwellings,
        jobs=jobs,
        persons_per_dwelling=_opt(data, "persons_per_dwelling", path, positive=True),
    )


def _cordon(data: Mapping[str, Any], path: str) -> CordonCharge:
    keys = {"type", "note", "polygon", "amount", "currency", "value_of_time"}
    check_keys(data, path, keys, {"type", "polygon", "amount"})
    currency = data.get("currency", "EUR")
    if currency not in CURRENCIES:
        raise fail(f"{path}.currency", f"one of {', '.join(CURRENCIES)}", currency)
    return CordonCharge(
        polygon=parse_geometry(data["polygon"], f"{path}.polygon", ("Polygon", "MultiPolygon")),
        amount=_number(data, "amount", path),
        currency=currency,
        value_of_time=_opt(data, "value_of_time", path, positive=True),
    )


EDIT_TYPES = {
    "close": _close,
    "change": _change,
    "add_link": _add_link,
    "development": _development,
    "cordon_charge": _cordon,
}


def _edits(data: object) -> tuple[Edit, ...]:
    if not isinstance(data, list) or not data:
        raise fail("edits", "a non-empty array of tables ([[edits]])", data)
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "type" not in item:
            raise fail(f"edits[{i}]", "a table with a 'type' key", item)
        kind = item["type"]
        if kind not in EDIT_TYPES:
            known = ", ".join(EDIT_TYPES)
            raise SpecError(f"edits[{i}].type: unknown edit type {kind!r}; use one of {known}")
        out.append(EDIT_TYPES[kind](item, f"edits[{i}] ({kind})"))
    return tuple(out)


def _baseline(data: object) -> Baseline:
    if not isinstance(data, dict):
        raise fail("baseline", "a table", data)
    check_keys(data, "baseline", {*DATASETS, "demand"}, set())
    versions = {}
    for name in DATASETS:
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise fail(f"baseline.{name}", "a dataset version number >= 1", value)
            versions[name] = value
    demand = data.get("demand", {})
    if not isinstance(demand, dict):
        raise fail("baseline.demand", "a table of demand assumptions", demand)
    numeric = {f.name for f in fields(DemandAssumptions) if f.type in ("float", "int")}
    check_keys(demand, "baseline.demand", numeric, set())
    checked = {k: _number(demand, k, "baseline.demand", positive=True) for k in demand}
    ints = {f.name for f in fields(DemandAssumptions) if f.type == "int"}
    return Baseline(versions, {k: int(v) if k in ints else v for k, v in checked.items()})


def _assignment(data: object) -> AssignmentSpec:
    if not isinstance(data, dict):
        raise fail("assignment", "a table", data)
    check_keys(data, "assignment", {"algorithm", "target_gap", "max_iterations"}, set())
    algorithm = data.get("algorithm", "bfw")
    if algorithm not in TARGETS:
        raise fail("assignment.algorithm", f"one of {', '.join(sorted(TARGETS))}", algorithm)
    gap = number(data.get("target_gap", DEFAULT_TARGET_GAP), "assignment.target_gap")
    if not 0 < gap < 1:
        raise fail("assignment.target_gap", "a number in (0, 1)", gap)
    iters = data.get("max_iterations", 500)
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise fail("assignment.max_iterations", "an integer >= 1", iters)
    return AssignmentSpec(algorithm, gap, iters)


def _minutes(data: Mapping[str, Any], key: str, default: tuple[float, ...]) -> tuple[float, ...]:
    if key not in data:
        return default
    values = _list(data[key], f"impacts.{key}", int | float, "number")
    if any(v <= 0 for v in values):
        raise fail(f"impacts.{key}", "positive minutes", data[key])
    return tuple(sorted(float(v) for v in values))


def _impacts(data: object) -> Impacts:
    if not isinstance(data, dict):
        raise fail("impacts", "a table", data)
    keys = {"walk_minutes", "drive_minutes", "categories", "heavy_share", "noise_radius_m"}
    check_keys(data, "impacts", keys | {"region"}, set())
    categories = _list(data.get("categories", list(Impacts.categories)), "impacts.categories", str)
    for i, cat in enumerate(categories):
        if cat not in CATEGORIES:
            raise fail(f"impacts.categories[{i}]", f"one of {', '.join(CATEGORIES)}", cat)
    heavy = _opt(data, "heavy_share", "impacts")
    if heavy is not None and heavy > 0.5:
        raise fail("impacts.heavy_share", "a share between 0 and 0.5", heavy)
    region = data.get("region", "helsinki")
    if not isinstance(region, str):
        raise fail("impacts.region", "a string", region)
    return Impacts(
        walk_minutes=_minutes(data, "walk_minutes", Impacts.walk_minutes),
        drive_minutes=_minutes(data, "drive_minutes", Impacts.drive_minutes),
        categories=categories,
        heavy_share=heavy,
        noise_radius_m=_opt(data, "noise_radius_m", "impacts", positive=True) or 300.0,
        region=region,
    )


TOP_KEYS = {
    "name",
    "title",
    "description",
    "baseline",
    "edits",
    "assignment",
    "impacts",
    "demand",
    "time_of_day",
}


def parse_scenario(data: dict[str, Any]) -> ScenarioSpec:
    """Build a scenario from parsed TOML/JSON; raises `SpecError` naming the key path."""
    if not isinstance(data, dict):
        raise fail("scenario", "a table / JSON object", data)
    check_keys(data, "", TOP_KEYS, {"name", "title", "edits"})
    name = data["name"]
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise fail("name", "a lower-case identifier of up to 40 characters (a-z, 0-9, _)", name)
    title = text(data["title"], "title")
    if "en" not in title or not {"fi", "sv"} & title.keys():
        raise SpecError("title: give at least English and Finnish or Swedish (en + fi/sv)")
    return ScenarioSpec(
        name=name,
        title=title,
        description=text(data["description"], "description") if "description" in data else {},
        edits=_edits(data["edits"]),
        baseline=_baseline(data.get("baseline", {})),
        assignment=_assignment(data.get("assignment", {})),
        impacts=_impacts(data.get("impacts", {})),
        demand=parse_demand(data.get("demand", {})),
        time_of_day=parse_time_of_day(data.get("time_of_day", {})),
        raw=data,
    )


def load_scenario(path: str | Path) -> ScenarioSpec:
    """Load a scenario from a `.toml` or `.json` file; errors name the file and the key path."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such scenario file")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except UnicodeDecodeError as err:
        raise SpecError(f"{path}: not UTF-8 text ({err.reason})") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from None
    except json.JSONDecodeError as err:
        raise SpecError(f"{path}: not valid JSON: {err}") from None
    try:
        return parse_scenario(data)
    except SpecError as err:
        raise SpecError(f"{path}: {err}") from None
