"""Spec loading: every bundled spec is valid; every malformed spec is refused with its key path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from opendata.errors import SpecError
from opendata.ingest.specs import find_specs, load_spec, parse_spec
from tests.conftest import DATASETS, spec_data, write_toml

GOOD = spec_data(
    {
        "path": "x.csv",
        "format": "csv",
        "crs": "EPSG:3067",
        "options": {"delimiter": ";", "x": "x", "y": "y"},
    },
    [
        {"name": "id", "type": "string", "required": True, "unique": True},
        {"name": "count", "type": "integer", "min": 0},
    ],
    primary_key="id",
)


def _mutate(path: str, value: object) -> dict:
    """A copy of GOOD with the value at a dotted path replaced (`...=DELETE` removes it)."""
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value == "DELETE":
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_good_spec_parses_with_every_section() -> None:
    spec = parse_spec(GOOD, name="good", base=Path("/tmp"))
    assert spec.name == "good"
    assert spec.source.crs == "EPSG:3067"
    assert spec.schema.primary_key == "id"
    assert [f.name for f in spec.schema.fields] == ["id", "count"]
    assert spec.metadata.title["fi"] == "Testiaineisto"


MALFORMED = [
    ("metadata.titel", "x", "metadata.titel: unknown key (did you mean 'title'?)"),
    ("metadata.title", "DELETE", "metadata.title: required key is missing"),
    (
        "metadata.title",
        {"en": "Only English"},
        "metadata.title: give at least English and Swedish or Finnish",
    ),
    ("metadata.title", {"xx": "Bad", "en": "A"}, "metadata.title.xx: unknown language code"),
    ("metadata.themes", ["ROADS"], "metadata.themes[0]: expected one of AGRI"),
    ("metadata.themes", "TRAN", "metadata.themes: expected a non-empty list"),
    ("metadata.update_frequency", "sometimes", "metadata.update_frequency: expected one of"),
    ("metadata.contact", {"name": "x"}, "metadata.contact.email: required key is missing"),
    ("metadata.license", 4, "metadata.license: expected a string, got 4"),
    ("source.format", "dbf", "source.format: expected one of csv"),
    ("source.crs", "3067", "source.crs: expected an 'EPSG:<code>' string"),
    ("source.path", "DELETE", "source.path: required key is missing"),
    ("source.options", "x", "source.options: expected a table"),
    ("schema.fields.0.type", "text", "schema.fields[0].type: expected one of string"),
    ("schema.fields.1.min", "zero", "schema.fields[1].min: expected a number"),
    (
        "schema.fields.1.requred",
        True,
        "schema.fields[1].requred: unknown key (did you mean 'required'?)",
    ),
    ("schema.fields.0.required", "yes", "schema.fields[0].required: expected true or false"),
    ("schema.fields", [], "schema.fields: expected a non-empty array"),
    ("schema.primary_key", "nope", "schema.primary_key: 'nope' is not one of the schema fields"),
    ("schema.geometry", "Circle", "schema.geometry: expected one of Point"),
    ("schema.extent", [24.8, 60.1, 25.3], "schema.extent: expected [west, south, east, north]"),
    ("schema.extent", "Helsinki", "schema.extent: expected [west, south, east, north]"),
    ("schema.extent", [24.8, 60.1, "25.3", 60.3], "schema.extent[2]: expected a number"),
    ("schema.extent", [25.3, 60.1, 24.8, 60.3], "schema.extent: expected west < east"),
    ("schema.extent", [24.8, 95.0, 25.3, 96.0], "schema.extent: expected west < east"),
    ("source.path", "a\x00b.csv", "source.path: contains an invisible control character (U+0000"),
    ("source.path", "a\nb.csv", "source.path: contains an invisible control character (U+000A"),
    ("source.path", "  ", "source.path: is empty"),
    ("transforms", [{"op": "explode_everything"}], "transforms[0].op: expected one of"),
    ("transforms", [{"op": "rename", "colums": {}}], "transforms[0].colums: unknown parameter"),
    ("transforms", [{"op": "rename"}], "transforms[0].columns: required parameter is missing"),
    ("transforms", [{"op": "length_m", "target": 5}], "transforms[0].target: expected a string"),
    ("privacy", {"email": {"action": "publish"}}, "privacy.email.action: expected one of drop"),
    ("privacy", {"email": {"action": "allow"}}, "privacy.email.reason: 'allow' needs a written"),
    ("quality", {"max_reject_fraction": 2}, "quality.max_reject_fraction: expected a fraction"),
    ("quality", {"max_rejects": 0.1}, "quality.max_rejects: unknown key"),
    ("name", "Roads With Spaces", "name: expected a lower-case identifier"),
    ("extra_section", {}, "extra_section: unknown key"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), MALFORMED, ids=[m[0] + "-" + m[2][:20] for m in MALFORMED]
)
def test_malformed_spec_is_refused_with_key_path(path: str, value: object, message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(_mutate(path, value), name="bad", base=Path("/tmp"))
    assert message in str(err.value)


def test_schema_extent_is_read_as_a_lon_lat_box() -> None:
    spec = parse_spec(_mutate("schema.extent", [24.8, 60.1, 25.3, 60.3]), name="x", base=Path("."))
    assert spec.schema.extent == (24.8, 60.1, 25.3, 60.3)


def test_duplicate_field_names_are_refused() -> None:
    data = _mutate("schema.fields.1.name", "id")
    with pytest.raises(SpecError, match="column names repeat: id"):
        parse_spec(data, name="bad", base=Path("/tmp"))


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[metadata\ntitle = "x"\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"broken.toml: not valid TOML"):
        load_spec(path)


def test_non_utf8_spec_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes('name = "\xe5"\n'.encode("latin-1"))
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(path)


def test_missing_spec_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "nope.toml")


def test_spec_file_round_trip_resolves_source_next_to_spec(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "places.toml", GOOD)
    spec = load_spec(path)
    assert spec.name == "places"
    assert spec.source.path == tmp_path / "x.csv"


BUNDLED = sorted(find_specs(DATASETS))


def test_bundled_municipality_has_the_promised_datasets() -> None:
    promised = {"roads", "buildings", "services", "stops", "green_areas", "water", "place_names"}
    assert promised <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_spec_loads_with_licence_and_attribution(name: str) -> None:
    spec = load_spec(DATASETS / f"{name}.toml")
    assert spec.metadata.license and spec.metadata.license_url.startswith("https://")
    assert "OpenStreetMap" in spec.metadata.attribution
    assert {"en", "fi", "sv"} <= spec.metadata.title.keys()
    assert spec.source.path.is_file()
