"""Scenario specs: the same schema from TOML, JSON and dicts; every malformed input refused with
one message naming the key path (a catalogue of cases, run through `parse_scenario`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from opendata.errors import SpecError
from tests.conftest import ROOT, write_toml
from twin.scenarios.model import Close, Development
from twin.scenarios.spec import load_scenario, parse_scenario

SCENARIOS = ROOT / "datasets" / "scenarios"
SQUARE = "POLYGON ((24.94 60.166, 24.945 60.166, 24.945 60.169, 24.94 60.169, 24.94 60.166))"


def valid() -> dict[str, Any]:
    return {
        "name": "test_case",
        "title": {"en": "Test", "fi": "Testi"},
        "edits": [{"type": "close", "name": "Mannerheimintie", "polygon": SQUARE}],
    }


def with_edit(**edit: Any) -> dict[str, Any]:
    data = valid()
    data["edits"] = [edit]
    return data


def changed(path: str, value: Any) -> dict[str, Any]:
    """The valid spec with one key (dotted path) set to `value`."""
    data = copy.deepcopy(valid())
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value
    return data


MALFORMED = {
    "unknown edit type": (with_edit(type="widen", name="X"), "edits[0].type: unknown edit type"),
    "unknown top key": (changed("nmae", "x"), "nmae: unknown key (did you mean 'name'?)"),
    "unknown edit key": (
        with_edit(type="close", name="X", lanes=2),
        "edits[0] (close).lanes: unknown key",
    ),
    "wrong type": (
        with_edit(type="change", name="X", lanes="two"),
        "edits[0] (change).lanes: expected a number",
    ),
    "negative capacity": (
        with_edit(type="change", name="X", capacity=-5),
        "edits[0] (change).capacity: must be positive",
    ),
    "no selection": (with_edit(type="close"), "edits[0] (close): give a selection"),
    "change without values": (
        with_edit(type="change", name="X"),
        "edits[0] (change): give at least one of",
    ),
    "bad wkt": (
        with_edit(type="close", polygon="POLYGON ((1 2, 3"),
        "edits[0] (close).polygon: not a WKT or GeoJSON geometry",
    ),
    "metric coordinates": (
        with_edit(
            type="close",
            polygon="POLYGON ((385000 6672000, 386000 6672000, 386000 6673000, 385000 6672000))",
        ),
        "edits[0] (close).polygon: coordinates must be longitude/latitude",
    ),
    "point where polygon needed": (
        with_edit(type="cordon_charge", polygon="POINT (24.94 60.17)", amount=2),
        "edits[0] (cordon_charge).polygon: expected a Polygon or MultiPolygon",
    ),
    "negative toll": (
        with_edit(type="cordon_charge", polygon=SQUARE, amount=-1),
        "edits[0] (cordon_charge).amount: must be >= 0",
    ),
    "empty development": (
        with_edit(type="development", geometry="POINT (24.94 60.17)"),
        "edits[0] (development): give dwellings and/or jobs",
    ),
    "negative dwellings": (
        with_edit(type="development", geometry="POINT (24.94 60.17)", dwellings=-10),
        "edits[0] (development).dwellings: must be >= 0",
    ),
    "add_link without speed": (
        with_edit(type="add_link", geometry="LINESTRING (24.94 60.17, 24.941 60.17)"),
        "edits[0] (add_link).speed_kmh: required key is missing",
    ),
    "bad currency": (
        with_edit(type="cordon_charge", polygon=SQUARE, amount=2, currency="USD"),
        "edits[0] (cordon_charge).currency: expected one of EUR, SEK",
    ),
    "no edits": (changed("edits", []), "edits: expected a non-empty array"),
    "bad name": (changed("name", "Close Street!"), "name: expected a lower-case identifier"),
    "title without fi or sv": (changed("title", {"en": "Only English"}), "title: give at least"),
    "bad algorithm": (changed("assignment.algorithm", "magic"), "assignment.algorithm"),
    "bad gap": (changed("assignment.target_gap", 2.0), "assignment.target_gap"),
    "version zero": (changed("baseline.roads", 0), "baseline.roads: expected a dataset version"),
    "unknown demand assumption": (
        changed("baseline.demand", {"trips_per_cat": 1.0}),
        "baseline.demand.trips_per_cat: unknown key",
    ),
    "unknown service category": (
        changed("impacts.categories", ["bars"]),
        "impacts.categories[0]: expected one of",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_spec_is_refused_with_its_key_path(case: str) -> None:
    data, message = MALFORMED[case]
    with pytest.raises(SpecError) as err:
        parse_scenario(data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_toml_json_and_dict_give_the_same_spec_and_hash(tmp_path: Path) -> None:
    data = valid()
    toml_spec = load_scenario(write_toml(tmp_path / "s.toml", data))
    (tmp_path / "s.json").write_text(json.dumps(data), encoding="utf-8")
    json_spec = load_scenario(tmp_path / "s.json")
    assert toml_spec == json_spec == parse_scenario(data)
    assert toml_spec.sha256 == json_spec.sha256 == parse_scenario(data).sha256
    assert len(toml_spec.sha256) == 64


def test_a_different_spec_has_a_different_hash() -> None:
    assert parse_scenario(valid()).sha256 != parse_scenario(changed("name", "other")).sha256


def test_geojson_polygon_is_accepted_like_wkt() -> None:
    geojson = {
        "type": "Polygon",
        "coordinates": [[[24.94, 60.166], [24.945, 60.166], [24.945, 60.169], [24.94, 60.166]]],
    }
    spec = parse_scenario(with_edit(type="close", polygon=geojson))
    edit = spec.edits[0]
    assert isinstance(edit, Close)
    assert edit.select.polygon.geom_type == "Polygon"
    assert edit.select.polygon.bounds == (24.94, 60.166, 24.945, 60.169)


def test_selection_ids_accept_one_value_or_a_list() -> None:
    one = parse_scenario(with_edit(type="close", road_fid=12)).edits[0]
    many = parse_scenario(with_edit(type="close", road_fid=[12, 13])).edits[0]
    assert one.select.road_fid == (12,) and many.select.road_fid == (12, 13)


def test_development_defaults_leave_persons_per_dwelling_to_the_table() -> None:
    spec = parse_scenario(with_edit(type="development", geometry=SQUARE, dwellings=100))
    edit = spec.edits[0]
    assert isinstance(edit, Development)
    assert edit.dwellings == 100 and edit.jobs == 0 and edit.persons_per_dwelling is None


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ('name = "x"\ntitle = {', ".toml", "not valid TOML"),
        ('{"name": "x",', ".json", "not valid JSON"),
    ],
)
def test_unparsable_file_names_the_file(tmp_path: Path, text: str, suffix: str, message: str):
    path = tmp_path / f"bad{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=message) as err:
        load_scenario(path)
    assert str(path) in str(err.value)


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_bundled_scenario_loads_and_is_named_after_its_file(path: Path) -> None:
    spec = load_scenario(path)
    assert spec.name == path.stem
    assert {"en", "fi", "sv"} <= spec.title.keys()
    assert spec.edits
