"""`kill -9` of a real `civic ingest` process at several points never exposes a partial version."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import load_spec
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path
from tests.conftest import spec_data, write_toml
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


# --- kill -9 at random moments of a real run --------------------------------------------------

#: A fork server for `civic ingest big`: it imports the command once, then for each line on stdin
#: forks a process that runs it (output discarded) and prints its id; at the next line it reaps
#: the process (never before: its id cannot be reused while we may kill it) and prints its exit
#: status. Each run is a real process killed by a real SIGKILL, and every kill lands inside the
#: ingest rather than in Python's start-up (which would test nothing).
FORK_SERVER = """
import os, sys
from opendata.cli import ingest_cmd
print("ready", flush=True)
for _ in sys.stdin:
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        try:
            ingest_cmd.main(["big"], prog_name="civic ingest")
        except SystemExit as done:
            os._exit(done.code or 0)
        os._exit(1)
    print(pid, flush=True)
    sys.stdin.readline()
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""
ROWS = 300_000
KILLS = 20


def _big_dataset(folder: Path) -> Path:
    """A clean point CSV (columnar path) of ROWS rows in EPSG:3067 and its spec."""
    rng = np.random.default_rng(7)
    table = pa.table(
        {
            "id": np.arange(1, ROWS + 1),
            "nimi": pa.array([f"kohde {i}" for i in range(ROWS)]),
            "maara": rng.integers(0, 1000, ROWS),
            "x": np.round(rng.uniform(380_000, 395_000, ROWS), 2),
            "y": np.round(rng.uniform(6_670_000, 6_680_000, ROWS), 2),
        }
    )
    path = folder / "big.csv"
    pacsv.write_csv(table, path, pacsv.WriteOptions(delimiter=";", quoting_style="none"))
    source = {"path": "big.csv", "format": "csv", "crs": "EPSG:3067"}
    source["options"] = {"delimiter": ";", "x": "x", "y": "y"}
    fields = [
        {"name": "id", "type": "integer"},
        {"name": "nimi", "type": "string"},
        {"name": "maara", "type": "integer", "min": 0},
    ]
    write_toml(folder / "big.toml", spec_data(source, fields, primary_key="id"))
    return path


class _Runs:
    """The fork server: `start` a run (its process id), then `wait` for its exit status."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        env = {k: v for k, v in _env(folder, settings, "").items() if k != "CIVIC_PAUSE_AT"}
        self.server = subprocess.Popen(
            [sys.executable, "-c", FORK_SERVER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.server.stdout.readline().strip() == "ready"

    def start(self) -> int:
        self.server.stdin.write("go\n")
        self.server.stdin.flush()
        return int(self.server.stdout.readline())

    def wait(self) -> int:
        self.server.stdin.write("reap\n")
        self.server.stdin.flush()
        return int(self.server.stdout.readline())

    def close(self) -> None:
        self.server.stdin.close()
        self.server.wait(timeout=30)
        self.server.stdout.close()


def _assert_serving(settings: Settings, catalog: Catalog, allowed: set[int]) -> int:
    """The current version is one of `allowed`, and it and every version the catalog lists are
    complete on disk; returns the current version."""
    current = catalog.dataset("big").current_version
    assert current in allowed
    for version in catalog.versions("big"):
        table = pq.read_table(version_path(settings, version), columns=["id"])
        assert table.num_rows == version.rows
    return current


@pytest.mark.slow
def test_kill_9_at_20_random_moments_never_exposes_a_partial_version(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", datasets_dir=tmp_path, source_roots=(tmp_path,))
    source = _big_dataset(tmp_path)
    runs = _Runs(tmp_path, settings)
    try:
        started = time.monotonic()
        runs.start()
        assert runs.wait() == 0
        run_s = time.monotonic() - started  # one whole ingest of the dataset: kills fall in it
        catalog = Catalog(settings.catalog_url)
        serving, moments = _assert_serving(settings, catalog, {1}), []
        rng = random.Random(1207)
        window = run_s  # where kills are drawn; the first run is the slowest (cold caches)
        for kill in range(KILLS):
            with source.open("a") as handle:  # a changed source: the run would publish v(n+1)
                handle.write(f"{ROWS + kill + 1};lisätty {kill};1;385000.00;6675000.00\n")
            delay = rng.uniform(0, window)
            pid = runs.start()
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)
            moments.append((round(delay, 2), code := runs.wait()))  # -9, or 0 if it had finished
            if code == 0:  # a warm run is quicker than the first: aim inside it from now on
                window = delay
            newest = max(v.version for v in catalog.versions("big"))
            serving = _assert_serving(settings, catalog, {serving, newest})
        runs.start()
        assert runs.wait() == 0, (run_s, moments)  # the next run succeeds...
    finally:
        runs.close()
    final = catalog.version("big")
    assert (final.rows, final.version) == (ROWS + KILLS, serving + 1)
    assert sum(code == -signal.SIGKILL for _, code in moments) >= KILLS // 2, moments
    # ...and leaves only versions the catalog lists: no staging folder, no orphan version.
    listed = {f"v{v.version}" for v in catalog.versions("big")}
    leftovers = sorted(p.name for p in (settings.data_dir / "datasets" / "big").iterdir())
    assert leftovers == sorted([".lock", *listed]), moments
