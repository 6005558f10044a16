"""The three servers of the API benchmark and their data: the generated points and the test
buildings published through `opendata.store.publish`, the same rows in SQLite for Datasette and a
pygeoapi configuration for its Parquet provider; `servers` gives each one's command line."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opendata.settings import Settings  # noqa: E402
from opendata.store.publish import Release, publish, version_path  # noqa: E402
from tests.api.conftest import make_buildings  # noqa: E402

PEER_VENV = ROOT / ".venv-bench" / "bin"
OUR_VENV = Path(sys.executable).parent


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
