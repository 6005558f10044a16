"""Serving from object storage (a real moto S3 server, a real PostgreSQL catalog): host B serves
the basemap tiles host A built without building its own, the orphans command knows superseded
tiles, and in redirect mode a download is a 302 to a presigned URL whose bytes, Range and ETag
come from the S3 server itself."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import requests

from api.app import create_app
from opendata.settings import Settings
from opendata.store import tiles_store
from opendata.store.orphans import find_orphans
from opendata.store.publish import publish
from opendata.store.tiles import build_basemap
from tests import s3
from tests.api.conftest_data import buildings, release

pytestmark = pytest.mark.slow  # a moto S3 server, PostgreSQL and tippecanoe

PARQUET = "/datasets/buildings/versions/1/buildings.parquet"


def _host(root: Path, host: str, store: str, catalog_url: str) -> Settings:
    return Settings(data_dir=root / host, store_url=store, catalog_url=catalog_url, rate_limit=0)


@pytest.fixture(scope="module")
def hosts(s3_env: dict, postgres_admin: str, tmp_path_factory) -> tuple[Settings, Settings]:
    """`buildings` published and its basemap built by host A; host B has an empty data folder."""
    from tests import postgres

    root, store = tmp_path_factory.mktemp("s3-serving"), s3.fresh_prefix()
    catalog_url = postgres.fresh_database(postgres_admin)
    host_a = _host(root, "host-a", store, catalog_url)
    frame = buildings(120)
    publish(host_a, release("buildings", frame), frame)
    assert build_basemap(host_a) is not None
    return host_a, _host(root, "host-b", store, catalog_url)


def test_the_built_tiles_are_store_objects_under_their_key(hosts, s3_env):
    host_a, _ = hosts
    record = tiles_store.current_record(host_a, fresh=True)
    keys = s3.objects(s3_env, host_a.store_url)
    assert f"tiles/{record['key']}/basemap.pmtiles" in keys
    assert f"tiles/{record['key']}/buildings.pmtiles" in keys
    assert record["layers"] == ["buildings"]


def test_another_host_serves_the_tiles_without_building_them(hosts, s3_env):
    host_a, host_b = hosts
    built_a = build_basemap(host_a)
    served = create_app(host_b).test_client().get("/tiles/basemap.pmtiles")
    assert served.status_code == 200
    assert served.data == (built_a.folder / "basemap.pmtiles").read_bytes()
    assert build_basemap(host_b).key == built_a.key  # the sources did not change: no rebuild
    assert not (host_b.data_dir / "tiles").exists()  # host B never built (tiles_dir untouched)
    assert (host_b.data_dir / "store-cache" / "tiles" / built_a.key / "basemap.pmtiles").is_file()


def test_orphans_lists_tiles_the_record_no_longer_names(hosts, s3_env):
    host_a, _ = hosts
    stale = "tiles/0123456789abcdef/basemap.pmtiles"
    s3._client(s3_env).put_object(
        Bucket=s3.BUCKET, Key=host_a.store_url.removeprefix(f"s3://{s3.BUCKET}/") + "/" + stale,
        Body=b"left by a killed build",
    )  # fmt: skip
    assert find_orphans(host_a) == ["tiles/0123456789abcdef"]
    assert find_orphans(host_a, delete=True) == ["tiles/0123456789abcdef"]
    assert stale not in s3.objects(s3_env, host_a.store_url)
    assert find_orphans(host_a) == []


def test_redirect_mode_answers_302_to_a_presigned_url(hosts, s3_env):
    _, host_b = hosts
    client = create_app(replace(host_b, store_downloads="redirect")).test_client()
    resp = client.get(PARQUET)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(s3_env["AWS_ENDPOINT_URL"]) and "X-Amz-Signature=" in location
    assert resp.headers["Cache-Control"] == "private, max-age=300"
    stored = s3.objects(s3_env, host_b.store_url)["datasets/buildings/v1/buildings.parquet"]
    whole = requests.get(location, timeout=10)
    part = requests.get(location, headers={"Range": "bytes=4-99"}, timeout=10)
    assert (whole.status_code, whole.content) == (200, stored)
    assert (part.status_code, part.content) == (206, stored[4:100])
    assert part.headers["Content-Range"] == f"bytes 4-99/{len(stored)}"
    assert part.headers["ETag"] == whole.headers["ETag"] != ""
    again = requests.get(location, headers={"If-None-Match": whole.headers["ETag"]}, timeout=10)
    assert again.status_code == 304


def test_proxy_mode_stays_the_default_and_other_formats_are_sent(hosts):
    _, host_b = hosts
    redirecting = create_app(replace(host_b, store_downloads="redirect")).test_client()
    assert create_app(host_b).test_client().get(PARQUET).status_code == 200
    csv = redirecting.get("/datasets/buildings/versions/1/buildings.csv")
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
