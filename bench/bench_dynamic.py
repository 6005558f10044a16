"""Benchmark: our mesoscopic morning peak against SUMO's mesoscopic model (eclipse-sumo, from the
`bench` extra in `.venv-bench`), on the same network, the same vehicles and departure times.

The bundled city is ingested into a temporary store and its baseline solved (elastic demand); the
baseline car OD is spread over 06:00-10:00 by the default profile and drawn as whole vehicles
(seed 1). SUMO gets the city's road links as edges (same lanes, speeds, lengths; per-lane
capacities through meso edge types, tau = 3600 / capacity; no junction control, one queue per
exit, as ours) and the very same vehicles, in two runs:

- `routes`: each vehicle on the route our simulation chose for it (compares the queue models);
- `od`: each vehicle from its first to its last road link, routed by SUMO itself at insertion and
  every 300 s by its rerouting device (compares the whole simulation, route choice included);

each with SUMO's default time-to-teleport (300 s) and with 10 s, the time after which our blocked
vehicles squeeze into the next link (MATSim's default stuck time).

Printed: run time (ours: routing + simulation in process, numba warm; SUMO: its own simulation
time and the wall time of the process), total vehicle-hours, vehicles jumped ahead (teleports),
and the share of link-hours (links with traffic in either model) whose hourly flows agree by
GEH < 5, per hour and overall.

    .venv/bin/python bench/bench_dynamic.py [--seed 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
DATASETS = ROOT / "datasets"
CONNECTOR = 9


def _sumo_bin(name: str) -> str:
    """A SUMO executable from the eclipse-sumo wheel in .venv-bench."""
    code = f"import sumo, os; print(os.path.join(sumo.SUMO_HOME, 'bin', '{name}'))"
    out = subprocess.run([str(BENCH_PYTHON), "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("eclipse-sumo is not installed: run `make .venv-bench/.installed` first")
    return out.stdout.strip()


def _baseline(store: Path):
    """The bundled city ingested and its baseline solved: network, car OD, link geometry."""
    from opendata.ingest.pipeline import ingest
    from opendata.ingest.specs import find_specs, load_spec
    from opendata.settings import Settings
    from twin.scenarios.run import prepare_baseline
    from twin.scenarios.spec import load_scenario

    cfg = Settings(data_dir=store / "data", datasets_dir=DATASETS, source_roots=(DATASETS,))
    for path in find_specs(DATASETS).values():
        ingest(load_spec(path), cfg)
    spec = load_scenario(DATASETS / "scenarios" / "close_mannerheimintie.toml")
    base = prepare_baseline(cfg, spec)
    return base.solved.variant.network, base.solved.result.demand, base.city


def _ours(net, od, seed: int):
    from twin.scenarios.timeofday import default_profile
    from twin.traffic.dynamic import DynamicConfig, simulate_peak

    profile = np.array(default_profile())
    virtual = net.link_type == CONNECTOR
    config = DynamicConfig(seed=seed)
    simulate_peak(net, od * 0.01, profile, config, virtual=virtual)  # numba cache warm-up
    return simulate_peak(net, od, profile, config, virtual=virtual, keep_routes=True)


def _write_network(folder: Path, net, city) -> Path:
    """nodes, edges (road links) and lane-capacity types; netconvert builds the SUMO net."""
    road = np.flatnonzero(net.link_type != CONNECTOR)
    geom = city.model.link_geometry
    nodes = np.unique(np.r_[net.tail[road], net.head[road]])
    xy = city.node_xy
    nod = ET.Element("nodes")
    for n in nodes:
        ET.SubElement(nod, "node", id=f"n{n}", x=f"{xy[n, 0]:.2f}", y=f"{xy[n, 1]:.2f}",
                      type="priority")  # fmt: skip
    edg, typ, add = ET.Element("edges"), ET.Element("types"), ET.Element("additional")
    per_lane = np.round(net.capacity / np.maximum(np.round(net.lanes), 1)).astype(int)
    for cap in np.unique(per_lane[road]):
        ET.SubElement(typ, "type", id=f"c{cap}", priority="1", numLanes="1", speed="13.9")
        meso = ET.SubElement(ET.SubElement(add, "type", id=f"c{cap}"), "meso")
        tau = f"{3600.0 / cap:.3f}"
        meso.attrib.update(tauff=tau, taufj=tau, taujf=tau, taujj=tau, junctionControl="false")
    for a in road:
        shape = " ".join(f"{x:.2f},{y:.2f}" for x, y in geom[a].coords)
        ET.SubElement(
            edg, "edge", id=f"e{a}", attrib={"from": f"n{net.tail[a]}", "to": f"n{net.head[a]}"},
            type=f"c{per_lane[a]}", numLanes=str(max(1, round(net.lanes[a]))),
            speed=f"{net.length[a] / max(net.free_flow_time[a] * 60, 1e-3):.3f}",
            length=f"{max(net.length[a], 0.1):.2f}", shape=shape,
        )  # fmt: skip
    con = ET.Element("connections")  # every movement our network allows, U-turns included
    incoming = {}
    for a in road:
        incoming.setdefault(net.head[a], []).append(a)
    for b in road:
        for a in incoming.get(net.tail[b], []):
            ET.SubElement(con, "connection", attrib={"from": f"e{a}", "to": f"e{b}"})
    for name, root in (("nod", nod), ("edg", edg), ("typ", typ), ("con", con), ("meso.add", add)):
        ET.ElementTree(root).write(folder / f"city.{name}.xml")
    out = folder / "city.net.xml"
    subprocess.run(
        [_sumo_bin("netconvert"), "-n", "city.nod.xml", "-e", "city.edg.xml", "-t", "city.typ.xml",
         "-x", "city.con.xml", "-o", out.name, "--no-internal-links", "true",
         "--junctions.join", "false", "--tls.guess", "false", "--geometry.remove", "false",
         "--offset.disable-normalization", "true", "--no-warnings", "true",
         "--edges.join", "false"],
        cwd=folder, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out


def _write_vehicles(folder: Path, trips, mode: str) -> Path:
    """The same vehicles: on our routes (`routes`) or between their first and last road links."""
    origin, dest, depart, flat, start, length = trips
    root = ET.Element("routes")
    ET.SubElement(root, "vType", id="car", vClass="passenger", speedDev="0")
    for v in np.flatnonzero(length > 0):
        links = flat[start[v] : start[v] + length[v]]
        attrs = {"id": f"v{v}", "type": "car", "depart": f"{depart[v]:.2f}"}
        if mode == "routes" or links.size == 1:  # one link: no route to choose
            ET.SubElement(ET.SubElement(root, "vehicle", attrs), "route",
                          edges=" ".join(f"e{a}" for a in links))  # fmt: skip
        else:
            ET.SubElement(root, "trip", {**attrs, "from": f"e{links[0]}", "to": f"e{links[-1]}"})
    path = folder / f"{mode}.rou.xml"
    ET.ElementTree(root).write(path)
    return path


def _run_sumo(folder: Path, routes: Path, mode: str, end_s: float, teleport_s: int) -> dict:
    """One SUMO meso run; `mode` is routes or od, `teleport_s` SUMO's time-to-teleport."""
    tag = f"{mode}{teleport_s}"
    stats, edges = folder / f"{tag}.stats.xml", folder / f"{tag}.edges.xml"
    add = ET.Element("additional")
    ET.SubElement(add, "edgeData", id="h", period="3600", file=edges.name, excludeEmpty="true")
    ET.ElementTree(add).write(folder / f"{tag}.out.add.xml")
    cmd = [
        _sumo_bin("sumo"), "-n", "city.net.xml", "-r", routes.name,
        "-a", f"city.meso.add.xml,{tag}.out.add.xml", "--mesosim", "true",
        "--meso-junction-control", "false", "--meso-multi-queue", "true", "--begin", "0",
        "--end", f"{end_s:.0f}", "--step-length", "1", "--time-to-teleport", str(teleport_s),
        "--statistic-output", stats.name, "--duration-log.statistics", "true",
        "--no-step-log", "true", "--no-warnings", "true", "--seed", "1",
    ]  # fmt: skip
    if mode == "od":
        cmd += ["--device.rerouting.probability", "1", "--device.rerouting.period", "300"]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=folder, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    return {"wall": wall, **_stats(stats), "flows": _edge_flows(edges)}


