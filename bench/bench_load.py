"""Load benchmark of the default install: `make run` in a temporary checkout (no `CIVIC_*`
variables, relative default paths, the rate limit on), then N concurrent clients for S seconds
on a mix of OGC items pages, bbox queries, single items, a deep page, Parquet file ranges, SQL
and web pages (`tests/e2e/load.py`), each client from its own loopback address.

Reports requests/s, p50/p99 latency (overall and per kind), errors, 429 answers (counted apart),
and the gunicorn workers' memory sampled every second (flat: the mean of the last 10 s within
10 % of the first 10 s after warm-up). Writes `docs/benchmarks-load.md`.

Run: `python bench/bench_load.py [--clients 64] [--seconds 60] [--warmup 5]` from the repository
root (`make bench-load`). It takes about a minute to install plus the run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.install import default_install  # noqa: E402
from tests.e2e.load import LoadResult, request_mix, run_load, server_time  # noqa: E402
from tests.e2e.openapi_urls import gather_facts  # noqa: E402

DOC = ROOT / "docs" / "benchmarks-load.md"


def table(result: LoadResult) -> list[str]:
    """Per-kind answers and latencies as Markdown rows, then the total."""
    rows = ["| kind | answers | req/s | p50 ms | p99 ms |", "| --- | ---: | ---: | ---: | ---: |"]
    for kind in sorted(result.latencies):
        n = len(result.latencies[kind])
        rows.append(
            f"| {kind} | {n} | {n / result.seconds:.1f} | {result.percentile(50, kind):.0f} "
            f"| {result.percentile(99, kind):.0f} |"
        )
    rows.append(
        f"| **all** | {result.answered} | {result.rps():.1f} | {result.percentile(50):.0f} "
        f"| {result.percentile(99):.0f} |"
    )
    return rows


def worker_lines(spent: dict[str, tuple[int, float]]) -> list[str]:
    """Where the web workers' time went, per kind, from the access log."""
    total = sum(ms for _, ms in spent.values()) or 1.0
    rows = [
        "| kind | requests served | mean server ms | share of worker time |",
        "| --- | ---: | ---: | ---: |",
    ]
    for kind, (n, ms) in sorted(spent.items(), key=lambda kv: -kv[1][1]):
        rows.append(f"| {kind} | {n} | {ms / max(n, 1):.0f} | {ms / total:.0%} |")
    return rows


def memory_lines(result: LoadResult) -> list[str]:
    """The workers' RSS: first and last 10 s means, drift, and whether that is flat."""
    rss = result.rss_mib
    if len(rss) < 20:
        return [f"Worker RSS: only {len(rss)} samples, too few to judge drift."]
    first, last = sum(rss[:10]) / 10, sum(rss[-10:]) / 10
    drift = result.memory_drift()
    verdict = "flat" if abs(drift) <= 0.10 else "**not flat**"
    return [
        f"Worker RSS (sum of the gunicorn web workers, {len(rss)} samples at 1 s): first 10 s "
        f"{first:.0f} MiB, last 10 s {last:.0f} MiB, drift {drift:+.1%}: {verdict}; "
        f"min {min(rss):.0f}, max {max(rss):.0f} MiB."
    ]


def document(
    result: LoadResult,
    spent: dict[str, tuple[int, float]],
    args: argparse.Namespace,
    context: dict[str, str],
) -> str:
    """The Markdown page of one run."""
    errors = sorted(set(result.errors))
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(result.statuses.items()))
    lines = [
        "# Load: the default install under concurrent clients",
        "",
        f"Written by `bench/bench_load.py` on {context['date']}: {args.clients} clients for "
        f"{args.seconds:.0f} s after a {args.warmup:.0f} s warm-up on a mix of {context['mix']} "
        "requests, against `make run`'s "
        "configuration (2 sync gunicorn workers, rate limit 50/s per client and worker). "
        f"Load average before {context['load_before']}, after {context['load_after']} "
        "(a shared 2-core machine; the client ran on the same cores and used "
        f"{context['client_cpu']} s of CPU).",
        "",
        *table(result),
        "",
        "Where the two workers' time went (the JSON access lines, warm-up included):",
        "",
        *worker_lines(spent),
        "",
        f"Statuses: {statuses}. 429 answers (rate limiter, waited out): {result.throttled}. "
        f"Errors (other 4xx/5xx, timeouts, resets): {len(result.errors)}.",
        "",
        *memory_lines(result),
        "",
    ]
    if errors:
        lines += ["Errors seen (first 20 distinct):", ""]
        lines += [f"- `{e}`" for e in errors[:20]] + [""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--skip", action="append", default=[], help="leave a kind out of the mix")
    parser.add_argument("--out", type=Path, default=DOC, help="Markdown page to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="civic-load-") as folder:
        with default_install(Path(folder) / "checkout") as install:
            print(f"installed in {sum(install.timings.values()):.0f} s: {install.timings}")
            facts = gather_facts(lambda url: requests.get(url, timeout=60).json(), install.base)
            load_before = ", ".join(f"{v:.2f}" for v in os.getloadavg())
            cpu = psutil.Process().cpu_times()
            started = time.monotonic()
            asks = [a for a in request_mix(facts) if a.kind not in args.skip]
            result = run_load(
                install.base,
                asks,
                clients=args.clients,
                seconds=args.seconds,
                warmup=args.warmup,
                worker_pids=install.worker_pids,
            )
            used = sum(psutil.Process().cpu_times()[:2]) - sum(cpu[:2])
            context = {
                "date": datetime.date.today().isoformat(),
                "load_before": load_before,
                "load_after": ", ".join(f"{v:.2f}" for v in os.getloadavg()),
                "client_cpu": f"{used:.0f} of {time.monotonic() - started:.0f}",
                "mix": ", ".join(sorted({a.kind for a in asks})),
            }
            spent = server_time((install.root / "logs" / "serve.log").read_text(), asks)
    text = document(result, spent, args, context)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
