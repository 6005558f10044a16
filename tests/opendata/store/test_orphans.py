"""`civic store orphans` on the local store: version folders and staging folders no catalog row
names are listed, and removed with --delete; committed versions are never touched."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from api.cli import cli
from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import load_spec
from opendata.settings import Settings
from tests.opendata.helpers import nordic_csv, places_spec


def test_local_orphans_are_listed_then_deleted(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", datasets_dir=tmp_path, source_roots=(tmp_path,))
    nordic_csv(tmp_path / "places.csv")
    places_spec(tmp_path)
    ingest(load_spec(tmp_path / "places.toml"), settings)
    folder = settings.store_dir / "datasets" / "places"
    (folder / "v7").mkdir()
    (folder / ".tmp-dead").mkdir()
    runner = CliRunner(env={"CIVIC_DATA_DIR": str(settings.data_dir)})
    listed = runner.invoke(cli, ["store", "orphans"])
    assert listed.output.splitlines() == [
        "orphan datasets/places/.tmp-dead",
        "orphan datasets/places/v7",
        "2 orphan(s)",
    ]
    assert runner.invoke(cli, ["store", "orphans", "--delete"]).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "v1"]
