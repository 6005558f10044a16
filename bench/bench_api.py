"""Benchmark the features API against pygeoapi (Parquet provider) and Datasette (SQLite).

Generates a 1,000,000-point dataset and the ~500-building test layer, publishes them through
`opendata.store.publish`, serves them with `civic serve` (gunicorn, 2 sync workers), pygeoapi
(gunicorn, 2 sync workers) and Datasette (gunicorn, 2 uvicorn workers) from the peers' own
virtualenv (`.venv-bench`), loads each case with `wrk` (16 connections) and reports requests per
second, p50/p99 latency, server CPU per request and errors as a Markdown table in
`docs/benchmarks-api.md`.

Each server answers every case `--rounds` times (3), the cases interleaved, and each figure is
the median of its rounds, so a passing disturbance of the shared machine cannot decide a case.

Run: `python bench/bench_api.py [--seconds 4] [--rounds 3] [--points 1000000]` from the
repository root. Servers and data: `bench/api_servers.py`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psutil
import requests
from api_servers import ROOT, publish_layers, running, servers

SERVERS = ("us", "pygeoapi", "datasette")
BBOX_POINTS = (24.940, 60.168, 24.949, 60.1725)  # about 500 m x 500 m in central Helsinki
BBOX_BUILDINGS = (24.940, 60.168, 24.949, 60.1725)


@dataclass(frozen=True)
class Case:
    dataset: str
    name: str
    server: str
    path: str


@dataclass(frozen=True)
class Result:
    case: Case
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    errors: int
    requests: int
    #: requests/s of each round (the median is `rps`)
    rounds: tuple[float, ...] = ()


def cpu_seconds(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    stats = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    stats["requests"] = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    stats["p50"] = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    stats["p99"] = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    stats["errors"] = float(non2xx.group(1) if non2xx else 0) + sum(
        int(v) for v in (socket_errors.groups() if socket_errors else ())
    )
    return stats


def measure(case: Case, base: str, proc: psutil.Process, seconds: int) -> Result:
    url = base + case.path
    status = requests.get(url, timeout=60).status_code
    if status != 200:
        print(f"warning: {case.server} {case.name} answered {status}: {url}", file=sys.stderr)
    run_wrk(url, 1, 16)  # warm every worker
    before = cpu_seconds(proc)
    stats = run_wrk(url, seconds, 16)
    used = cpu_seconds(proc) - before
    return Result(
        case,
        stats["rps"],
        stats["p50"],
        stats["p99"],
        1000 * used / max(stats["requests"], 1),
        int(stats["errors"]),
        int(stats["requests"]),
    )


def bbox_sql(table: str, box: tuple[float, float, float, float]) -> str:
    if table == "points":
        where = f"lon BETWEEN {box[0]} AND {box[2]} AND lat BETWEEN {box[1]} AND {box[3]}"
    else:
        where = f"xmin <= {box[2]} AND xmax >= {box[0]} AND ymin <= {box[3]} AND ymax >= {box[1]}"
    return sql_url(f"select * from {table} where {where} limit 100")


def sql_url(sql: str) -> str:
    """A Datasette SQL query URL (JSON objects)."""
    return f"/bench.json?sql={quote(sql)}&_shape=objects"


def cases(n: int) -> list[Case]:
    """Every (dataset, case, server) to measure, in report order."""
    out = []
    for name, box, fid, deep in (
        ("points", BBOX_POINTS, n * 2 // 3, 900_000 if n > 900_100 else n // 2),
        ("buildings", BBOX_BUILDINGS, 250, 400),
    ):
        items, b = f"/collections/{name}/items", ",".join(map(str, box))
        urls = {
            "page limit=100": (f"{items}?limit=100", f"{items}?f=json&limit=100",
                               f"/bench/{name}.json?_size=100&_shape=objects&_nosuggest=1"),
            "bbox 500 m": (f"{items}?limit=100&bbox={b}", f"{items}?f=json&limit=100&bbox={b}",
                           bbox_sql(name, box)),
            "one item": (f"{items}/{fid}", f"{items}/{fid}?f=json",
                         f"/bench/{name}/{fid}.json?_shape=objects"),
            f"offset={deep}": (f"{items}?limit=100&offset={deep}",
                               f"{items}?f=json&limit=100&offset={deep}",
                               sql_url(f"select * from {name} limit 100 offset {deep}")),
        }  # fmt: skip
        for case, paths in urls.items():
            out += [
                Case(name, case, server, path) for server, path in zip(SERVERS, paths, strict=True)
            ]
    return out


HEADER = """# Features API benchmark

