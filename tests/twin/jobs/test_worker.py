"""Scenario jobs: validated before queueing, run by the worker to real results, claimed once,
and surviving a worker killed with SIGKILL (a real subprocess)."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from opendata.errors import SpecError
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from tests import backend
from tests.conftest import ROOT
from twin.jobs import queue, worker
from twin.jobs.queue import MAX_ATTEMPTS, claim, enqueue, recover
from twin.scenarios.cache import BaselineCache
from twin.scenarios.spec import parse_scenario

SCENARIOS = ROOT / "datasets" / "scenarios"


def scenario(source: str = "close_mannerheimintie", **changes: object) -> dict:
    data = tomllib.loads((SCENARIOS / f"{source}.toml").read_text(encoding="utf-8"))
    return {**data, **changes}


def copy_store(bundled: Settings, target: Path) -> Settings:
    """A private copy of the bundled store, so published results and jobs stay in this module."""
    return backend.copy_store(bundled, target / "data", rate_limit=0)


@pytest.fixture(scope="module")
def store(bundled: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return copy_store(bundled, tmp_path_factory.mktemp("jobs"))


@pytest.fixture(scope="module")
def cache() -> BaselineCache:
    return BaselineCache()


@pytest.fixture(scope="module")
def finished(store: Settings, cache: BaselineCache) -> queue.Job:
    """The closure of Mannerheimintie submitted and run by an in-process worker."""
    job = queue.submit(store, scenario())
    assert worker.run_worker(store, once=True, cache=cache) == 1
    return queue.get_job(store, job.id)


def test_submit_queues_the_spec_with_its_sha256(store):
    job = queue.submit(store, scenario(name="queued_only"))
    assert (job.status, job.progress, job.attempts) == ("queued", "queued", 0)
    assert job.spec_sha256 == parse_scenario(scenario(name="queued_only")).sha256
    assert job.spec["name"] == "queued_only"
    assert queue.queue_position(store, job) >= 0
    claimed = claim(store, worker.worker_id())  # keep the queue empty for the other tests
    assert claimed is not None and claimed.id == job.id
    queue.finish(store, job.id, "failed", error="not run in this test")


BAD_SPECS = {
    "unknown edit type": ({"edits": [{"type": "teleport"}]}, "edits[0].type"),
    "unknown key": (
        {"edits": [{"type": "close", "name": "Mannerheimintie", "lanez": 2}]},
        "lanez",
    ),
    "selection matching nothing": (
        {"edits": [{"type": "close", "name": "Nonexistent street 99"}]},
        "matches no road links",
    ),
    "unknown top-level key": ({"colour": "red"}, "colour"),
    "no edits": ({"edits": []}, "edits"),
}


@pytest.mark.parametrize("case", BAD_SPECS, ids=list(BAD_SPECS))
def test_bad_spec_raises_spec_error_and_queues_nothing(store, case):
    changes, fragment = BAD_SPECS[case]
    before = len(queue.list_jobs(store, limit=500))
    with pytest.raises(SpecError) as err:
        queue.submit(store, scenario(name="bad_one", **changes))
    assert fragment in str(err.value)
    assert len(queue.list_jobs(store, limit=500)) == before


def test_worker_runs_a_job_to_done_with_real_totals(finished):
    assert (finished.status, finished.progress, finished.error) == ("done", "done", None)
    totals = finished.summary["totals"]
    assert totals["vehicle_hours"]["change"] > 10  # the closure costs vehicle-hours
    assert totals["person_trips"]["change"] == pytest.approx(0, abs=1e-6)  # same people
    assert totals["trips_car"]["change"] < 0  # some leave the car (elastic demand)
    assert finished.summary["demand"]["model"] == "elastic"
    assert finished.summary["links"] == {"closed": 37}
    assert finished.started_at <= finished.finished_at


def test_done_job_records_the_published_versions(store, finished):
    catalog = Catalog(store.catalog_url)
    assert set(finished.versions) == {"links", "buildings", "zones", "totals", "periods"}
    for part, version in finished.versions.items():
        ds = catalog.dataset(f"scenario_close_mannerheimintie_{part}")
        assert (ds.kind, ds.current_version) == ("scenario", version)


def test_done_job_wrote_its_maps(store, finished):
    assert finished.maps == ["flows", "difference", "noise", "accessibility"]
    for kind in finished.maps:
        page = store.data_dir / "maps" / "close_mannerheimintie" / f"{kind}.html"
        assert page.stat().st_size > 10_000


def test_a_job_failing_at_run_time_is_failed_with_its_reason(store, cache):
    spec = scenario(name="fails_late", edits=[{"type": "close", "name": "No such street"}])
    job = enqueue(store, parse_scenario(spec), spec)  # bypasses the submission check
    worker.run_worker(store, once=True, cache=cache)
    failed = queue.get_job(store, job.id)
    assert failed.status == "failed"
    assert "edits[0] (close)" in failed.error and "matches no road links" in failed.error


def _queue(store: Settings, name: str) -> str:
    spec = scenario(name=name)
    return enqueue(store, parse_scenario(spec), spec).id


def test_claim_takes_the_oldest_job_once(store):
    first, second = _queue(store, "fifo_a"), _queue(store, "fifo_b")
    claimed = [claim(store, worker.worker_id()), claim(store, worker.worker_id())]
    assert [j.id for j in claimed] == [first, second]
    assert all(j.status == "running" and j.attempts == 1 for j in claimed)
    assert claim(store, worker.worker_id()) is None
    for job_id in (first, second):
        queue.finish(store, job_id, "failed", error="test")


def test_recover_requeues_only_jobs_of_dead_workers(store):
    dead, alive = _queue(store, "orphan"), _queue(store, "in_hand")
    claim(store, f"{os.uname().nodename}:999999999:dead")  # no such pid
    claim(store, worker.worker_id())  # this process: alive
    assert recover(store) == [dead]
    assert queue.get_job(store, dead).status == "queued"
    assert queue.get_job(store, alive).status == "running"
    for job_id in (dead, alive):
        queue.finish(store, job_id, "failed", error="test")


def test_a_job_that_keeps_killing_workers_is_failed(store):
    job_id = _queue(store, "poison")
    for _ in range(MAX_ATTEMPTS):
        claim(store, f"{os.uname().nodename}:999999999:dead")
        recover(store)
    job = queue.get_job(store, job_id)
    assert (job.status, job.attempts) == ("failed", MAX_ATTEMPTS)
    assert "died 3 times" in job.error


def _worker(store: Settings, log: Path, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "CIVIC_DATA_DIR": str(store.data_dir),
        "CIVIC_CATALOG_URL": store.catalog_url,
        "CIVIC_DATASETS_DIR": str(store.datasets_dir),
        "CIVIC_SOURCE_ROOTS": os.pathsep.join(map(str, store.source_roots)),
    }
    with open(log, "ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "twin.jobs.worker", *args],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=sink,
        )


def _wait(store: Settings, job_id: str, until, timeout: float, log: Path) -> queue.Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = queue.get_job(store, job_id)
        if until(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job state {job.status}/{job.progress}; log: {log.read_text()[-2000:]}")


@pytest.mark.slow
def test_job_survives_a_worker_killed_with_sigkill(store, tmp_path):
    log = tmp_path / "worker.log"
    slow = copy.deepcopy(scenario(name="restart_survivor"))
    slow["assignment"] = {"algorithm": "bfw", "target_gap": 1e-6, "max_iterations": 2000}
    job = queue.submit(store, slow)
    first = _worker(store, log)
    try:
        _wait(store, job.id, lambda j: "assignment" in j.progress, 120, log)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert queue.get_job(store, job.id).status == "running"  # as the dead worker left it
    second = _worker(store, log, "--once")
    try:
        done = _wait(store, job.id, lambda j: j.status in ("done", "failed"), 180, log)
        assert second.wait(timeout=60) == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    assert (done.status, done.attempts) == ("done", 2)
    assert done.summary["totals"]["vehicle_hours"]["change"] > 10
    assert "requeued" in log.read_text()


@pytest.mark.slow
def test_sigterm_gives_the_running_job_back_to_the_queue(store, tmp_path):
    log = tmp_path / "worker.log"
    slow = copy.deepcopy(scenario(name="stopped_politely"))
    slow["assignment"] = {"algorithm": "bfw", "target_gap": 1e-6, "max_iterations": 2000}
    job = queue.submit(store, slow)
    proc = _worker(store, log)
    try:
        _wait(store, job.id, lambda j: "assignment" in j.progress, 120, log)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stopped = queue.get_job(store, job.id)
    assert (stopped.status, stopped.attempts, stopped.worker) == ("queued", 0, None)
    queue.finish(store, queue.claim(store, worker.worker_id()).id, "failed", error="test")
