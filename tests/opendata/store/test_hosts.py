"""Several hosts on one catalog: publication is serialised by a PostgreSQL advisory lock, so two
`civic ingest` processes with their own local data folders, one shared store and one catalog,
started together, publish exactly one version (real processes, a real PostgreSQL server)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pytest
import sqlalchemy as sa

from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import dataset_lock, version_path
from tests.opendata.helpers import PLACES, nordic_csv, places_spec

CIVIC = [sys.executable, "-c", "from api.cli import main; main()"]

pytestmark = pytest.mark.slow  # PostgreSQL and `civic ingest` subprocesses


def _host(folder: Path, host: str, store: Path, catalog_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CIVIC_DATA_DIR": str(folder / host),
        "CIVIC_STORE_URL": str(store),
        "CIVIC_CATALOG_URL": catalog_url,
        "CIVIC_DATASETS_DIR": str(folder),
        "CIVIC_SOURCE_ROOTS": str(folder),
    }


def _start(env: dict[str, str]) -> subprocess.Popen:
    out = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    return subprocess.Popen([*CIVIC, "ingest", "places"], env=env, **out)


def _race(folder: Path, store: Path, url: str) -> list[str]:
    """Both hosts ingest `places` at the same moment; their summary lines."""
    procs = [_start(_host(folder, host, store, url)) for host in ("host-a", "host-b")]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    return sorted(line for out in outputs for line in out.splitlines() if "summary" in line)


def test_two_hosts_ingesting_at_once_publish_exactly_one_version(
    tmp_path: Path, postgres_url: str
) -> None:
    store = tmp_path / "shared-store"
    nordic_csv(tmp_path / "places.csv")
    places_spec(tmp_path)
    assert _race(tmp_path, store, postgres_url) == [
        "summary: 0 published, 1 unchanged (places), 0 failed",
        "summary: 1 published (places), 0 unchanged, 0 failed",
    ]
    settings = Settings(
        data_dir=tmp_path / "host-a", store_url=str(store), catalog_url=postgres_url
    )
    catalog = Catalog(postgres_url)
    assert [v.version for v in catalog.versions("places")] == [1]
    assert len(gpd.read_parquet(version_path(settings, catalog.version("places")))) == len(PLACES)
    assert sorted(p.name for p in (store / "datasets" / "places").iterdir()) == ["v1"]
    assert sorted(r["status"] for r in catalog.runs("places")) == ["published", "unchanged"]


def _waiting_for_advisory_lock(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        waiting = int(conn.execute(sa.text(query)).scalar_one())
    engine.dispose()
    return waiting


def test_a_publisher_on_another_host_waits_for_the_advisory_lock(
    tmp_path: Path, postgres_url: str
) -> None:
    store = tmp_path / "shared-store"
    nordic_csv(tmp_path / "places.csv")
    places_spec(tmp_path)
    holder = Settings(data_dir=tmp_path / "host-a", store_url=str(store), catalog_url=postgres_url)
    with dataset_lock(holder, "places"):
        proc = _start(_host(tmp_path, "host-b", store, postgres_url))
        deadline = time.monotonic() + 60
        while _waiting_for_advisory_lock(postgres_url) == 0 and proc.poll() is None:
            assert time.monotonic() < deadline, "the other host never asked for the lock"
            time.sleep(0.1)
        assert proc.poll() is None  # it waits, and has published nothing
        assert Catalog(postgres_url).datasets() == []
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, out
    assert Catalog(postgres_url).dataset("places").current_version == 1
