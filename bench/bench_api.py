"""Benchmark the features API against pygeoapi (Parquet provider) and Datasette (SQLite).

Generates a 1,000,000-point dataset and the ~500-building test layer, publishes them through
`opendata.publish`, serves them with `civic serve` (gunicorn, 2 sync workers), pygeoapi (gunicorn,
2 sync workers) and Datasette (gunicorn, 2 uvicorn workers) from the peers' own virtualenv
(`.venv-bench`), loads each case with `wrk` (16 connections) and reports requests per second,
p50/p99 latency, server CPU per request and errors as a Markdown table in
`docs/benchmarks-api.md`.

Run: `python bench/bench_api.py [--seconds 4] [--points 1000000]` from the repository root.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opendata.publish import Release, publish, version_path  # noqa: E402
from opendata.settings import Settings  # noqa: E402
from tests.api.conftest import make_buildings  # noqa: E402

PEER_VENV = ROOT / ".venv-bench" / "bin"
SERVERS = ("us", "pygeoapi", "datasette")
OUR_VENV = Path(sys.executable).parent
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


def make_points(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(24.80, 25.20, n), rng.uniform(60.10, 60.30, n)
    return gpd.GeoDataFrame(
        {
            "name": np.char.add("point ", np.arange(n).astype(str)),
            "value": np.round(rng.normal(size=n), 6),
            "kind": rng.choice(["bench", "stop", "tree"], n),
            "observed": pd.Timestamp("2024-01-01T00:00:00Z")
            + pd.to_timedelta(rng.integers(0, 3e7, n), unit="s"),
            "lon": lon,
            "lat": lat,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


def publish_layers(data_dir: Path, n: int) -> dict[str, Path]:
    settings = Settings(data_dir=data_dir)
    layers = {"points": make_points(n), "buildings": make_buildings()}
    paths = {}
    for name, frame in layers.items():
        columns = [{"name": c, "type": "string"} for c in frame.columns if c != "geometry"]
        release = Release(
            name=name,
            spec={"metadata": {"title": {"en": name}}},
            columns=columns,
            content_hash=f"bench-{name}-{len(frame)}",
            source_crs="EPSG:3067",
            provenance={},
            report={},
        )
        paths[name] = version_path(settings, publish(settings, release, frame).version)
    return paths


def write_sqlite(paths: dict[str, Path], db: Path) -> None:
    """The same tables in SQLite for Datasette, with a lon/lat (or bbox) index."""
    con = sqlite3.connect(db)
    for name, path in paths.items():
        frame = gpd.read_parquet(path)
        bounds = frame.geometry.bounds
        table = pd.DataFrame(frame.drop(columns=["geometry", "bbox"], errors="ignore"))
        for column in table.columns:
            if str(table[column].dtype).startswith(("datetime", "object")):
                table[column] = table[column].astype(str)
        if name == "buildings":
            table = table.assign(
                xmin=bounds.minx,
                ymin=bounds.miny,
                xmax=bounds.maxx,
                ymax=bounds.maxy,
                geometry=frame.geometry.to_wkt(),
            )
        table.to_sql(name, con, index=False)
        con.execute(f"CREATE UNIQUE INDEX {name}_fid ON {name}(fid)")
        index = "lon, lat" if name == "points" else "xmin, ymin"
        con.execute(f"CREATE INDEX {name}_xy ON {name}({index})")
    con.commit()
    con.close()


def write_pygeoapi_config(paths: dict[str, Path], folder: Path, port: int) -> Path:
    """A pygeoapi config with one Parquet provider per layer (flat bbox columns for polygons)."""
    buildings = gpd.read_parquet(paths["buildings"])
    flat = buildings.drop(columns="bbox", errors="ignore").join(buildings.geometry.bounds)
    flat_path = folder / "buildings_flat.parquet"
    flat.to_parquet(flat_path)
    providers = {
        "points": {"source": str(paths["points"]), "x_field": "lon", "y_field": "lat"},
        "buildings": {
            "source": str(flat_path),
            "x_field": ["minx", "maxx"],
            "y_field": ["miny", "maxy"],
        },
    }
    resources = {
        name: {
            "type": "collection",
            "title": name,
            "description": name,
            "keywords": [name],
            "extents": {
                "spatial": {
                    "bbox": [24.8, 60.1, 25.2, 60.3],
                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                }
            },
            "providers": [
                {
                    "type": "feature",
                    "name": "Parquet",
                    "data": {"source": p["source"]},
                    "id_field": "fid",
                    "x_field": p["x_field"],
                    "y_field": p["y_field"],
                }
            ],
        }
        for name, p in providers.items()
    }
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "language": "en-US",
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "", "attribution": ""},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "bench",
                "description": "bench",
                "keywords": ["bench"],
                "keywords_type": "theme",
                "terms_of_service": "http://example.org",
                "url": "http://example.org",
            },
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "bench", "url": "http://example.org"},
            "contact": {
                "name": "bench",
                "position": "",
                "address": "",
                "city": "",
                "stateorprovince": "",
                "postalcode": "",
                "country": "",
                "phone": "",
                "fax": "",
                "email": "a@b.org",
                "url": "http://example.org",
                "hours": "",
                "instructions": "",
                "role": "pointOfContact",
            },
        },
        "resources": resources,
    }
    path = folder / "pygeoapi.config.json"
    path.write_text(json.dumps(config))  # YAML is a superset of JSON
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(
    command: list[str], url: str, env: dict[str, str], log: Path
) -> Iterator[psutil.Process]:
    """Start a server, wait for `url` to answer 200, yield its process, stop it."""
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=sink, stderr=sink, cwd=ROOT
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited: {log.read_text()[-2000:]}")
            try:
                if requests.get(url, timeout=30).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"{command} did not start")
        yield psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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


def servers(
    work: Path, data_dir: Path, paths: dict[str, Path]
) -> dict[str, tuple[list[str], dict[str, str], str]]:
    """Command, environment and readiness path of each server (ports chosen now)."""
    ports = {name: free_port() for name in ("us", "pygeoapi", "datasette")}
    config = write_pygeoapi_config(paths, work, ports["pygeoapi"])
    openapi = work / "pygeoapi.openapi.yml"
    made = subprocess.run(
        [
            str(PEER_VENV / "pygeoapi"),
            "openapi",
            "generate",
            str(config),
            "--output-file",
            str(openapi),
        ],
        capture_output=True,
        text=True,
    )
    if made.returncode:
        raise RuntimeError(f"pygeoapi openapi generate failed: {made.stderr[-3000:]}")
    db = work / "bench.db"
    write_sqlite(paths, db)
    datasette_app = work / "datasette_app.py"
    datasette_app.write_text(
        "from datasette.app import Datasette\n"
        f"app = Datasette([{str(db)!r}], settings={{'max_returned_rows': 1000, "
        "'sql_time_limit_ms': 30000, 'num_sql_threads': 3}).app()\n"
    )
    # Both peers log each request to stderr, as `civic serve` does.
    gunicorn = [str(PEER_VENV / "gunicorn"), "-w", "2", "--access-logfile", "-"]
    us = [str(OUR_VENV / "civic"), "serve", "--port", str(ports["us"]), "--workers", "2"]
    return {
        "us": (us, {"CIVIC_DATA_DIR": str(data_dir), "CIVIC_RATE_LIMIT": "0"},
               f"http://127.0.0.1:{ports['us']}"),
        "pygeoapi": ([*gunicorn, "-b", f"127.0.0.1:{ports['pygeoapi']}",
                      "pygeoapi.flask_app:APP"],
                     {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)},
                     f"http://127.0.0.1:{ports['pygeoapi']}"),
        "datasette": ([*gunicorn, "-k", "uvicorn_worker.UvicornWorker", "-b",
                       f"127.0.0.1:{ports['datasette']}", "--chdir", str(work),
                       "datasette_app:app"],
                      {}, f"http://127.0.0.1:{ports['datasette']}"),
    }  # fmt: skip


HEADER = """# Features API benchmark

