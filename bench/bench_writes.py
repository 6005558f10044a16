"""Benchmark the scenario write path on the default install: how long `POST /api/scenarios`
takes on the first call after `civic serve` starts (issue target: < 200 ms; it took about 5 s
when the request built the city model) and once warm, and the dry run `POST
/api/scenarios/validate` (which does load the city, once per web worker).

The server is started as `make run` starts it (a checkout with `datasets/` only, no `CIVIC_*`
variables, relative paths, the scenario worker beside the web workers), on the bundled city
ingested once; a planner's token comes from `civic users add`. Each round restarts the server
with an empty job queue, so every round's first POST is a true first call. Each request comes
from its own loopback address, so the per-client submission limit stays on and is not hit.

    .venv/bin/python bench/bench_writes.py [--rounds 5] [--warm 5]

Prints a Markdown table of medians (the machine is noisy; single times mean little).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.install import (  # noqa: E402
    civic_command,
    make_checkout,
    run_stage,
    serving,
    user_environment,
)

TARGET_MS = 200.0
SCENARIO = ROOT / "datasets" / "scenarios" / "close_mannerheimintie.toml"


class _SourceAddress(HTTPAdapter):
    """Connect from one loopback address (the server limits submissions per client address)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):  # noqa: ANN002, ANN003 - requests' signature
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def timed_post(url: str, body: dict, token: str, address: str) -> float:
    """One POST from `address` on a new connection; its wall time in ms (a non-2xx fails)."""
    with requests.Session() as session:
        session.mount("http://", _SourceAddress(address))
        started = time.perf_counter()
        resp = session.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        elapsed = (time.perf_counter() - started) * 1000
    if resp.status_code not in (200, 202):
        raise RuntimeError(f"POST {url} answered {resp.status_code}: {resp.text[:300]}")
    return elapsed


def planner_token(root: Path) -> str:
    """`civic users add` in the checkout, as an operator would; the token is its last line."""
    done = subprocess.run(
        [civic_command(), "users", "add", "bench", "--role", "planner"],
        cwd=root, env=user_environment(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def one_round(root: Path, token: str, index: int, warm: int) -> dict[str, list[float]]:
    """Start the server, time the first and `warm` later POSTs and dry runs, stop it."""
    for leftover in (root / "data").glob("scenario_jobs.db*"):
        leftover.unlink()  # an empty queue: the worker has nothing to solve at the start
    base = tomllib.loads(SCENARIO.read_text(encoding="utf-8"))
    samples: dict[str, list[float]] = {"post_first": [], "post_warm": [],
                                       "validate_first": [], "validate_warm": []}  # fmt: skip
    with serving(root, {}) as install:
        api = f"{install.base}/api/scenarios"
        body = {**base, "name": f"bench_{index}_0"}
        samples["post_first"].append(timed_post(api, body, token, "127.0.0.2"))
        for n in range(1, warm + 1):
            body = {**base, "name": f"bench_{index}_{n}"}
            samples["post_warm"].append(timed_post(api, body, token, f"127.0.0.{2 + n}"))
        samples["validate_first"].append(timed_post(f"{api}/validate", base, token, "127.0.1.2"))
        for n in range(1, warm + 1):
            address = f"127.0.1.{2 + n}"
            samples["validate_warm"].append(timed_post(f"{api}/validate", base, token, address))
    return samples


def table(samples: dict[str, list[float]], rounds: int) -> str:
    labels = {
        "post_first": "`POST /api/scenarios`, first call after start",
        "post_warm": "`POST /api/scenarios`, later calls",
        "validate_first": "`POST /api/scenarios/validate`, first call (loads the city)",
        "validate_warm": "`POST /api/scenarios/validate`, later calls",
    }
    lines = ["| request | n | median | max | target |", "| --- | ---: | ---: | ---: | --- |"]
    for key, label in labels.items():
        values = samples[key]
        target = ""
        if key.startswith("post"):
            met = statistics.median(values) < TARGET_MS
            target = f"< {TARGET_MS:.0f} ms {'✔' if met else '✘'}"
        lines.append(
            f"| {label} | {len(values)} | {statistics.median(values):.0f} ms "
            f"| {max(values):.0f} ms | {target} |"
        )
    return f"{rounds} server starts\n\n" + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="server starts (default 5)")
    parser.add_argument("--warm", type=int, default=5, help="later calls per start (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make_checkout(Path(tmp) / "checkout")
        run_stage(root, "ingest", ["ingest"], {})
        token = planner_token(root)
        merged: dict[str, list[float]] = {}
        for index in range(args.rounds):
            for key, values in one_round(root, token, index, args.warm).items():
                merged.setdefault(key, []).extend(values)
    print(table(merged, args.rounds))


if __name__ == "__main__":
    main()
