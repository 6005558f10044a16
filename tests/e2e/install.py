"""The default install, started exactly as `make run` starts it: a user's checkout (a copy of
`datasets/`) in a temporary folder, no `CIVIC_*` variables, the relative default paths, and
`civic ingest`, `civic datasets`, `civic twin run` per bundled scenario, then `civic serve`.

Only the port differs from `make run` (a free one, passed as `--port`), so tests can run beside
other servers. The rate limit stays at its default, as a user gets it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.live import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
#: What the Makefile exports to every command it runs (besides nothing of CIVIC_*).
MAKE_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


@dataclass
class Install:
    """A served default install: its checkout folder, base URL and how long each stage took."""

    root: Path
    base: str
    server: subprocess.Popen
    timings: dict[str, float] = field(default_factory=dict)

    def worker_pids(self) -> list[int]:
        """Process ids of the gunicorn web workers: the master's children that are not the
        scenario job worker (`python -m twin.jobs.worker`)."""
        master = psutil.Process(self.server.pid)
        return [p.pid for p in master.children() if "twin.jobs.worker" not in " ".join(_cmdline(p))]


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:  # the process went away while we looked
        return []


def civic_command() -> str:
    """The `civic` entry point of this virtualenv (what `make run` calls as `.venv/bin/civic`)."""
    beside = Path(sys.executable).parent / "civic"
    found = str(beside) if beside.exists() else shutil.which("civic")
    if not found:
        raise RuntimeError("no `civic` command: run `make install` first")
    return found


def user_environment() -> dict[str, str]:
    """The caller's environment without any `CIVIC_*` variable, plus what the Makefile exports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    for key, value in MAKE_ENV.items():
        env.setdefault(key, value)
    return env


def make_checkout(workdir: Path) -> Path:
    """A folder laid out like a fresh clone for `make run`: `datasets/` copied, nothing else."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "datasets", workdir / "datasets", dirs_exist_ok=True)
    (workdir / "logs").mkdir(exist_ok=True)
    return workdir


def run_stage(root: Path, name: str, args: list[str], timings: dict[str, float]) -> None:
    """Run one `civic` command in the checkout; a non-zero exit fails with the log's tail."""
    log = root / "logs" / f"{name.replace(' ', '-')}.log"
    started = time.monotonic()
    with open(log, "wb") as sink:
        done = subprocess.run(
            [civic_command(), *args], cwd=root, env=user_environment(), stdout=sink, stderr=sink
        )
    timings[name] = time.monotonic() - started
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"`civic {' '.join(args)}` exited {done.returncode}:\n{tail}")


def prepare(root: Path, timings: dict[str, float]) -> None:
    """`make run` up to serving: ingest, list, then every bundled scenario in glob order."""
    run_stage(root, "ingest", ["ingest"], timings)
    run_stage(root, "datasets", ["datasets"], timings)
    for spec in sorted((root / "datasets" / "scenarios").glob("*.toml")):
        args = ["twin", "run", str(spec.relative_to(root))]
        run_stage(root, f"scenario {spec.stem}", args, timings)


@contextmanager
def serving(root: Path, timings: dict[str, float]) -> Iterator[Install]:
    """`civic serve --port <free>` in the checkout until the block ends; then stop it and its
    workers (scenario worker and gunicorn workers included)."""
    port = free_port()
    log = root / "logs" / "serve.log"
    started = time.monotonic()
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [civic_command(), "serve", "--port", str(port)],
            cwd=root,
            env=user_environment(),
            stdout=sink,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, log, timeout=120)
        timings["serve (until /healthz answers)"] = time.monotonic() - started
        yield Install(root=root, base=base, server=proc, timings=timings)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Terminate a server and, should any outlive it, the processes it started."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        child.kill()


@contextmanager
def default_install(workdir: Path) -> Iterator[Install]:
    """The whole of `make run` in `workdir`: checkout, ingest, scenarios, serve."""
    timings: dict[str, float] = {}
    root = make_checkout(workdir)
    prepare(root, timings)
    with serving(root, timings) as install:
        yield install
