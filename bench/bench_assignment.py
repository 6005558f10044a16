"""Benchmark: twin's assignment against AequilibraE, side by side, same networks and costs.

Each (tool, network, target gap, repetition) runs in its own subprocess so peak memory
(`ru_maxrss`) belongs to that run alone. AequilibraE runs from a separate venv
(`.venv-bench`, `pip install aequilibrae psutil`) so the main venv never sees it. Both tools'
final flows are judged by *our* gap evaluator and against the best-known flows.

    .venv/bin/python bench/bench_assignment.py [--reps 3] [--grid 48] [--gaps 1e-4,1e-5,1e-6]

This file is also the subprocess runner (`--run ours|aeq CASE.npz GAP OUT.npz`); in that mode
it imports only numpy/pandas and the tool under test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TNTP = ROOT / "tests" / "data" / "tntp"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
MAX_ITER = 5000


# ---------------------------------------------------------------- subprocess runners


def _load_case(path: str) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _run_ours(
    case: dict, gap: float, threads: int, algorithm: str = "bfw"
) -> tuple[np.ndarray, int, float]:
    from twin.traffic.assignment import AssignmentConfig, assign
    from twin.traffic.network import build_network

    def net():
        return build_network(
            case["node_ids"],
            case["from_id"],
            case["to_id"],
            zones=int(case["zones"]),
            first_thru_index=int(case["first_thru_index"]),
            free_flow_time=case["fft"],
            capacity=case["capacity"],
            b=case["b"],
            power=case["power"],
            toll=case["fixed"],
            toll_factor=1.0,
        )

    warm = net()  # numba loads its on-disk cache on the first call: keep that out of the timing
    assign(warm, case["demand"], AssignmentConfig(algorithm, 0.5, 2, threads=threads))
    network = net()
    start = time.perf_counter()
    config = AssignmentConfig(algorithm, gap, MAX_ITER, threads=threads)
    result = assign(network, case["demand"], config)
    seconds = time.perf_counter() - start
    # back to the input link order
    order = network.link_index(case["from_id"], case["to_id"])
    return result.flow[order], result.iterations, seconds, result.gap


def _run_aeq(case: dict, gap: float, threads: int) -> tuple[np.ndarray, int, float]:
    import pandas as pd
    from aequilibrae.matrix import AequilibraeMatrix
    from aequilibrae.paths import Graph, TrafficAssignment, TrafficClass

    zones, m = int(case["zones"]), case["from_id"].size
    start = time.perf_counter()
    graph = Graph()
    graph.network = pd.DataFrame(
        {
            "link_id": np.arange(1, m + 1),
            "a_node": case["from_id"],
            "b_node": case["to_id"],
            "direction": np.ones(m, np.int8),
            "free_flow_time": case["fft"],
            "capacity": case["capacity"],
            "b": case["b"],
            "power": case["power"],
            "fixed_cost": case["fixed"],
        }
    )
    graph.prepare_graph(np.arange(1, zones + 1, dtype=np.int64))
    graph.set_graph("free_flow_time")
    graph.set_skimming(["free_flow_time"])
    graph.set_blocked_centroid_flows(bool(case["first_thru_index"] > 0))
    matrix = AequilibraeMatrix()
    matrix.create_empty(zones=zones, matrix_names=["demand"], memory_only=True)
    matrix.index[:] = np.arange(1, zones + 1)
    matrix.matrices[:, :, 0] = case["demand"]
    matrix.computational_view(["demand"])
    klass = TrafficClass("car", graph, matrix)
    if case["fixed"].any():
        klass.set_fixed_cost("fixed_cost", 1.0)
    ta = TrafficAssignment()
    ta.set_classes([klass])
    ta.set_vdf("BPR")
    ta.set_vdf_parameters({"alpha": "b", "beta": "power"})
    ta.set_capacity_field("capacity")
    ta.set_time_field("free_flow_time")
    ta.set_algorithm("bfw")
    ta.max_iter = MAX_ITER
    ta.rgap_target = float(gap)
    ta.set_cores(threads)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    ta.execute(log_specification=False)
    seconds = time.perf_counter() - start
    loads = klass.results.get_load_results()
    flow = loads["demand_tot"].reindex(np.arange(1, m + 1)).fillna(0.0).to_numpy()
    del setup
    return flow, int(ta.assignment.iter), seconds, float(ta.assignment.rgap)


def _peak_mib() -> float:
    """Peak resident memory of this process since exec (VmHWM; ru_maxrss inherits the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def runner(tool: str, case_path: str, gap: float, out: str, threads: int) -> None:
    """Subprocess entry: solve one case with one tool, save flows, print JSON stats."""
    case = _load_case(case_path)
    if tool == "aeq":
        flow, iterations, seconds, reported = _run_aeq(case, gap, threads)
    else:
        algorithm = "gp" if tool == "ours-gp" else "bfw"
        flow, iterations, seconds, reported = _run_ours(case, gap, threads, algorithm)
    np.save(out, flow)
    peak = _peak_mib()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "iterations": iterations,
                "peak_mib": peak,
                "reported_gap": reported,
            }
        )
    )


