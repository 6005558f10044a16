"""Benchmark: a sweep of 8 cordon-charge variants on a 2-worker Dask LocalCluster against the
same 8 variants one after another in one process. Prints a Markdown table (median of --reps).

    .venv/bin/python bench/bench_batch.py [--reps 3] [--variants 8]

Both sides start cold each repetition: the serial run solves its one baseline, every Dask worker
solves its own (then keeps it for its later variants). "with start-up" also counts starting the
LocalCluster (worker processes importing the twin).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--variants", type=int, default=8)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from twin.scenarios.spec import load_scenario
    from twin.scenarios.sweeps import run_serial, run_sweep

    spec = load_scenario(DATASETS / "scenarios" / "cordon_esplanadi.toml")
    variants = [{"edits[0].amount": 2.0 * i} for i in range(args.variants)]
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {k: [] for k in ("serial", "dask", "dask_startup")}
    cpu: dict[str, list[float]] = {"serial": [], "dask": []}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _settings(Path(tmp) / "data")
        for _ in range(args.reps):
            before = time.process_time()
            seconds, serial = _timed(lambda: run_serial(cfg, spec, variants))
            times["serial"].append(seconds)
            cpu["serial"].append(time.process_time() - before)
            seconds, sweep = _timed(lambda: run_sweep(cfg, spec, variants, n_workers=2))
            times["dask_startup"].append(seconds)
            assert [s["totals"] for s in sweep.summaries] == [s["totals"] for s in serial.summaries]
            with (
                LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                Client(cluster) as client,
            ):
                start = sum(client.run(time.process_time).values())
                cluster_sweep = lambda: run_sweep(  # noqa: E731
                    cfg, spec, variants, scheduler=cluster.scheduler_address
                )
                times["dask"].append(_timed(cluster_sweep)[0])
                cpu["dask"].append(sum(client.run(time.process_time).values()) - start)
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
    rows = [
        ("serial, one process", med["serial"], cpu_med["serial"]),
        ("Dask LocalCluster 2x1, cluster running", med["dask"], cpu_med["dask"]),
        ("Dask LocalCluster 2x1, with start-up", med["dask_startup"], None),
    ]
    print(f"\n{args.variants} cordon-charge variants, median of {args.reps}; ", end="")
    print(f"{os.cpu_count()} CPUs, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}\n")
    print("| run | wall s | speed-up vs serial | CPU s (workers) |")
    print("| --- | ---: | ---: | ---: |")
    for name, seconds, cpu_s in rows:
        used = "-" if cpu_s is None else f"{cpu_s:.1f}"
        print(f"| {name} | {seconds:.1f} | {med['serial'] / seconds:.2f}x | {used} |")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    record = {"variants": args.variants, "reps": args.reps, "wall": times, "cpu": cpu}
    OUT.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
