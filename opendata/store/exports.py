"""Download formats of a published version: the stored GeoParquet plus GeoJSON, CSV and GeoPackage
built on demand and cached under `data_dir/cache/` (the version is immutable, so is the export).

Exports are written under a temporary name and renamed into place while holding a per-file lock,
so concurrent requests build a file once and never see it half-written.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from opendata.errors import NotFound
from opendata.settings import Settings
from opendata.store import _atomic, objects
from opendata.store.catalog import Version
from opendata.store.geoparquet import read_geo_metadata

IANA = "http://www.iana.org/assignments/media-types/"
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"


@dataclass(frozen=True)
class Format:
    """One download format: file extension, label (CKAN `format`), media type, EU file type."""

    ext: str
    label: str
    media_type: str
    eu_file_type: str
    spatial_only: bool = False

    @property
    def media_type_iri(self) -> str:
        return IANA + self.media_type

    @property
    def file_type_iri(self) -> str:
        return EU_FILE_TYPE + self.eu_file_type


FORMATS: dict[str, Format] = {
    "parquet": Format("parquet", "GeoParquet", "application/vnd.apache.parquet", "PARQUET"),
    "geojson": Format("geojson", "GeoJSON", "application/geo+json", "GEOJSON", spatial_only=True),
    "csv": Format("csv", "CSV", "text/csv", "CSV"),
    "gpkg": Format(
        "gpkg", "GeoPackage", "application/geopackage+sqlite3", "GPKG", spatial_only=True
    ),
}


#: The stored file of a table without geometry is plain Parquet.
PLAIN_PARQUET = Format("parquet", "Parquet", "application/vnd.apache.parquet", "PARQUET")


def formats_for(spatial: bool) -> list[Format]:
    """The formats a version can be downloaded in (GeoJSON/GPKG need geometry)."""
    if not spatial:
        return [
            PLAIN_PARQUET,
            *(f for f in FORMATS.values() if not f.spatial_only and f.ext != "parquet"),
        ]
    return list(FORMATS.values())


def is_spatial(version: Version) -> bool:
    """Whether a version has geometry (a bbox is recorded only for spatial data)."""
    return version.bbox is not None


def download_path(name: str, version: int, ext: str) -> str:
    """URL path of a versioned, immutable download."""
    return f"/datasets/{name}/versions/{version}/{name}.{ext}"


def latest_path(name: str, ext: str) -> str:
    """URL path that redirects to the current version's download."""
    return f"/datasets/{name}/latest.{ext}"


def download_name(name: str, version: int, ext: str) -> str:
    """The file name offered to browsers (`Content-Disposition`)."""
    return f"{name}-v{version}.{ext}"


def stored_file(settings: Settings, version: Version) -> Path:
    """The version's GeoParquet file, refusing any path that leaves the store (checked before
    anything is fetched from an object store)."""
    root = settings.store_dir.resolve()
    path = (root / version.path).resolve()
    if path.is_relative_to(root) and settings.store_is_remote:
        objects.cached(settings.store_url, settings.data_dir, version.path)
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"the file of {version.dataset} v{version.version} is not available")
    return path


def _read(path: Path) -> gpd.GeoDataFrame | pd.DataFrame:
    """The published rows without the GeoParquet `bbox` covering column (not portable)."""
    geo = read_geo_metadata(path)
    if geo is None:
        return pd.read_parquet(path)
    frame = gpd.read_parquet(path)
    covering = geo["columns"][geo["primary_column"]].get("covering", {}).get("bbox", {})
    drop = {parts[0] for parts in covering.values() if parts} & set(frame.columns)
    return frame.drop(columns=sorted(drop))


def _write_geojson(frame: gpd.GeoDataFrame, target: Path, layer: str) -> None:
    """RFC 7946 GeoJSON (WGS 84 lon/lat, no `crs` member)."""
    frame.to_file(target, driver="GeoJSON", engine="pyogrio", layer=layer, RFC7946="YES")


def _write_gpkg(frame: gpd.GeoDataFrame, target: Path, layer: str) -> None:
    frame.to_file(target, driver="GPKG", engine="pyogrio", layer=layer)


def _write_csv(frame: pd.DataFrame, target: Path, layer: str) -> None:
    """UTF-8 CSV; geometry as a WKT column named like the geometry column."""
    if isinstance(frame, gpd.GeoDataFrame):
        name = frame.geometry.name
        wkt = frame.geometry.to_wkt()
        frame = pd.DataFrame(frame.drop(columns=name)).assign(**{name: wkt})
    frame.to_csv(target, index=False, encoding="utf-8", lineterminator="\n")


BUILDERS: dict[str, Callable[..., None]] = {
    "geojson": _write_geojson,
    "gpkg": _write_gpkg,
    "csv": _write_csv,
}


def cache_file(settings: Settings, version: Version, ext: str) -> Path:
    """Where an export of `version` is cached (the content hash keeps stale files apart)."""
    folder = f"v{version.version}-{version.content_hash[:16]}"
    return settings.data_dir / "cache" / version.dataset / folder / f"{version.dataset}.{ext}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def export_file(settings: Settings, version: Version, ext: str) -> Path:
    """The file to serve for `version` in format `ext`, building and caching it when needed."""
    fmt = FORMATS.get(ext)
    if fmt is None or (fmt.spatial_only and not is_spatial(version)):
        raise NotFound(
            f"no '{ext}' download for {version.dataset}; formats: "
            + ", ".join(f.ext for f in formats_for(is_spatial(version)))
        )
    source = stored_file(settings, version)
    if ext == "parquet":
        return source
    target = cache_file(settings, version, ext)
    if target.is_file():
        return target
    with _locked(target):
        if not target.is_file():  # another request may have built it while we waited
            tmp = target.with_name(f".{uuid.uuid4().hex}.tmp.{ext}")
            try:
                BUILDERS[ext](_read(source), tmp, version.dataset)
                _atomic.fsync_file(tmp)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
    return target


_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_etag(path: Path) -> str:
    """A strong ETag for a cached export: the sha256 of its bytes (memoised by size and mtime)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]
