"""Benchmark the citizens' website in headless Chromium on localhost: first contentful paint,
time until the map's data is drawn, and bytes transferred, for the home page, the dataset page
of the largest bundled dataset (roads, with its map), the `/map` page and a scenario page.
Median of 5 cold loads.

    .venv/bin/python bench/bench_site.py [--data-dir DIR] [--runs 5]

Without `--data-dir` the bundled municipality is ingested into a temporary store, its basemap
tiles are built (as `civic ingest` does) and the `close_mannerheimintie` scenario is run and
published there first. The bytes include everything the page loads until the network is idle:
our own basemap's vector tiles and the map's data tiles or previews. Requests to any other host
are counted (the site promises none) and fail the row.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CIVIC_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip
SCENARIO = "close_mannerheimintie"
PAGES = {
    "home `/`": ("/", None),
    "dataset `/datasets/roads` (map)": ("/datasets/roads", 1_000_000),
    "map `/map`": ("/map", None),
    f"scenario `/scenarios/{SCENARIO}`": (f"/scenarios/{SCENARIO}", None),
}
MEASURE = """() => {
  const entries = performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource'));
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {fcp: fcp ? fcp.startTime : null,
          bytes: entries.reduce((s, e) => s + e.transferSize, 0),
          drawn: window.civicDrawnAt || null};
}"""
#: Notes when every map on the page has drawn its data (set once, read by MEASURE).
DRAWN_HOOK = """new MutationObserver(() => {
  const maps = document.querySelectorAll('[data-map]');
  if (maps.length && Array.from(maps).every(m => m.hasAttribute('data-rendered'))
      && !window.civicDrawnAt) { window.civicDrawnAt = performance.now(); }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-rendered']});"""


def build_store(root: Path) -> Path:
    """Ingest the bundled municipality and publish one scenario run into `root`."""
    from opendata.ingest.pipeline import ingest
    from opendata.ingest.specs import find_specs, load_spec
    from opendata.settings import Settings
    from opendata.store.tiles import build_basemap
    from twin.scenarios.run import publish_result, run_scenario
    from twin.scenarios.spec import load_scenario

    datasets = ROOT / "datasets"
    cfg = Settings(data_dir=root / "data", datasets_dir=datasets, source_roots=(datasets,))
    for path in find_specs(datasets).values():
        ingest(load_spec(path), cfg)
    build_basemap(cfg)
    publish_result(
        cfg, run_scenario(cfg, load_scenario(datasets / "scenarios" / f"{SCENARIO}.toml"))
    )
    return cfg.data_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "CIVIC_DATA_DIR": str(data_dir), "CIVIC_RATE_LIMIT": "0"}
    for key in ("CIVIC_CATALOG_URL", "CIVIC_BASE_URL", "CIVIC_TILE_URL"):
        env.pop(key, None)
    civic = Path(sys.executable).parent / "civic"
    proc = subprocess.Popen(
        [str(civic), "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def is_foreign(url: str, origin: str) -> bool:
    """A request to another host (data: and blob: URLs stay in the page)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != origin


def measure(browser, url: str) -> dict:
    """One cold load (fresh context, empty cache) of `url`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    origin = urlsplit(url).netloc
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if is_foreign(r.url, origin) else None)
    page.add_init_script(DRAWN_HOOK)
    page.goto(url, wait_until="networkidle")
    if page.query_selector("[data-map]"):
        page.wait_for_selector("[data-map][data-rendered]")
    page.wait_for_load_state("networkidle")  # the tiles a drawn map asked for
    result = page.evaluate(MEASURE)
    result["foreign"] = len(foreign)
    context.close()
    return result


def median(values: list) -> float | None:
    real = [v for v in values if v is not None]
    return statistics.median(real) if real else None


def run(base: str, runs: int) -> list[tuple]:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for label, (path, budget) in PAGES.items():
            measure(browser, base + path)  # warm the server's caches, not the browser's
            samples = [measure(browser, base + path) for _ in range(runs)]
            rows.append((
                label,
                median([s["fcp"] for s in samples]),
                median([s["drawn"] for s in samples]),
                median([s["bytes"] for s in samples]),
                max(s["foreign"] for s in samples),
                budget,
            ))  # fmt: skip
        browser.close()
    return rows


def table(rows, runs: int) -> str:
    lines = [
        f"| page (median of {runs} cold loads) | first contentful paint | map data drawn "
        "| transferred | third-party requests | target |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, fcp, drawn, size, foreign, budget in rows:
        target = "FCP < 1 s, 0 third-party" + (f", < {budget / 1e6:.0f} MB" if budget else "")
        ok = (fcp or 1e9) < 1000 and foreign == 0 and (budget is None or size < budget)
        lines.append(
            f"| {label} | {fcp:.0f} ms | {'–' if drawn is None else f'{drawn:.0f} ms'} | "
            f"{size / 1024:.0f} KB | {foreign} | {target} {'✔' if ok else '✘'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="an existing store (default: build one)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or build_store(Path(tmp))
        port = free_port()
        proc = serve(data_dir, port)
        try:
            rows = run(f"http://127.0.0.1:{port}", args.runs)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(table(rows, args.runs))


if __name__ == "__main__":
    main()