`python bench/bench_api.py`: {n:,} generated points and the 500 test buildings. Every server runs
2 workers on the same 2-core machine as `wrk -t2 -c16 -d{seconds}s` (after a 1 s warm-up), each
case {rounds} times with the cases interleaved; figures are the medians of the rounds:
`us` is `civic serve` (gunicorn sync workers); pygeoapi serves the same GeoParquet through its
Parquet provider (gunicorn sync workers); Datasette serves the same rows from SQLite with a lon/lat
(or bbox) index (gunicorn with uvicorn workers) through its table page (`_nosuggest=1`, still
counting), row page and SQL queries
(`BETWEEN` for the bbox, `LIMIT/OFFSET` for the deep page). CPU is the servers' user+system time
per request. Ratios: our requests/s over the peer's, and the peer's p99 over ours (above 1 is
better for us in both). All three servers write an access log line per request.

The answers differ in content: ours are GeoJSON with an exact `numberMatched` and exact
intersection (Shapely) for the bbox; Datasette's SQL answers are plain rows of a lon/lat (or
bbox-column) range test without a count; pygeoapi's are GeoJSON. "> 4 s" means no request
finished within the run. The machine is shared, so figures move between runs; the rounds column
shows each round. Datasette's rounds are often bimodal here (one round two to three times the
others, in either direction), ours and pygeoapi's are steady.

{table}"""
TABLE_HEAD = (
    "| dataset | case | server | req/s | rounds req/s | p50 ms | p99 ms | CPU ms/req | errors "
    "| us/peer req/s | peer/us p99 |\n| --- | --- | --- |" + " ---: |" * 8
)


def median_result(runs: list[Result]) -> Result:
    """One case's rounds as one result: the median of each figure, errors summed."""
    med = {
        k: statistics.median(getattr(r, k) for r in runs)
        for k in ("rps", "p50_ms", "p99_ms", "cpu_ms")
    }
    return Result(runs[0].case, **med, errors=sum(r.errors for r in runs),
                  requests=sum(r.requests for r in runs),
                  rounds=tuple(r.rps for r in runs))  # fmt: skip


def markdown(results: list[Result], n: int, seconds: int, rounds: int, load: float) -> str:
    """The results as the Markdown page."""
    note = f"Load average of the machine when the run started: {load:.1f} (on 2 cores).\n\n"
    lines = [HEADER.format(n=n, seconds=seconds, rounds=rounds, table=note + TABLE_HEAD)]
    ours = {(r.case.dataset, r.case.name): r for r in results if r.case.server == "us"}
    for r in results:
        mine = ours.get((r.case.dataset, r.case.name))
        peer = mine is not None and r.case.server != "us"
        ratio = f"{mine.rps / r.rps:.2f}" if peer and r.rps else ""
        p99 = f"{r.p99_ms / mine.p99_ms:.2f}" if peer and mine.p99_ms else ""
        if not r.requests:  # nothing finished within the run
            late = f"> {seconds} s"
            lines.append(f"| {r.case.dataset} | {r.case.name} | {r.case.server} | 0 | 0 | {late} | "
                         f"{late} | n/a | {r.errors} | n/a | n/a |")  # fmt: skip
            continue
        lines.append(
            f"| {r.case.dataset} | {r.case.name} | {r.case.server} | {r.rps:.0f} | "
            f"{' / '.join(f'{v:.0f}' for v in r.rounds)} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.cpu_ms:.2f} | {r.errors} | {ratio} | {p99} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["us", "pygeoapi", "datasette"], action="append")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks-api.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="civic-bench-") as tmp:
        work = Path(tmp)
        data_dir = work / "data"
        print(f"publishing {args.points:,} points and the buildings ...", file=sys.stderr)
        paths = publish_layers(data_dir, args.points)
        plan = servers(work, data_dir, paths)
        results = []
        for server, (command, env, base) in plan.items():
            if args.only and server not in args.only:
                continue
            print(f"benchmarking {server} ...", file=sys.stderr)
            mine = [c for c in cases(args.points) if c.server == server]
            rounds: dict[Case, list[Result]] = {c: [] for c in mine}
            with running(
                command, base + ("/healthz" if server == "us" else "/"), env, work / f"{server}.log"
            ) as proc:
                for _ in range(args.rounds):
                    for case in mine:
                        rounds[case].append(measure(case, base, proc, args.seconds))
            for case in mine:
                results.append(median_result(rounds[case]))
                got = ", ".join(f"{r.rps:.0f}" for r in rounds[case])
                print(f"  {case.dataset} {case.name}: {got} req/s", file=sys.stderr)
    results.sort(key=lambda r: cases(args.points).index(r.case))
    text = markdown(results, args.points, args.seconds, args.rounds, load)
    print(text)
    if not args.only:
        args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