# ---------------------------------------------------------------- orchestration


def _cases(grid: int, workdir: Path, reference_gap: float) -> dict[str, tuple[Path, np.ndarray]]:
    """Write every case as .npz; return its path and best-known flows (input link order)."""
    from twin.traffic.assignment import AssignmentConfig, assign
    from twin.traffic.synthetic import grid_demand, grid_network
    from twin.traffic.tntp import read_folder

    small = grid_network(4, 4), grid_demand(4, 4)
    for algorithm in ("bfw", "gp"):  # compile into numba's on-disk cache before any timed run
        assign(*small, AssignmentConfig(algorithm, 1e-3, 5))
    out = {}
    for name in ("SiouxFalls", "Anaheim"):
        case = read_folder(TNTP / name)
        best = np.zeros(case.network.n_links)
        idx = case.network.link_index(case.best_flows.from_id, case.best_flows.to_id)
        best[idx] = case.best_flows.volume
        out[name] = (_save(workdir, name, case.network, case.demand), best)
    if grid > 0:
        net, demand = grid_network(grid, grid), grid_demand(grid, grid, trips_per_zone=250)
        # no published solution: the reference is our own BFW run (to 1e-6 by default)
        reference = assign(net, demand, AssignmentConfig("bfw", reference_gap, MAX_ITER)).flow
        out[net.name] = (_save(workdir, net.name, net, demand), reference)
    return out


def _save(workdir: Path, name: str, net, demand) -> Path:
    path = workdir / f"{name}.npz"
    np.savez(
        path,
        node_ids=net.node_ids,
        from_id=net.from_id,
        to_id=net.to_id,
        zones=net.zones,
        first_thru_index=net.first_thru_index,
        fft=net.free_flow_time,
        capacity=net.capacity,
        b=net.b,
        power=net.power,
        fixed=net.fixed_cost(),
        demand=demand,
    )
    return path


