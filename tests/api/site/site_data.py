"""The website's test store: the bundled municipality, a real scenario run, a dataset with a
hostile title and a 20,000-feature layer, all published through the platform's own paths."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from opendata.ingest.computed import publish_frame
from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import find_specs, load_spec
from opendata.settings import Settings
from opendata.store.publish import Release, publish
from opendata.store.tiles import build_basemap
from tests.conftest import BASE_METADATA, DATASETS

SCRIPT = "<script>alert(1)</script>"
HOSTILE = "hostile_names"
BIG = "city_blocks_20k"
BIG_ROWS = 20_000
SCENARIO = "close_mannerheimintie"
ADDRESS = "Mannerheimintie 4"
TABLE = "library_visits"


def hostile_frame() -> gpd.GeoDataFrame:
    names = [f"Paikka {SCRIPT}", "<img src=x onerror=alert(2)>", 'Kallio" onmouseover="alert(3)']
    points = [shapely.Point(24.94 + i * 0.002, 60.17) for i in range(3)]
    return gpd.GeoDataFrame({"name": names}, geometry=points, crs=4326)


def hostile_metadata() -> dict:
    return {
        **BASE_METADATA,
        "title": {
            "fi": f"Kadunnimet {SCRIPT}",
            "sv": f"Gatunamn {SCRIPT}",
            "en": f"Street names {SCRIPT}",
        },
        "description": {"en": "Names <img src=x onerror=alert(2)> & more", "fi": "Nimet </p>"},
        "keywords": {"en": [SCRIPT, "names"]},
        "attribution": f"Test {SCRIPT}",
        "notes": {"en": f"Notes {SCRIPT}"},
        "license_url": "javascript:alert(4)",
        "publisher": {**BASE_METADATA["publisher"], "uri": "javascript:alert(5)"},
        "contact": {"name": "Data team", "email": "x@y.fi?body=<b>"},
    }


def big_frame(n: int = BIG_ROWS, seed: int = 4) -> gpd.GeoDataFrame:
    """`n` small rotated blocks over central Helsinki (about 9 vertices each after the box)."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(24.90, 24.99, n), rng.uniform(60.15, 60.19, n)
    blocks = [
        shapely.affinity.rotate(shapely.box(a, b, a + 0.0004, b + 0.0002), float(r))
        for a, b, r in zip(x, y, rng.uniform(0, 90, n), strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            "block": np.arange(n, dtype=np.int64),
            "use": rng.choice(["housing", "offices", "park", "school"], n),
            "floors": rng.integers(1, 9, n).astype(np.int64),
        },
        geometry=blocks,
        crs=4326,
    )


def _publish_extras(cfg: Settings) -> None:
    publish_frame(
        cfg,
        name=HOSTILE,
        metadata=hostile_metadata(),
        fields=[{"name": "name", "type": "string", "description": {"en": f"Name {SCRIPT}"}}],
        frame=hostile_frame(),
        provenance={"test": "hostile"},
    )
    publish_frame(
        cfg,
        name=BIG,
        metadata={
            **BASE_METADATA,
            "title": {
                "en": "City blocks (20,000, generated)",
                "fi": "Korttelit (20 000, generoitu)",
            },
        },
        fields=[
            {"name": "block", "type": "integer"},
            {"name": "use", "type": "string"},
            {"name": "floors", "type": "integer"},
        ],
        frame=big_frame(),
        provenance={"test": "big"},
    )


def _publish_table(cfg: Settings) -> None:
    """A plain table without geometry, published like any ingested dataset."""
    frame = pd.DataFrame({"library": ["Rikhardinkatu", "Oodi"], "visits": [120_500, 2_100_000]})
    release = Release(
        name=TABLE,
        spec={"metadata": {**BASE_METADATA, "title": {"en": "Library visits", "fi": "Käynnit"}}},
        columns=[{"name": "library", "type": "string"}, {"name": "visits", "type": "integer"}],
        content_hash="library-visits-1",
        source_crs=None,
        provenance={"test": "table"},
        report={"rows_in": 2, "rows_published": 2, "rows_quarantined": 0},
    )
    publish(cfg, release, frame)


def _run_scenario(cfg: Settings) -> None:
    from twin.scenarios.maps import write_maps
    from twin.scenarios.run import publish_result, run_scenario
    from twin.scenarios.spec import load_scenario

    spec = load_scenario(DATASETS / "scenarios" / f"{SCENARIO}.toml")
    result = run_scenario(cfg, spec)
    publish_result(cfg, result)
    write_maps(cfg, result)  # its result maps in fi/sv/en, as `civic twin run` writes them


def build_site_store(root: Path) -> Settings:
    """Ingest every bundled dataset, run one scenario and publish the extra test layers."""
    cfg = Settings(
        data_dir=root / "data",
        datasets_dir=DATASETS,
        source_roots=(DATASETS,),
        rate_limit=0,
        base_url="http://site.test",
    )
    for path in find_specs(DATASETS).values():
        ingest(load_spec(path), cfg)
    _run_scenario(cfg)
    build_basemap(cfg)  # what `civic ingest` does after publishing: the basemap's vector tiles
    _publish_extras(cfg)
    _publish_table(cfg)
    return cfg
