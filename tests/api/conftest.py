"""Fixtures for the API tests: a store with three published layers, the app, a live server.

The layers are built here (deterministic random numbers) and published through
`opendata.store.publish.publish`, exactly as ingested data would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from api.app import create_app
from opendata.settings import Settings
from opendata.store.publish import Release, publish, version_path
from tests import backend
from tests.live import civic_server, free_port, wait_ready  # noqa: F401 - re-exported

ROOT = Path(__file__).resolve().parents[2]
SCRIPT_NAME = "Kallio <script>alert(1)</script>"
BUILDING_BOX = (24.935, 60.164, 24.953, 60.179)


def _spec(en: str, fi: str, sv: str) -> dict:
    return {
        "metadata": {
            "title": {"en": en, "fi": fi, "sv": sv},
            "description": {"en": f"{en} in central Helsinki (test data)."},
            "keywords": {"en": [en.lower(), "helsinki"]},
            "license": "CC-BY-4.0",
            "license_url": "https://creativecommons.org/licenses/by/4.0/",
        }
    }


def _release(name: str, columns: list[dict], spec: dict, source_crs: str) -> Release:
    return Release(
        name=name,
        spec=spec,
        columns=columns,
        content_hash=f"test-{name}-1",
        source_crs=source_crs,
        provenance={"test": True},
        report={},
    )


def make_buildings(n: int = 500, seed: int = 7) -> gpd.GeoDataFrame:
    """Rotated rectangles (a few large ones) with Nordic names, nulls and one hostile name."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = BUILDING_BOX
    cx, cy = rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)
    size = np.where(np.arange(n) % 50 == 0, 0.0025, rng.uniform(0.0001, 0.0004, n))
    geoms = [
        shapely.affinity.rotate(shapely.box(x - s, y - s / 2, x + s, y + s / 2), float(a))
        for x, y, s, a in zip(cx, cy, size, rng.uniform(0, 90, n), strict=True)
    ]
    streets = ["Mannerheimintie", "Aleksanterinkatu", "Bulevardi", "Fredrikinkatu", "Töölönkatu"]
    names = [f"{streets[i % 5]} {i} – Ääninen Östra Å" for i in range(n)]
    names[3] = SCRIPT_NAME
    floors = pd.array(rng.integers(1, 12, n), dtype="Int64")
    floors[::37] = pd.NA
    height = floors.astype("float64") * 3.2
    return gpd.GeoDataFrame(
        {
            "name": names,
            "floors": floors,
            "height": height,
            "use": rng.choice(["residential", "office", "retail", "school"], n),
            "listed": rng.random(n) < 0.1,
            "built": pd.to_datetime(rng.integers(1850, 2024, n).astype(str) + "-06-01").date,
        },
        geometry=geoms,
        crs=4326,
    )


def make_points(n: int = 300, seed: int = 11) -> gpd.GeoDataFrame:
    """Sensor points with a timezone-aware observation time."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01T00:00:00Z")
    return gpd.GeoDataFrame(
        {
            "station": [f"S{i:03d}" for i in range(n)],
            "observed": start + pd.to_timedelta(rng.integers(0, 366 * 86400, n), unit="s"),
            "pm25": np.round(rng.gamma(2.0, 4.0, n), 2),
            "kind": rng.choice(["air", "noise", "traffic"], n),
        },
        geometry=gpd.points_from_xy(rng.uniform(24.90, 25.00, n), rng.uniform(60.15, 60.20, n)),
        crs=4326,
    )


def make_lines(n: int = 60, seed: int = 5) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    starts = np.column_stack([rng.uniform(24.92, 24.98, n), rng.uniform(60.16, 60.19, n)])
    geoms = [
        shapely.LineString([p, p + rng.normal(0, 0.003, 2), p + rng.normal(0, 0.006, 2)])
        for p in starts
    ]
    return gpd.GeoDataFrame(
        {
            "street": [f"Katu {i}" for i in range(n)],
            "speed": rng.choice([30, 40, 50], n).astype("int64"),
        },
        geometry=geoms,
        crs=4326,
    )


COLUMNS = {
    "buildings": [
        {"name": "name", "type": "string", "description": {"en": "Address or name"}},
        {"name": "floors", "type": "integer", "description": {"en": "Floors above ground"}},
        {
            "name": "height",
            "type": "float",
            "unit": "m",
            "description": {"en": "Estimated height"},
            "estimate": True,
        },
        {"name": "use", "type": "string"},
        {"name": "listed", "type": "boolean"},
        {"name": "built", "type": "date"},
    ],
    "sensors": [
        {"name": "station", "type": "string"},
        {"name": "observed", "type": "datetime"},
        {"name": "pm25", "type": "float", "unit": "µg/m³"},
        {"name": "kind", "type": "string"},
    ],
    "streets": [
        {"name": "street", "type": "string"},
        {"name": "speed", "type": "integer", "unit": "km/h"},
    ],
}


def publish_fixtures(settings: Settings) -> dict[str, Path]:
    """Publish the three test layers; returns each layer's GeoParquet path."""
    layers = {
        "buildings": (
            make_buildings(),
            _spec("Buildings", "Rakennukset", "Byggnader"),
            "EPSG:3879",
        ),
        "sensors": (make_points(), _spec("Sensors", "Anturit", "Sensorer"), "EPSG:3067"),
        "streets": (make_lines(), _spec("Streets", "Kadut", "Gator"), "EPSG:3067"),
    }
    paths = {}
    for name, (frame, spec, crs) in layers.items():
        outcome = publish(settings, _release(name, COLUMNS[name], spec, crs), frame)
        paths[name] = version_path(settings, outcome.version)
    return paths


@pytest.fixture(scope="session")
def features_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, Path]]:
    data_dir = tmp_path_factory.mktemp("store")
    settings = backend.store_settings(data_dir, rate_limit=0, base_url="http://api.test")
    return settings, publish_fixtures(settings)


@pytest.fixture(scope="session")
def settings(features_store: tuple[Settings, dict[str, Path]]) -> Settings:
    return features_store[0]


@pytest.fixture(scope="session")
def paths(features_store: tuple[Settings, dict[str, Path]]) -> dict[str, Path]:
    return features_store[1]


@pytest.fixture(scope="session")
def frames(paths: dict[str, Path]) -> dict[str, gpd.GeoDataFrame]:
    """The published layers read back with GeoPandas: the reference for expected answers."""
    return {
        name: gpd.read_parquet(path).set_index("fid", drop=False) for name, path in paths.items()
    }


@pytest.fixture(scope="session")
def app(settings: Settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def small_limits_client(settings: Settings):
    """A client of an app whose page size clamps at 50."""
    app = create_app(replace(settings, items_max_limit=50))
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(live: tuple[str, Path]) -> str:
    """The base URL of a live `civic serve`."""
    return live[0]


@pytest.fixture(scope="session")
def live(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """`civic serve` as a real subprocess on a free port; yields its base URL and log file."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with civic_server(settings, log) as base:
        yield base, log


_wait_ready = wait_ready  # kept for modules that import it from here
