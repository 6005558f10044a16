"""Two API hosts behind one reverse proxy on one PostgreSQL catalog and one S3 store, against one
host behind the same proxy: N concurrent clients for S seconds on the load mix of
`tests/e2e/load.py` (items, bbox, single items, a deep page, Parquet ranges, SQL, pages), and in
the two-host run host A's process group is killed with SIGKILL half way.

Everything is real and local: a throwaway PostgreSQL cluster (`tests/postgres.py`), a moto S3
server (`tests/s3.py`), `civic serve` processes (2 gunicorn workers each, rate limit on as
installed, one trusted proxy), and the small Python proxy of `tests/proxy.py` (round robin,
failover on refused connections) in this process, so proxy and clients share its CPU: the
absolute figures are lower than the direct single-host ones of docs/benchmarks-load.md.
Writes `docs/benchmarks-hosts.md`.

Run: `python bench/bench_hosts.py [--clients 64] [--seconds 60]` (`make bench-hosts`).
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opendata.ingest.pipeline import ingest  # noqa: E402
from opendata.ingest.specs import find_specs, load_spec  # noqa: E402
from opendata.settings import Settings  # noqa: E402
from opendata.store.catalog import Catalog  # noqa: E402
from tests import postgres, s3  # noqa: E402
from tests.e2e.load import LoadResult, request_mix, run_load  # noqa: E402
from tests.e2e.openapi_urls import gather_facts  # noqa: E402
from tests.live import free_port, wait_ready  # noqa: E402
from tests.proxy import reverse_proxy  # noqa: E402

DOC = ROOT / "docs" / "benchmarks-hosts.md"
DATASETS = ROOT / "datasets"


def start_host(folder: Path, catalog_url: str, store_url: str) -> tuple[subprocess.Popen, str]:
    """`civic serve` with its own data folder, in a process group of its own."""
    port = free_port()
    env = {**os.environ, "CIVIC_DATA_DIR": str(folder), "CIVIC_CATALOG_URL": catalog_url,
           "CIVIC_STORE_URL": store_url, "CIVIC_TRUSTED_PROXIES": "1",
           "CIVIC_SCENARIO_WORKERS": "0", "CIVIC_DATASETS_DIR": str(DATASETS)}  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "serve.log"
    with open(log, "wb") as sink:
        command = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port",
                   str(port), "--workers", "2"]  # fmt: skip
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink,
                                start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_ready(base, proc, log)
    return proc, base


def one_run(hosts: list[str], args: argparse.Namespace, kill: subprocess.Popen | None) -> dict:
    """The load through the proxy over `hosts`; kills `kill`'s group half way when given."""
    with reverse_proxy(hosts) as (base, pool):
        facts = gather_facts(lambda url: requests.get(url, timeout=60).json(), base)
        asks = [a for a in request_mix(facts) if not a.path.startswith("/scenarios/")]
        for ask in asks:  # fill every host's store cache before the clock starts
            for host in hosts:
                requests.get(host + ask.path, timeout=120)
        timer = None
        if kill is not None:
            delay = args.warmup + args.seconds / 2
            timer = threading.Timer(delay, os.killpg, (kill.pid, signal.SIGKILL))
            timer.start()
        load = os.getloadavg()[0]
        result: LoadResult = run_load(base, asks, clients=args.clients, seconds=args.seconds,
                                      warmup=args.warmup, worker_pids=lambda: [])  # fmt: skip
        if timer is not None:
            timer.cancel()
        return {"result": result, "served": dict(pool.served), "load": load,
                "load_after": os.getloadavg()[0]}  # fmt: skip


def row(name: str, run: dict) -> str:
    result: LoadResult = run["result"]
    return (f"| {name} | {result.answered} | {result.rps():.1f} | {result.percentile(50):.0f} | "
            f"{result.percentile(99):.0f} | {len(result.errors)} | {result.throttled} | "
            f"{run['load']:.1f} / {run['load_after']:.1f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="civic-hosts-") as tmp, postgres.cluster() as admin, \
            s3.moto_server() as env:  # fmt: skip
        os.environ.update(env)
        catalog_url, store_url = postgres.fresh_database(admin), s3.fresh_prefix()
        publisher = Settings(data_dir=Path(tmp) / "publisher", datasets_dir=DATASETS,
                             source_roots=(DATASETS,), catalog_url=catalog_url,
                             store_url=store_url)  # fmt: skip
        for path in find_specs(DATASETS).values():
            ingest(load_spec(path), publisher)
        before = {d.name: v.version for d, v in Catalog(catalog_url).current()}
        procs = [start_host(Path(tmp) / f"host-{n}", catalog_url, store_url) for n in "ab"]
        try:
            single = one_run([procs[1][1]], args, None)
            double = one_run([procs[0][1], procs[1][1]], args, procs[0][0])
        finally:
            for proc, _ in procs:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        after = {d.name: v.version for d, v in Catalog(catalog_url).current()}
    lines = [
        "# Two API hosts behind a proxy (bench/bench_hosts.py)", "",
        f"{datetime.date.today().isoformat()}: {args.clients} clients, {args.seconds:.0f} s "
        f"(+{args.warmup:.0f} s warm-up), one PostgreSQL catalog, one S3 store (moto), "
        "`civic serve` with 2 gunicorn workers per host, the Python proxy of tests/proxy.py in "
        "the client's process. In the two-host run host A was killed with SIGKILL at half time.",
        "", "| run | answers | req/s | p50 ms | p99 ms | errors | 429 | load avg before / after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        row("one host", single), row("two hosts, A killed half way", double), "",
        f"Answers per host (two-host run): {double['served']}. Statuses: "
        f"{dict(double['result'].statuses)}. Errors seen: {double['result'].errors[:5]}.", "",
        f"Current versions of the {len(after)} published datasets identical before and after "
        f"both runs: {before == after}.", "",
    ]  # fmt: skip
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
