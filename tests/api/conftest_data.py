"""Fixture builders for the data-API tests: a small published store and a live server.

Test modules wrap these in their own fixtures (`tests/api/conftest.py` belongs to another
engineer); the store is built once per session and shared through `published_store`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import requests
from shapely.geometry import LineString, Point, box

from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import Release, publish
from tests import backend

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python")
SCRIPT_TITLE = "Street network <script>alert(1)</script>"
WEST, SOUTH, EAST, NORTH = 24.935, 60.164, 24.953, 60.179
NAMES = ["Pörssitalo", "Åkerlundinkatu", "Söderberg", "Kämp", "Ateneum", "Vanha ylioppilastalo"]

HELSINKI = {
    "name": "Helsingin kaupunki",
    "uri": "https://www.hel.fi/",
    "type": "http://purl.org/adms/publishertype/LocalAuthority",
}
HSL = {
    "name": "Helsingin seudun liikenne",
    "uri": "https://www.hsl.fi/",
    "type": "http://purl.org/adms/publishertype/RegionalAuthority",
}


def _metadata(**overrides: Any) -> dict[str, Any]:
    base = {
        "publisher": HELSINKI,
        "contact": {"name": "Kaupunkitietopalvelu", "email": "opendata@hel.fi"},
        "license": "CC-BY-4.0",
        "license_url": "https://creativecommons.org/licenses/by/4.0/",
        "attribution": "© Helsingin kaupunki",
        "update_frequency": "monthly",
        "spatial": "Helsinki",
    }
    return base | overrides


SPECS: dict[str, dict[str, Any]] = {
    "buildings": {
        "metadata": _metadata(
            title={"fi": "Rakennukset", "sv": "Byggnader", "en": "Buildings"},
            description={
                "fi": "Keskustan rakennukset ja kerrosluvut.",
                "sv": "Byggnader i centrum med antal våningar.",
                "en": "Buildings in the centre with their number of floors.",
            },
            keywords={
                "fi": ["rakennus", "kaavoitus"],
                "sv": ["byggnad"],
                "en": ["buildings", "planning"],
            },
            themes=["REGI", "ENVI"],
        )
    },
    "services": {
        "metadata": _metadata(
            title={"fi": "Palvelupisteet", "sv": "Serviceställen", "en": "Public services"},
            description={
                "fi": "Koulut, kirjastot ja terveysasemat.",
                "sv": "Skolor, bibliotek och hälsostationer.",
                "en": "Schools, libraries and health stations.",
            },
            keywords={
                "fi": ["koulu", "kirjasto"],
                "sv": ["skola", "bibliotek"],
                "en": ["schools", "libraries"],
            },
            themes=["EDUC", "HEAL"],
            update_frequency="weekly",
        )
    },
    "streets": {
        "metadata": _metadata(
            title={"fi": "Katuverkko", "sv": "Gator och vägar", "en": SCRIPT_TITLE},
            description={
                "fi": "Katuverkon keskilinjat.",
                "sv": "Gatunätets mittlinjer.",
                "en": "Centre lines of the street network.",
            },
            keywords={"fi": ["katu", "liikenne"], "sv": ["vägar"], "en": ["roads", "traffic"]},
            themes=["TRAN"],
            publisher=HSL,
            license="ODbL-1.0",
            license_url="https://opendatacommons.org/licenses/odbl/1-0/",
            attribution="© OpenStreetMap contributors",
            update_frequency="daily",
        )
    },
}

COLUMNS: dict[str, list[dict[str, Any]]] = {
    "buildings": [
        {"name": "name", "type": "string", "unit": "", "description": {"en": "Name"}},
        {"name": "floors", "type": "integer", "unit": "", "description": {"en": "Floors"}},
        {"name": "area_m2", "type": "float", "unit": "m2", "description": {"en": "Floor area"}},
    ],
    "services": [
        {"name": "name", "type": "string", "unit": "", "description": {"en": "Name"}},
        {"name": "category", "type": "string", "unit": "", "description": {"en": "Kind"}},
        {"name": "building", "type": "integer", "unit": "", "description": {"en": "Building fid"}},
    ],
    "streets": [
        {"name": "name", "type": "string", "unit": "", "description": {"en": "Street name"}},
        {"name": "lanes", "type": "integer", "unit": "", "description": {"en": "Lanes"}},
    ],
}


def buildings(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    """`n` small building footprints in central Helsinki with åäö names."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(WEST, EAST - 0.0004, n)
    y = rng.uniform(SOUTH, NORTH - 0.0002, n)
    geoms = [box(a, b, a + 0.0003, b + 0.00015) for a, b in zip(x, y, strict=True)]
    return gpd.GeoDataFrame(
        {
            "name": [f"{NAMES[i % len(NAMES)]} {i}" for i in range(n)],
            "floors": rng.integers(1, 9, n).astype("int64"),
            "area_m2": rng.uniform(80, 4000, n).round(1),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def services(n: int = 100, seed: int = 2) -> gpd.GeoDataFrame:
    """`n` service points; `building` refers to a building fid (for join tests)."""
    rng = np.random.default_rng(seed)
    kinds = np.array(["school", "library", "health", "grocery"])
    return gpd.GeoDataFrame(
        {
            "name": [f"Palvelu {i} – Tjänst" for i in range(n)],
            "category": kinds[rng.integers(0, 4, n)],
            "building": rng.integers(1, 301, n).astype("int64"),
        },
        geometry=[
            Point(a, b)
            for a, b in zip(rng.uniform(WEST, EAST, n), rng.uniform(SOUTH, NORTH, n), strict=True)
        ],
        crs="EPSG:4326",
    )


def streets(n: int = 40, seed: int = 3) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lines = [
        LineString([(a, b), (a + 0.002, b + 0.001)])
        for a, b in zip(
            rng.uniform(WEST, EAST - 0.002, n), rng.uniform(SOUTH, NORTH - 0.001, n), strict=True
        )
    ]
    return gpd.GeoDataFrame(
        {"name": [f"Katu {i}" for i in range(n)], "lanes": rng.integers(1, 4, n).astype("int64")},
        geometry=lines,
        crs="EPSG:4326",
    )


def release(name: str, frame: gpd.GeoDataFrame) -> Release:
    """A realistic release for `frame` (spec, columns, report, provenance)."""
    spec = {
        "name": name,
        **SPECS[name],
        "source": {"path": f"sources/{name}.geojson", "format": "geojson"},
        "schema": {"fields": [{"name": c["name"], "type": c["type"]} for c in COLUMNS[name]]},
    }
    digest = hashlib.sha256(frame.to_json().encode() + name.encode()).hexdigest()
    report = {
        "dataset": name,
        "status": "published",
        "rows_in": len(frame),
        "rows_published": len(frame),
        "rows_quarantined": 0,
        "quarantine_reasons": {},
    }
    return Release(
        name=name,
        spec=spec,
        columns=COLUMNS[name],
        content_hash=digest,
        source_crs="EPSG:3067",
        report=report,
        provenance={"content_sha256": digest, "code_version": "test"},
    )


@dataclass(frozen=True)
class Store:
    """A published test store: its settings and the frames as published (before `fid`)."""

    settings: Settings
    frames: dict[str, gpd.GeoDataFrame]


_STORES: dict[str, Store] = {}


def build_store(root: Path) -> Store:
    """Publish buildings (v1: 280, v2: 300 rows), services and streets under `root`."""
    settings = backend.store_settings(root, base_url="http://data.example.test", rate_limit=0)
    publish(settings, release("buildings", buildings(280)), buildings(280))
    frames = {"buildings": buildings(300), "services": services(), "streets": streets()}
    for name, frame in frames.items():
        publish(settings, release(name, frame), frame)
    return Store(settings, frames)


def published_store(tmp_path_factory: Any) -> Store:
    """The session's shared store (built on first use)."""
    key = str(tmp_path_factory.getbasetemp())
    if key not in _STORES:
        _STORES[key] = build_store(tmp_path_factory.mktemp("store"))
    return _STORES[key]


def build_table_store(root: Path) -> Store:
    """A store with one plain (non-spatial) twin scenario result with a minimal spec."""
    import pandas as pd

    settings = backend.store_settings(root, base_url="http://data.example.test", rate_limit=0)
    frame = pd.DataFrame({"zone": [1, 2, 3], "trips": [120.5, 80.0, 33.25]})
    spec = {"metadata": {"title": {"en": "Scenario trips", "fi": "Skenaarion matkat"}}}
    columns = [{"name": "zone", "type": "integer"}, {"name": "trips", "type": "float"}]
    publish(
        settings,
        Release(
            name="scenario_trips",
            spec=spec,
            columns=columns,
            content_hash="trips-1",
            source_crs=None,
            report={},
            provenance={},
            kind="scenario",
        ),
        frame,
    )
    return Store(settings, {})


def table_store(tmp_path_factory: Any) -> Store:
    """The session's shared non-spatial store (built on first use)."""
    key = "table:" + str(tmp_path_factory.getbasetemp())
    if key not in _STORES:
        _STORES[key] = build_table_store(tmp_path_factory.mktemp("tables"))
    return _STORES[key]


def catalog_of(store: Store) -> Catalog:
    return Catalog(store.settings.catalog_url)


_SERVER = """
import os, sys
from dataclasses import replace
from werkzeug.serving import make_server
from api.app import create_app
from opendata.settings import Settings
server = make_server("127.0.0.1", 0, None, threaded=True)
settings = Settings.from_env(base_url=f"http://127.0.0.1:{server.server_port}", rate_limit=0.0)
server.app = create_app(settings)
print(server.server_port, flush=True)
server.serve_forever()
"""


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """A real HTTP server (werkzeug, threaded) over `settings`' store; yields its base URL."""
    host_dir = Path(tempfile.mkdtemp(prefix="civic-host-"))
    env = dict(os.environ, **backend.host_env(settings, host_dir), PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [PYTHON if Path(PYTHON).exists() else sys.executable, "-c", _SERVER],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = int(proc.stdout.readline().strip() or 0)
        if not port:
            raise RuntimeError("live server did not start")
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        shutil.rmtree(host_dir, ignore_errors=True)


def _wait_until_up(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/datasets", timeout=2).close()
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"live server at {url} did not answer in {timeout} s")


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Path -> (size, mtime_ns, sha256) for every file under `root`."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        out[str(path.relative_to(root))] = (
            stat.st_size,
            stat.st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
    return out


def as_json(data: bytes) -> Any:
    return json.loads(data.decode("utf-8"))
