"""The object store back end against a real local S3 server (moto) and a real PostgreSQL
catalog: a version is published under its own prefix, another host with an empty data folder
reads it (items, SQL, the twin's `read_published`, downloads with Range/ETag) through its
read-through cache, and a publish killed after its upload leaves an orphan that
`civic store orphans --delete` removes and the next run does not trip over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.app import create_app
from api.cli import cli
from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import load_spec
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.published import read_published
from tests import s3
from tests.opendata.helpers import PLACES, nordic_csv, places_spec

CIVIC = [sys.executable, "-c", "from api.cli import main; main()"]

pytestmark = pytest.mark.slow  # a moto S3 server, PostgreSQL and subprocesses


def _host(tmp_path: Path, host: str, store: str, catalog_url: str) -> Settings:
    return Settings(data_dir=tmp_path / host, datasets_dir=tmp_path, source_roots=(tmp_path,),
                    store_url=store, catalog_url=catalog_url, rate_limit=0)  # fmt: skip


@pytest.fixture
def published(tmp_path: Path, s3_env: dict, postgres_url: str) -> tuple[Settings, Settings]:
    """`places` v1 published by host A to S3; host B (empty data dir) on the same store."""
    store = s3.fresh_prefix()
    nordic_csv(tmp_path / "places.csv")
    places_spec(tmp_path)
    host_a = _host(tmp_path, "host-a", store, postgres_url)
    result = ingest(load_spec(tmp_path / "places.toml"), host_a)
    assert (result.status, result.version) == ("published", 1)
    return host_a, _host(tmp_path, "host-b", store, postgres_url)


def test_a_version_is_written_under_its_own_prefix(published, s3_env):
    host_a, _ = published
    keys = sorted(s3.objects(s3_env, host_a.store_url))
    assert "datasets/places/v1/places.parquet" in keys
    assert "datasets/places/v1/report.json" in keys


def test_another_host_reads_the_version_through_its_cache(published):
    _, host_b = published
    frame, version = read_published(host_b, "places")
    assert (len(frame), version.version) == (len(PLACES), 1)
    assert (host_b.data_dir / "store-cache" / version.path).is_file()


def test_items_sql_and_ranged_downloads_on_another_host(published, s3_env):
    _, host_b = published
    client = create_app(host_b).test_client()
    items = client.get("/collections/places/items?f=json").get_json()
    assert items["numberMatched"] == len(PLACES)
    sql = client.get("/api/sql", query_string={"sql": "select count(*) as n from places"})
    assert sql.status_code == 200, sql.get_data(as_text=True)
    assert str(len(PLACES)) in sql.get_data(as_text=True)
    url = "/datasets/places/versions/1/places.parquet"
    whole = client.get(url)
    stored = s3.objects(s3_env, host_b.store_url)["datasets/places/v1/places.parquet"]
    assert whole.status_code == 200 and whole.data == stored
    part = client.get(url, headers={"Range": "bytes=4-99"})
    assert (part.status_code, part.data) == (206, stored[4:100])
    assert part.headers["ETag"] == whole.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": whole.headers["ETag"]})
    assert again.status_code == 304


def test_a_publish_killed_after_upload_leaves_an_orphan_that_is_cleaned(
    published, tmp_path, s3_env
):
    host_a, host_b = published
    nordic_csv(tmp_path / "places.csv", PLACES[:2])
    env = {
        **os.environ,
        "CIVIC_DATA_DIR": str(host_a.data_dir),
        "CIVIC_STORE_URL": host_a.store_url,
        "CIVIC_CATALOG_URL": host_a.catalog_url,
        "CIVIC_DATASETS_DIR": str(tmp_path),
        "CIVIC_SOURCE_ROOTS": str(tmp_path),
        "CIVIC_PAUSE_AT": "after_upload",
    }
    proc = subprocess.Popen([*CIVIC, "ingest", "places"], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        assert proc.stderr.readline().strip() == "PAUSED after_upload"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
        proc.stderr.close()
    assert Catalog(host_a.catalog_url).dataset("places").current_version == 1
    assert "datasets/places/v2/places.parquet" in s3.objects(s3_env, host_a.store_url)
    runner = CliRunner(env={"CIVIC_DATA_DIR": str(host_b.data_dir), "CIVIC_STORE_URL":
                            host_b.store_url, "CIVIC_CATALOG_URL": host_b.catalog_url})  # fmt: skip
    listed = runner.invoke(cli, ["store", "orphans"])
    assert listed.output.splitlines() == ["orphan datasets/places/v2", "1 orphan(s)"]
    deleted = runner.invoke(cli, ["store", "orphans", "--delete"])
    assert deleted.exit_code == 0 and "1 orphan(s) deleted" in deleted.output
    assert not any(
        k.startswith("datasets/places/v2/") for k in s3.objects(s3_env, host_a.store_url)
    )
    result = ingest(load_spec(tmp_path / "places.toml"), host_b)
    assert (result.status, result.version, result.rows) == ("published", 2, 2)
    frame, _ = read_published(host_a, "places")
    assert len(frame) == 2
