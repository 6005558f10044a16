"""Scenario jobs: a persistent queue (SQLAlchemy Core; its own SQLite file in WAL mode by default)
and the worker loop that runs, publishes and maps them. Status and results survive restarts: a job
left `running` by a dead worker is requeued when a worker starts."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import click

from opendata.catalog import Catalog
from opendata.errors import CivicError
from opendata.privacy import keyed_hash
from opendata.settings import Settings
from twin.assignment import Progress
from twin.edits import City, apply_edits, baseline_variant, load_city
from twin.jobs_store import (
    Job,
    claim,
    enqueue,
    finish,
    get_job,
    list_jobs,
    queue_position,
    recent_submissions,
    recover,
    release,
    store_url,
    update,
)
from twin.scenario_run import Baseline, prepare_baseline, publish_result, run_scenario
from twin.scenario_spec import DATASETS, ScenarioSpec, parse_scenario

__all__ = ["get_job", "list_jobs", "queue_position", "recent_submissions", "submit", "run_worker"]
log = logging.getLogger("civic.jobs")
HEARTBEAT_S = 10.0
STOP = threading.Event()  # set by SIGTERM/SIGINT: finish at the next progress report


class Stopped(BaseException):
    """The worker was asked to stop; the job goes back to the queue."""


class Lru:
    """A tiny least-recently-used cache (a baseline is ~2 MB; keep a few)."""

    def __init__(self, size: int = 2) -> None:
        self.size, self.items = size, OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key not in self.items:
            self.items[key] = make()
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        self.items.move_to_end(key)
        return self.items[key]


def city_key(settings: Settings, spec: ScenarioSpec) -> tuple:
    """What a loaded city depends on: store, demand overrides and the dataset versions used."""
    catalog = Catalog(settings.catalog_url)
    pins = spec.baseline.versions
    versions = tuple((n, pins.get(n) or catalog.version(n).version) for n in DATASETS)
    demand = json.dumps(spec.baseline.demand, sort_keys=True)
    return (settings.catalog_url, str(settings.data_dir), demand, versions)


_CITIES = Lru(2)


def check_edits(settings: Settings, spec: ScenarioSpec) -> None:
    """Apply the edits to the published network (no assignment) so a selection matching
    nothing or an unreachable zone is refused at submission, not minutes later."""
    city: City = _CITIES.get(city_key(settings, spec), lambda: load_city(settings, spec))
    apply_edits(city, spec, baseline_variant(city))


def client_id(settings: Settings, address: str) -> str:
    """A keyed hash of a client address: enough to rate-limit, useless to identify anyone."""
    return keyed_hash(address, settings.hash_key.encode()) if address else ""


def submit(settings: Settings, spec_dict: dict[str, Any], *, client: str = "") -> Job:
    """Validate a scenario (spec, then edits against the network) and queue it.

    Raises `SpecError` naming the edit and the problem; nothing is queued then."""
    spec = parse_scenario(spec_dict)
    check_edits(settings, spec)
    return enqueue(settings, spec, spec_dict, client=client)


class Reporter:
    """Progress callback writing the stage (and assignment gap) to the job, at most every 1 s."""

    def __init__(self, settings: Settings, job_id: str) -> None:
        self.settings, self.job_id, self.last, self.stage = settings, job_id, 0.0, ""

    def __call__(self, stage: str, p: Progress | None = None) -> None:
        if STOP.is_set():  # raised here, in Python code, never inside a numba kernel
            raise Stopped
        now = time.monotonic()
        if stage == self.stage and now - self.last < 1.0:
            return
        self.stage, self.last = stage, now
        text = stage if p is None else f"{stage}: iteration {p.iteration}, gap {p.gap:.1e}"
        update(self.settings, self.job_id, progress=text, heartbeat=time.time())

    def beat(self, stop: threading.Event) -> None:
        """Heartbeat loop for a thread: proves the worker alive through long silent stages."""
        while not stop.wait(HEARTBEAT_S):
            update(self.settings, self.job_id, heartbeat=time.time())


class BaselineCache:
    """Solved baselines by (baseline_key, dataset versions), reused by jobs in one process."""

    def __init__(self, size: int = 2) -> None:
        self.lru = Lru(size)

    def get(self, settings: Settings, spec: ScenarioSpec, progress: Any = None) -> Baseline:
        key = (spec.baseline_key(), city_key(settings, spec))
        return self.lru.get(key, lambda: prepare_baseline(settings, spec, progress=progress))


def execute(settings: Settings, job: Job, cache: BaselineCache) -> Job:
    """Run one claimed job: solve, publish, draw maps, store the summary (or the error)."""
    from twin.maps import write_maps  # folium is only needed here

    report, stop = Reporter(settings, job.id), threading.Event()
    threading.Thread(target=report.beat, args=(stop,), daemon=True).start()
    try:
        spec = parse_scenario(job.spec)
        baseline = cache.get(settings, spec, report)
        result = run_scenario(settings, spec, baseline=baseline, progress=report)
        report("publishing")
        versions = publish_result(settings, result)
        report("drawing maps")
        maps = list(write_maps(settings, result))
        finish(settings, job.id, "done", summary=result.to_dict(), versions=versions, maps=maps)
    except CivicError as err:
        finish(settings, job.id, "failed", error=str(err))
    except Exception as err:  # noqa: BLE001 - a bad job must not stop the worker
        log.exception("scenario job %s failed", job.id)
        finish(settings, job.id, "failed", error=f"internal error ({type(err).__name__})")
    except (Stopped, KeyboardInterrupt):  # give the job back instead of leaving it running
        release(settings, job.id)
        raise
    finally:
        stop.set()
    return get_job(settings, job.id)


def worker_id() -> str:
    """`host:pid:nonce`; the host and pid let a restarted worker see that this one died."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_worker(
    settings: Settings, once: bool = False, poll: float = 0.5, cache: BaselineCache | None = None
) -> int:
    """Requeue orphaned jobs, then run queued jobs oldest first; `once`: stop when the queue is
    empty. Returns the number of jobs run."""
    me, cache, done, idle = worker_id(), cache or BaselineCache(), 0, 0.0
    parent = int(os.environ.get("CIVIC_WORKER_PARENT", "0"))  # set by `civic serve`
    for job_id in recover(settings):
        log.warning("requeued scenario job %s left running by a stopped worker", job_id)
    while not STOP.is_set():
        job = claim(settings, me)
        if job is None:
            if once:
                return done
            if parent and os.getppid() != parent:
                log.warning("the server that started this worker is gone; stopping")
                return done
            STOP.wait(poll)
            idle += poll
            if idle >= 60:  # also rescue jobs of workers on other hosts that stopped beating
                recover(settings)
                idle = 0.0
            continue
        log.info("running scenario job %s (%s)", job.id, job.name)
        execute(settings, job, cache)
        done += 1
    return done