def _stats(path: Path) -> dict:
    """SUMO's own clock time, trips finished and their vehicle-hours, teleports, backlog."""
    root = ET.parse(path).getroot()
    perf, vehicles = root.find("performance"), root.find("vehicles")
    trips, tele = root.find("vehicleTripStatistics"), root.find("teleports")
    count = float(trips.get("count")) if trips is not None else 0.0
    return {
        "seconds": float(perf.get("clockDuration")),
        "vehicle_hours": count * float(trips.get("duration", 0)) / 3600.0 if count else 0.0,
        "teleported": int(tele.get("total")) if tele is not None else 0,
        "arrived": int(count),
        "not_inserted": int(vehicles.get("waiting", 0)) if vehicles is not None else 0,
        "running": int(vehicles.get("running", 0)) if vehicles is not None else 0,
    }


def _edge_flows(path: Path) -> dict[tuple[int, int], float]:
    """(hour, link) -> vehicles leaving the edge in that hour."""
    out = {}
    for interval in ET.parse(path).getroot().iter("interval"):
        hour = int(float(interval.get("begin")) // 3600)
        for edge in interval.iter("edge"):
            out[(hour, int(edge.get("id")[1:]))] = float(edge.get("left", 0))
    return out


def geh(model: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The GEH statistic of hourly flows (DMRB / TAG unit M3.1)."""
    total = model + count
    return np.sqrt(2 * (model - count) ** 2 / np.where(total > 0, total, 1.0))


def compare(ours, sumo: dict, road: np.ndarray) -> dict:
    """GEH < 5 shares of link-hours with traffic in either model, per hour and overall."""
    hourly = ours.flow.reshape(4, 4, -1).mean(axis=1)  # veh/h per hour 06-10
    rows = {}
    for hour in range(4):
        ours_h = hourly[hour, road]
        theirs = np.array([sumo["flows"].get((hour, a), 0.0) for a in road])
        used = (ours_h > 0) | (theirs > 0)
        rows[f"{6 + hour:02d}-{7 + hour:02d}"] = (geh(ours_h[used], theirs[used]) < 5).mean()
    both = np.mean(list(rows.values()))
    return {"per_hour": rows, "all": both}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="keep the SUMO files here")
    args = parser.parse_args()
    load = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="bench_dynamic_"))
    try:
        net, od, city = _baseline(folder)
        ours = _ours(net, od, args.seed)
        _write_network(folder, net, city)
        road = np.flatnonzero(net.link_type != CONNECTOR)
        end = (ours.config.periods * ours.config.period_min + ours.config.cooldown_min) * 60
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {road.size} road links,"
              f" {ours.vehicles} vehicles 06:00-10:00 (seed {args.seed})")  # fmt: skip
        print(f"{'run':<16} {'seconds':>8} {'wall s':>8} {'veh-h':>9} {'teleports':>9} "
              f"{'GEH<5':>7}  per hour")  # fmt: skip
        print(f"{'ours':<16} {ours.seconds:8.2f} {ours.seconds:8.2f} "
              f"{ours.total_vehicle_hours:9.1f} {ours.teleported:9d} {'':>7}  "
              f"(+{ours.forced} squeezed in)")  # fmt: skip
        for mode, teleport in (("routes", 300), ("routes", 10), ("od", 300), ("od", 10)):
            routes = _write_vehicles(folder, ours.trips, mode)
            sumo = _run_sumo(folder, routes, mode, end, teleport)
            agree = compare(ours, sumo, road)
            hours = " ".join(f"{h} {s:.0%}" for h, s in agree["per_hour"].items())
            print(f"{f'sumo {mode} {teleport}s':<16} {sumo['seconds']:8.2f} {sumo['wall']:8.2f} "
                  f"{sumo['vehicle_hours']:9.1f} {sumo['teleported']:9d} {agree['all']:7.1%}  "
                  f"{hours}; ours/SUMO time {ours.seconds / sumo['seconds']:.2f}; SUMO at the end: "
                  f"{sumo['arrived']} arrived, {sumo['running']} running, "
                  f"{sumo['not_inserted']} never inserted")  # fmt: skip
        print(f"ours at the end: {ours.arrived} of {ours.vehicles} arrived")
    finally:
        if args.keep:
            shutil.copytree(folder, args.keep, dirs_exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