`python bench/bench_api.py`: {n:,} generated points and the 500 test buildings. Every server runs
2 workers on the same 2-core machine as `wrk -t2 -c16 -d{seconds}s` (after a 1 s warm-up):
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
finished within the run. The machine is shared, so figures move by about a third between runs.

{table}"""
TABLE_HEAD = (
    "| dataset | case | server | req/s | p50 ms | p99 ms | CPU ms/req | errors "
    "| us/peer req/s | peer/us p99 |\n| --- | --- | --- |" + " ---: |" * 7
)


def markdown(results: list[Result], n: int, seconds: int, load: float) -> str:
    """The results as the Markdown page."""
    note = f"Load average of the machine when the run started: {load:.1f} (on 2 cores).\n\n"
    lines = [HEADER.format(n=n, seconds=seconds, table=note + TABLE_HEAD)]
    ours = {(r.case.dataset, r.case.name): r for r in results if r.case.server == "us"}
    for r in results:
        mine = ours.get((r.case.dataset, r.case.name))
        peer = mine is not None and r.case.server != "us"
        ratio = f"{mine.rps / r.rps:.2f}" if peer and r.rps else ""
        p99 = f"{r.p99_ms / mine.p99_ms:.2f}" if peer and mine.p99_ms else ""
        if not r.requests:  # nothing finished within the run
            late = f"> {seconds} s"
            lines.append(f"| {r.case.dataset} | {r.case.name} | {r.case.server} | 0 | {late} | "
                         f"{late} | n/a | {r.errors} | n/a | n/a |")  # fmt: skip
            continue
        lines.append(
            f"| {r.case.dataset} | {r.case.name} | {r.case.server} | {r.rps:.0f} | "
            f"{r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.cpu_ms:.2f} | {r.errors} | {ratio} | {p99} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--points", type=int, default=1_000_000)
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
            with running(
                command, base + ("/healthz" if server == "us" else "/"), env, work / f"{server}.log"
            ) as proc:
                for case in cases(args.points):
                    if case.server == server:
                        results.append(measure(case, base, proc, args.seconds))
                        print(
                            f"  {case.dataset} {case.name}: {results[-1].rps:.0f} req/s",
                            file=sys.stderr,
                        )
    results.sort(key=lambda r: cases(args.points).index(r.case))
    text = markdown(results, args.points, args.seconds, load)
    print(text)
    if not args.only:
        args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
