"""Benchmark: a full scenario run (baseline + scenario + impacts) on the bundled city, and the same
traffic part on a TNTP-like grid about ten times larger. Prints a Markdown table.

Each case runs in its own subprocess so the peak memory (`ru_maxrss`) is that run's alone.

    .venv/bin/python bench/bench_scenarios.py [--reps 3] [--grid 56] [--threads 2]

On the grid only the traffic part runs (assignment, skims, emissions): noise and accessibility
need buildings, services and paths, which a synthetic grid does not have.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"
SCENARIOS = ("close_mannerheimintie", "centre_30kmh", "new_block_toolonlahti", "cordon_esplanadi")


def _peak_mb() -> float:
    """Peak resident memory of this process since exec (VmHWM; ru_maxrss inherits the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ingest(data_dir: Path) -> None:
    from opendata.ingest.pipeline import ingest
    from opendata.ingest.specs import load_spec
    from opendata.settings import Settings

    cfg = Settings(data_dir=data_dir, datasets_dir=DATASETS, source_roots=(DATASETS,))
    for name in ("roads", "buildings", "services", "stops"):
        ingest(load_spec(DATASETS / f"{name}.toml"), cfg)


def run_city(data_dir: str, scenario: str) -> dict:
    """One full `run_scenario` (fresh baseline); stage times from the progress callback."""
    from opendata.settings import Settings
    from twin.scenarios.run import run_scenario
    from twin.scenarios.spec import load_scenario

    cfg = Settings(data_dir=Path(data_dir), datasets_dir=DATASETS, source_roots=(DATASETS,))
    spec = load_scenario(DATASETS / "scenarios" / f"{scenario}.toml")
    marks = [("load", time.perf_counter())]
    result = run_scenario(
        cfg, spec, progress=lambda s, p: p or marks.append((s, time.perf_counter()))
    )
    marks.append(("end", time.perf_counter()))
    stages = {a[0]: b[1] - a[1] for a, b in zip(marks[:-1], marks[1:], strict=True)}
    conv = result.convergence
    return {
        "case": f"city: {scenario}",
        "links": int(len(result.links)),
        "zones": int(len(result.zones)),
        # demand loop + assignment, and the two morning simulations (reported with the traffic)
        "assign_s": sum(
            stages[f"{run}: {part}"]
            for run in ("baseline", "scenario")
            for part in ("demand+assignment", "morning peak")
        ),
        "impacts_s": stages["baseline: impacts"] + stages["scenario: impacts"],
        "total_s": marks[-1][1] - marks[0][1],
        "iterations": f"{conv['baseline']['iterations']}/{conv['scenario']['iterations']}",
        "peak_mb": _peak_mb(),
    }


def run_grid(size: int, threads: int, gap: float) -> dict:
    """Baseline and a scenario (central arterials at half capacity) on a size x size grid."""
    from dataclasses import replace

    import numpy as np

    from twin.impacts.emissions import link_emissions
    from twin.traffic.assignment import AssignmentConfig, assign
    from twin.traffic.synthetic import grid_demand, grid_network

    start = time.perf_counter()
    net, demand = grid_network(size, size), grid_demand(size, size, trips_per_zone=250)
    config = AssignmentConfig("bfw", gap, 2000, threads=threads)
    mid = (net.link_type == 2) & (net.tail >= net.zones + size * size // 3)
    mid &= net.tail < net.zones + 2 * size * size // 3
    scen_net = replace(net, capacity=np.where(mid, net.capacity / 2, net.capacity))
    t0 = time.perf_counter()
    results = [assign(n, demand, config) for n in (net, scen_net)]
    t1 = time.perf_counter()
    for r in results:
        speed = np.divide(
            r.network.length * 60, r.time, out=np.zeros_like(r.time), where=r.time > 0
        )
        link_emissions(r.flow, r.network.length * 1000, speed, 0.05)
        r.skim()
    t2 = time.perf_counter()
    return {
        "case": f"grid {size}x{size} (traffic only)",
        "links": net.n_links,
        "zones": net.zones,
        "assign_s": t1 - t0,
        "impacts_s": t2 - t1,
        "total_s": t2 - start,
        "iterations": "/".join(str(r.iterations) for r in results),
        "peak_mb": _peak_mb(),
    }


def _subprocess(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _summary(runs: list[dict]) -> dict:
    row = dict(runs[0])
    for key in ("assign_s", "impacts_s", "total_s", "peak_mb"):
        row[key] = statistics.median(r[key] for r in runs)
    return row


def table(rows: list[dict]) -> str:
    head = "| case | links | zones | traffic s | impacts s | total s | iterations b/s | peak MB |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['links']} | {r['zones']} | {r['assign_s']:.2f} | "
            f"{r['impacts_s']:.2f} | {r['total_s']:.2f} | {r['iterations']} | {r['peak_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--grid", type=int, default=56, help="grid side (56: ~10x the city; 0: city only)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grid-gap", type=float, default=1e-4)
    parser.add_argument("--run", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:  # subprocess mode
        kind, *rest = args.run
        row = (
            run_city(*rest)
            if kind == "city"
            else run_grid(int(rest[0]), int(rest[1]), float(rest[2]))
        )
        print(json.dumps(row))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        _ingest(Path(tmp) / "data")
        for name in SCENARIOS:
            runs = [
                _subprocess(["--run", "city", str(Path(tmp) / "data"), name])
                for _ in range(args.reps)
            ]
            rows.append(_summary(runs))
    if args.grid:
        grid = ["--run", "grid", str(args.grid), str(args.threads), str(args.grid_gap)]
        rows.append(_summary([_subprocess(grid) for _ in range(args.reps)]))
    print(table(rows))


if __name__ == "__main__":
    main()
