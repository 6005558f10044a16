"""Publishing scenario results as open data, pinned baseline versions, and the CLI commands.

These tests write to their own store (not the shared `bundled` one), so the catalog other tests
see is unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from opendata.errors import SpecError
from opendata.ingest.computed import publish_frame
from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import load_spec
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.published import read_published
from tests.conftest import DATASETS, write_toml
from twin.scenarios.cli import compare_command, run_command
from twin.scenarios.run import ScenarioResult, publish_result, run_scenario
from twin.scenarios.spec import load_scenario, parse_scenario

SCENARIOS = DATASETS / "scenarios"
CLOSE = SCENARIOS / "close_mannerheimintie.toml"


def own_store(root: Path) -> Settings:
    """Roads, buildings and services ingested into a new store under `root`."""
    cfg = Settings(data_dir=root / "data", datasets_dir=DATASETS, source_roots=(DATASETS,))
    for name in ("roads", "buildings", "services"):
        ingest(load_spec(DATASETS / f"{name}.toml"), cfg)
    return cfg


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return own_store(tmp_path_factory.mktemp("scenario_store"))


@pytest.fixture(scope="module")
def result(store: Settings) -> ScenarioResult:
    return run_scenario(store, load_scenario(CLOSE))


@pytest.fixture(scope="module")
def published(store: Settings, result: ScenarioResult) -> dict[str, int]:
    return publish_result(store, result)


def test_results_are_published_as_five_scenario_datasets(store, published):
    names = {d.name for d in Catalog(store.catalog_url).datasets(kind="scenario")}
    parts = ("links", "buildings", "zones", "totals", "periods")
    assert {f"scenario_close_mannerheimintie_{p}" for p in parts} <= names
    assert published == dict.fromkeys(parts, 1)


def test_published_links_keep_road_ids_and_closed_flows(store, published):
    links, _ = read_published(store, "scenario_close_mannerheimintie_links")
    roads, _ = read_published(store, "roads")
    assert links.crs.to_epsg() == 4326
    assert set(links.loc[links["road_fid"] >= 0, "road_fid"]) <= set(roads["fid"])
    closed = links[links["edit"] == "closed"]
    assert len(closed) > 10 and (closed["flow_scen"] == 0).all()


def test_published_version_records_provenance(store, result, published):
    version = Catalog(store.catalog_url).version("scenario_close_mannerheimintie_totals")
    prov = version.provenance
    assert prov["spec_sha256"] == result.spec.sha256
    assert prov["datasets"] == {"buildings": 1, "roads": 1, "services": 1}
    assert prov["part"] == "totals" and prov["code_version"]


def test_republishing_identical_results_adds_no_version(store, published):
    again = publish_result(store, run_scenario(store, load_scenario(CLOSE)))
    assert again == published


def test_zone_accessibility_columns_are_published(store, published):
    zones, _ = read_published(store, "scenario_close_mannerheimintie_zones")
    assert {"walk_grocery_min_base", "drive_school_min_scen"} <= set(zones.columns)


def _roads_v2_without(store: Settings, street: str) -> None:
    """Publish a second roads version without one street (as if it had been removed)."""
    spec = load_spec(DATASETS / "roads.toml")
    roads, _ = read_published(store, "roads")
    publish_frame(
        store,
        name="roads",
        metadata=spec.raw["metadata"],
        fields=spec.raw["schema"]["fields"],
        frame=roads[roads["name"] != street],
        provenance={"test": "roads without " + street},
    )


def test_pinned_roads_version_is_read_instead_of_the_current_one(tmp_path: Path):
    store = own_store(tmp_path)
    _roads_v2_without(store, "Mannerheimintie")
    current = load_scenario(CLOSE)
    with pytest.raises(SpecError, match="the selection matches no road links"):
        run_scenario(store, current)
    pinned = parse_scenario({**current.raw, "baseline": {"roads": 1}})
    result = run_scenario(store, pinned)
    assert result.provenance["datasets"]["roads"] == 1
    assert (result.links["edit"] == "closed").sum() > 10


@click.group()
@click.pass_context
def twin(ctx: click.Context) -> None:
    """The `twin` group as the lead mounts it (settings in ctx.obj)."""


twin.add_command(run_command)
twin.add_command(compare_command)


def invoke(store: Settings, *args: str):
    return CliRunner().invoke(twin, list(args), obj={"settings": store})


def test_cli_run_prints_a_before_after_table_and_writes_json(store, tmp_path: Path):
    out = invoke(
        store, "run", str(SCENARIOS / "centre_30kmh.toml"), "--no-publish", "--out", str(tmp_path)
    )
    assert out.exit_code == 0, out.output
    assert "vehicle_hours" in out.stdout and "baseline" in out.stdout
    assert "scenario: demand+assignment" in out.stderr and "gap" in out.stdout
    summary = json.loads((tmp_path / "centre_30kmh.json").read_text(encoding="utf-8"))
    assert summary["totals"]["mean_speed"]["change"] < 0
    assert (tmp_path / "centre_30kmh_links.geojson").is_file()


def test_cli_run_bad_spec_is_one_line_and_exit_2(store, tmp_path: Path):
    bad = write_toml(
        tmp_path / "bad.toml",
        {"name": "bad", "title": {"en": "Bad", "fi": "Huono"}, "edits": [{"type": "widen"}]},
    )
    out = invoke(store, "run", str(bad), "--no-publish")
    assert out.exit_code == 2
    assert "unknown edit type 'widen'" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_cli_compare_published_scenarios_by_name(store, published):
    out = invoke(store, "compare", "close_mannerheimintie", "close_mannerheimintie")
    assert out.exit_code == 0, out.output
    line = next(r for r in out.stdout.splitlines() if r.startswith("vehicle_hours"))
    assert line.split()[-1] == "0.00"


def test_cli_compare_json_files(store, result, tmp_path: Path):
    a = tmp_path / "a.json"
    a.write_text(json.dumps(result.to_dict()), encoding="utf-8")
    out = invoke(store, "compare", str(a), str(a))
    assert out.exit_code == 0 and "co2" in out.stdout


def test_cli_compare_unknown_scenario_exits_2(store):
    out = invoke(store, "compare", "nope", "close_mannerheimintie")
    assert out.exit_code == 2 and "no published scenario named 'nope'" in out.stderr
