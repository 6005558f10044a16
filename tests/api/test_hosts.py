"""Two API hosts behind one reverse proxy, on one PostgreSQL catalog and one S3 store (real
processes, a real moto S3 server, a real PostgreSQL server): concurrent clients on a mix of
items, bbox queries, ranged file downloads, SQL and pages get no errors while one host is killed
with SIGKILL, the other keeps answering, and nothing published is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import load_spec
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from tests import s3
from tests.live import ROOT, free_port, wait_ready
from tests.opendata.helpers import PLACES, nordic_csv, places_spec
from tests.proxy import reverse_proxy

MIX = (
    "/collections/places/items?f=json&limit=2",
    "/collections/places/items?f=json&bbox=24.93,60.16,24.95,60.18",
    "/datasets/places/versions/1/places.parquet",  # asked with a Range header
    "/api/sql?sql=select%20count(*)%20as%20n%20from%20places",
    "/datasets/places",
    "/collections?f=json",
)
CLIENTS, SECONDS = 16, 8.0


def _host(settings: Settings, log: Path) -> tuple[subprocess.Popen, str, Path]:
    """Start `civic serve` (one worker, no job workers) in a process group of its own."""
    port = free_port()
    env = {**os.environ, "CIVIC_DATA_DIR": str(settings.data_dir),
           "CIVIC_CATALOG_URL": settings.catalog_url, "CIVIC_STORE_URL": settings.store_url,
           "CIVIC_RATE_LIMIT": "0", "CIVIC_TRUSTED_PROXIES": "1",
           "CIVIC_SCENARIO_WORKERS": "0"}  # fmt: skip
    command = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port",
               str(port), "--workers", "1"]  # fmt: skip
    with open(log, "wb") as sink:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink,
                                start_new_session=True)  # fmt: skip
    return proc, f"http://127.0.0.1:{port}", log


def _client(base: str, stop: threading.Event, seen: Counter, lock: threading.Lock) -> None:
    session = requests.Session()
    turn = 0
    while not stop.is_set():
        path = MIX[turn % len(MIX)]
        turn += 1
        headers = {"Range": "bytes=0-511"} if path.endswith(".parquet") else {}
        try:
            status = session.get(base + path, headers=headers, timeout=60).status_code
        except requests.RequestException as err:
            status = type(err).__name__
        with lock:
            seen[status] += 1


@pytest.mark.e2e
@pytest.mark.slow
def test_two_hosts_behind_a_proxy_survive_one_killed(tmp_path, postgres_url, s3_env):
    store = s3.fresh_prefix()
    nordic_csv(tmp_path / "places.csv")
    places_spec(tmp_path)
    hosts = [
        Settings(
            data_dir=tmp_path / name,
            store_url=store,
            catalog_url=postgres_url,
            datasets_dir=tmp_path,
            source_roots=(tmp_path,),
        )  # fmt: skip
        for name in ("a", "b")
    ]
    assert ingest(load_spec(tmp_path / "places.toml"), hosts[0]).version == 1
    procs = []
    try:
        procs = [_host(settings, tmp_path / f"{settings.data_dir.name}.log") for settings in hosts]
        for proc, host, log in procs:  # both start at once; wait for each
            wait_ready(host, proc, log)
        with reverse_proxy([host for _, host, _ in procs]) as (base, pool):
            stop, seen, lock = threading.Event(), Counter(), threading.Lock()
            clients = [threading.Thread(target=_client, args=(base, stop, seen, lock))
                       for _ in range(CLIENTS)]  # fmt: skip
            for thread in clients:
                thread.start()
            time.sleep(SECONDS / 2)
            before = dict(pool.served)
            os.killpg(procs[0][0].pid, signal.SIGKILL)  # host A and its worker, at once
            time.sleep(SECONDS / 2)
            stop.set()
            for thread in clients:
                thread.join(timeout=60)
            after = requests.get(base + MIX[0], timeout=30)
    finally:
        for proc, _, _ in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert set(seen) <= {200, 206}, seen
    assert sum(seen.values()) > 20
    assert len(before) == 2 and min(before.values()) > 0  # both hosts served before the kill
    assert after.status_code == 200 and after.json()["numberMatched"] == len(PLACES)
    assert [v.version for v in Catalog(postgres_url).versions("places")] == [1]
    print(f"answers {dict(seen)}; per host {dict(pool.served)}")
