"""Scenario jobs: a persistent queue (SQLAlchemy Core; its own SQLite file in WAL mode by default)
and the worker loop that runs, publishes and maps them. Status and results survive restarts: a job
left `running` by a dead worker is requeued when a worker starts."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import click

from opendata.settings import Settings
from twin.errors import USER_ERRORS
from twin.jobs.queue import (
    Job,
    claim,
    finish,
    get_job,
    recover,
    release,
    store_url,
    update,
)
from twin.scenarios.cache import BaselineCache
from twin.scenarios.run import publish_result, run_scenario
from twin.scenarios.spec import parse_scenario
from twin.traffic.results import Progress

log = logging.getLogger("civic.jobs")
HEARTBEAT_S = 10.0
STOP = threading.Event()  # set by SIGTERM/SIGINT: finish at the next progress report


class Stopped(BaseException):
    """The worker was asked to stop; the job goes back to the queue."""


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


def execute(settings: Settings, job: Job, cache: BaselineCache) -> Job:
    """Run one claimed job: solve, publish, draw maps, store the summary (or the error)."""
    from twin.scenarios.maps import write_maps  # folium is only needed here

    report, stop = Reporter(settings, job.id), threading.Event()
    threading.Thread(target=report.beat, args=(stop,), daemon=True).start()
    try:
        spec = parse_scenario(job.spec)
        baseline = cache.get(settings, spec, report)
        result = run_scenario(settings, spec, baseline=baseline, progress=report)
        report("publishing")
        kind = "draft" if job.visibility == "draft" else "scenario"
        versions = publish_result(settings, result, kind=kind)
        report("drawing maps")
        maps = list(write_maps(settings, result))
        finish(settings, job.id, "done", summary=result.to_dict(), versions=versions, maps=maps)
    except USER_ERRORS as err:
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
    settings: Settings,
    once: bool = False,
    poll: float = 0.5,
    cache: BaselineCache | None = None,
    parent: int = 0,
) -> int:
    """Requeue orphaned jobs, then run queued jobs oldest first; `once`: stop when the queue is
    empty; `parent`: stop when that process (the `civic serve` that started us) is gone.
    Returns the number of jobs run."""
    me, cache, done, idle = worker_id(), cache or BaselineCache(), 0, 0.0
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
@click.option(
    "--parent", type=int, default=0, hidden=True, help="Stop when this process id is gone."
)
@click.pass_context
def worker_command(ctx: click.Context, once: bool, poll: float, parent: int) -> None:
    """Run queued scenario jobs (submitted through POST /api/scenarios)."""
    obj = ctx.find_root().obj
    settings = obj["settings"] if isinstance(obj, dict) and "settings" in obj else None
    settings = settings or Settings.from_env()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    click.echo(f"scenario worker on {store_url(settings)}", err=True)
    try:
        ran = run_worker(settings, once=once, poll=poll, parent=parent)
    except Stopped:
        ran = -1
    click.echo("stopped" if ran < 0 else f"ran {ran} job(s)", err=True)


def start_workers(settings: Settings) -> list[subprocess.Popen]:
    """`CIVIC_SCENARIO_WORKERS` (default 1) worker subprocesses for `civic serve`; they read the
    same `CIVIC_*` environment. Stop them with `stop_workers`."""
    command = [sys.executable, "-m", "twin.jobs.worker", "--parent", str(os.getpid())]
    return [subprocess.Popen(command) for _ in range(settings.scenario_workers)]


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