def _stop(_signum: int, _frame: Any) -> None:
    STOP.set()


@click.command("worker")
@click.option("--once", is_flag=True, help="Exit when the queue is empty.")
@click.option("--poll", type=float, default=0.5, show_default=True, help="Seconds between polls.")
@click.pass_context
def worker_command(ctx: click.Context, once: bool, poll: float) -> None:
    """Run queued scenario jobs (submitted through POST /api/scenarios)."""
    obj = ctx.find_root().obj
    settings = obj["settings"] if isinstance(obj, dict) and "settings" in obj else None
    settings = settings or Settings.from_env()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    click.echo(f"scenario worker on {store_url(settings)}", err=True)
    try:
        ran = run_worker(settings, once=once, poll=poll)
    except Stopped:
        ran = -1
    click.echo("stopped" if ran < 0 else f"ran {ran} job(s)", err=True)


def start_workers(settings: Settings) -> list[subprocess.Popen]:
    """`CIVIC_SCENARIO_WORKERS` (default 1) worker subprocesses for `civic serve`; they read the
    same `CIVIC_*` environment. Stop them with `stop_workers`."""
    count = int(settings.extra.get("scenario_workers", "1"))
    env = {**os.environ, "CIVIC_WORKER_PARENT": str(os.getpid())}
    return [subprocess.Popen([sys.executable, "-m", "twin.jobs"], env=env) for _ in range(count)]


def stop_workers(procs: list[subprocess.Popen], timeout: float = 30.0) -> None:
    """SIGTERM each worker (its running job is requeued), then wait for it."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    worker_command(obj={})