def _one_run(tool: str, case_path: Path, gap: float, threads: int, workdir: Path) -> dict:
    python = str(BENCH_PYTHON) if tool == "aeq" else sys.executable
    out = workdir / f"flow-{tool}.npy"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AEQ_SHOW_PROGRESS": "FALSE"}  # no bars
    cmd = [python, __file__, "--run", tool, str(case_path), repr(gap), str(out), str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed on {case_path.name}:\n{proc.stderr[-2000:]}")
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    stats["flow"] = np.load(out)
    return stats


def _judge(case_path: Path, flow: np.ndarray, best: np.ndarray) -> tuple[float, float]:
    """Our evaluator's gap of a flow vector and its relative L1 distance to the best flows."""
    from twin.traffic.assignment import relative_gap
    from twin.traffic.network import build_network

    c = _load_case(str(case_path))
    net = build_network(
        c["node_ids"],
        c["from_id"],
        c["to_id"],
        zones=int(c["zones"]),
        first_thru_index=int(c["first_thru_index"]),
        free_flow_time=c["fft"],
        capacity=c["capacity"],
        b=c["b"],
        power=c["power"],
        toll=c["fixed"],
        toll_factor=1.0,
    )
    order = net.link_index(c["from_id"], c["to_id"])
    ours = np.zeros(net.n_links)
    ours[order] = flow
    gap = relative_gap(net, c["demand"], ours)
    return gap, float(np.abs(flow - best).sum() / best.sum())


def _median_stats(runs: list[dict], case_path: Path, best: np.ndarray) -> dict:
    med = {k: statistics.median(r[k] for r in runs) for k in ("seconds", "peak_mib", "iterations")}
    gap, diff = _judge(case_path, runs[0]["flow"], best)
    return {**med, "gap": gap, "flow_diff": diff}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--grid", type=int, default=48, help="grid side, zones = side^2; 0: none")
    parser.add_argument("--gaps", default="1e-4,1e-5,1e-6")
    parser.add_argument("--grid-gaps", default="1e-4,1e-5")
    parser.add_argument("--grid-reference-gap", type=float, default=1e-6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gp-gaps", default="1e-6,1e-8,1e-10", help="'' to skip ours-gp")
    args = parser.parse_args()
    if not BENCH_PYTHON.exists():
        sys.exit(
            f"missing {BENCH_PYTHON}: python3 -m venv .venv-bench && "
            ".venv-bench/bin/pip install aequilibrae psutil"
        )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cases = _cases(args.grid, workdir, args.grid_reference_gap)
        rows = []
        for name, (path, best) in cases.items():
            gaps = args.grid_gaps if name.startswith("grid") else args.gaps
            for gap in (float(g) for g in gaps.split(",") if g):
                row = {"case": name, "target": gap}
                for tool in ("ours", "aeq"):
                    runs = [
                        _one_run(tool, path, gap, args.threads, workdir) for _ in range(args.reps)
                    ]
                    row[tool] = _median_stats(runs, path, best)
                rows.append(row)
                _print_row(row)
        if args.gp_gaps:
            _gp_table(cases, args, workdir)
    print(json.dumps(rows, default=float), file=sys.stderr)


def _gp_table(cases: dict, args: argparse.Namespace, workdir: Path) -> None:
    """Our path-based algorithm on the published cases, to the tight gaps BFW cannot reach."""
    print(
        f"\n{'case':<12}{'gap':>7} | {'gp s':>8}{'gp it':>7}{'gp MiB':>8} | {'gap*':>10}{'dL1':>10}"
    )
    for name in ("SiouxFalls", "Anaheim"):
        path, best = cases[name]
        for gap in (float(g) for g in args.gp_gaps.split(",")):
            runs = [_one_run("ours-gp", path, gap, args.threads, workdir) for _ in range(args.reps)]
            med = _median_stats(runs, path, best)
            print(
                f"{name:<12}{gap:>7.0e} | {med['seconds']:>8.3f}{med['iterations']:>7.0f}"
                f"{med['peak_mib']:>8.0f} | {med['gap']:>10.2e}{med['flow_diff']:>10.2e}",
                flush=True,
            )


HEADER = (
    f"{'case':<12}{'gap':>7} | {'ours s':>8}{'aeq s':>8}{'ratio':>7} | {'ours it':>8}"
    f"{'aeq it':>7} | {'ours MiB':>9}{'aeq MiB':>8}{'ratio':>6} | {'ours gap*':>10}"
    f"{'aeq gap*':>10} | {'ours dL1':>9}{'aeq dL1':>9}"
)


def _print_row(row: dict) -> None:
    if not getattr(_print_row, "started", False):
        print(HEADER)
        _print_row.started = True
    o, a = row["ours"], row["aeq"]
    print(
        f"{row['case']:<12}{row['target']:>7.0e} | {o['seconds']:>8.3f}{a['seconds']:>8.3f}"
        f"{o['seconds'] / a['seconds']:>7.2f} | {o['iterations']:>8.0f}{a['iterations']:>7.0f}"
        f" | {o['peak_mib']:>9.0f}{a['peak_mib']:>8.0f}{o['peak_mib'] / a['peak_mib']:>6.2f}"
        f" | {o['gap']:>10.2e}{a['gap']:>10.2e} | {o['flow_diff']:>9.2e}{a['flow_diff']:>9.2e}",
        flush=True,
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--run":
        runner(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
    else:
        main()
