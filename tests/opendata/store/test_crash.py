"""`kill -9` of a real `civic ingest` process at several points never exposes a partial version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import load_spec
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path
from tests.opendata.helpers import PLACES, nordic_csv, places_spec

CIVIC = [sys.executable, "-c", "from api.cli import main; main()"]


def _env(folder: Path, settings: Settings, stage: str) -> dict[str, str]:
    return {
        **os.environ,
        "CIVIC_DATA_DIR": str(settings.data_dir),
        "CIVIC_DATASETS_DIR": str(folder),
        "CIVIC_SOURCE_ROOTS": str(folder),
        "CIVIC_PAUSE_AT": stage,
    }


def _kill_at(stage: str, folder: Path, settings: Settings) -> None:
    """Start `civic ingest places`, wait until it reaches `stage`, then SIGKILL it."""
    proc = subprocess.Popen(
        [*CIVIC, "ingest", "places"],
        env=_env(folder, settings, stage),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        assert line.strip() == f"PAUSED {stage}", line
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()


@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, Settings]:
    """Version 1 of `places` published, and a changed source waiting to become version 2."""
    settings = Settings(data_dir=tmp_path / "data", datasets_dir=tmp_path, source_roots=(tmp_path,))
    nordic_csv(tmp_path / "places.csv")
    places_spec(tmp_path)
    ingest(load_spec(tmp_path / "places.toml"), settings)
    nordic_csv(tmp_path / "places.csv", PLACES[:2])
    return tmp_path, settings


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["after_data", "before_rename", "before_commit"])
def test_kill_before_commit_leaves_previous_version_current(
    stage: str, published: tuple[Path, Settings]
) -> None:
    folder, settings = published
    _kill_at(stage, folder, settings)
    catalog = Catalog(settings.catalog_url)
    assert catalog.dataset("places").current_version == 1
    assert [v.version for v in catalog.versions("places")] == [1]
    assert len(gpd.read_parquet(version_path(settings, catalog.version("places")))) == 5
    # The interrupted attempt is recoverable: the next run publishes version 2 and cleans up.
    result = ingest(load_spec(folder / "places.toml"), settings)
    assert (result.status, result.version, result.rows) == ("published", 2, 2)
    leftovers = [p.name for p in (settings.data_dir / "datasets" / "places").iterdir()]
    assert sorted(leftovers) == [".lock", "v1", "v2"]
    statuses = [r["status"] for r in catalog.runs("places")]
    assert statuses[:2] == ["published", "interrupted"]


@pytest.mark.slow
def test_kill_after_commit_keeps_the_new_version(published: tuple[Path, Settings]) -> None:
    folder, settings = published
    _kill_at("after_commit", folder, settings)
    catalog = Catalog(settings.catalog_url)
    assert catalog.dataset("places").current_version == 2
    assert len(gpd.read_parquet(version_path(settings, catalog.version("places")))) == 2
