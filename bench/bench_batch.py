"""Benchmark: a sweep of 8 cordon-charge variants on a Dask LocalCluster of 1 and of 2 workers
against the same 8 variants one after another in one process. Prints a Markdown table (median of
--reps) and writes bench/out/bench_batch.json.

    .venv/bin/python bench/bench_batch.py [--reps 3] [--variants 8]

Every run starts cold: the serial run solves its one baseline; a sweep solves the baseline once
on the client and broadcasts it to the workers ("shared"), or, as the reference for what sharing
saves, lets every variant solve its own ("unshared", `run_sweep(share=False)`). "cluster
running" times a sweep on a cluster already started (its workers still import the twin on their
first task); "with start-up" also counts starting the LocalCluster.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"
OUT = ROOT / "bench" / "out" / "bench_batch.json"


def _settings(data_dir: Path):
    from opendata.ingest.pipeline import ingest
    from opendata.ingest.specs import load_spec
    from opendata.settings import Settings

    cfg = Settings(data_dir=data_dir, datasets_dir=DATASETS, source_roots=(DATASETS,))
    for name in ("roads", "buildings", "services"):
        ingest(load_spec(DATASETS / f"{name}.toml"), cfg)
    return cfg


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _progress(name: str, seconds: float) -> None:
    """Each figure as it is measured (a long run under load still leaves its partial figures)."""
    print(f"{name}: {seconds:.1f} s (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)


def _sweeps(cfg, spec, variants, n: int, times: dict, cpu: dict) -> list:
    """Shared and unshared sweeps on one running n-worker cluster; their summaries."""
    from distributed import Client, LocalCluster

    from twin.scenarios.sweeps import run_sweep

    out = []
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        for share in (True, False):
            name = f"dask{n}" + ("" if share else "_unshared")
            start = sum(client.run(time.process_time).values())
            seconds, sweep = _timed(
                lambda share=share: run_sweep(
                    cfg, spec, variants, scheduler=cluster.scheduler_address, share=share
                )
            )
            times[name].append(seconds)
            cpu[name].append(sum(client.run(time.process_time).values()) - start)
            _progress(name, seconds)
            out.append(sweep)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--variants", type=int, default=8)
    args = parser.parse_args()

    from twin.scenarios.spec import load_scenario
    from twin.scenarios.sweeps import run_serial, run_sweep

    spec = load_scenario(DATASETS / "scenarios" / "cordon_esplanadi.toml")
    variants = [{"edits[0].amount": 2.0 * i} for i in range(args.variants)]
    load_before = os.getloadavg()[0]
    names = ("serial", "dask1", "dask1_unshared", "dask2", "dask2_unshared", "dask2_startup")
    times: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names if k != "dask2_startup"}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _settings(Path(tmp) / "data")
        for _ in range(args.reps):
            before = time.process_time()
            seconds, serial = _timed(lambda: run_serial(cfg, spec, variants))
            times["serial"].append(seconds)
            _progress("serial", seconds)
            cpu["serial"].append(time.process_time() - before)
            seconds, sweep = _timed(lambda: run_sweep(cfg, spec, variants, n_workers=2))
            times["dask2_startup"].append(seconds)
            _progress("dask2_startup", seconds)
            expected = [s["totals"] for s in serial.summaries]
            assert [s["totals"] for s in sweep.summaries] == expected
            assert len({s["sweep"]["baseline"] for s in sweep.summaries}) == 1
            for n in (1, 2):
                for run in _sweeps(cfg, spec, variants, n, times, cpu):
                    assert [s["totals"] for s in run.summaries] == expected
    report(times, cpu, args, load_before)


def report(
    times: dict[str, list[float]],
    cpu: dict[str, list[float]],
    args: argparse.Namespace,
    load_before: float,
) -> None:
    """The Markdown table and a JSON record in bench/out/."""
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    rows = [("serial, one process (one baseline)", "serial")]
    for n in (1, 2):
        rows += [
            (f"Dask {n} worker(s), baseline shared, cluster running", f"dask{n}"),
            (f"Dask {n} worker(s), a baseline per variant, cluster running", f"dask{n}_unshared"),
        ]
    rows.append(("Dask 2 workers, baseline shared, with start-up", "dask2_startup"))
    print(f"\n{args.variants} cordon-charge variants, median of {args.reps}; ", end="")
    print(f"{os.cpu_count()} CPUs, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}\n")
    print("| run | wall s | speed-up vs serial | CPU s (workers) |")
    print("| --- | ---: | ---: | ---: |")
    for label, key in rows:
        used = f"{cpu_med[key]:.1f}" if key in cpu_med else "-"
        print(f"| {label} | {med[key]:.1f} | {med['serial'] / med[key]:.2f}x | {used} |")
    for n in (1, 2):
        saved = med[f"dask{n}_unshared"] - med[f"dask{n}"]
        print(f"\nsharing the baseline saves {saved:.1f} s wall on {n} worker(s)", end="")
    print()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    record = {"variants": args.variants, "reps": args.reps, "wall": times, "cpu": cpu}
    OUT.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
