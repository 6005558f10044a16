"""Source readers: a registry from a short format name to a reader function.

A reader takes a path, its declared CRS and its options, and returns a GeoDataFrame in the source
CRS. Built-in readers are registered exactly as an outside plugin would be (a dotted path), so the
registry is exercised by our own use of it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd

from opendata.errors import SourceError, SpecError

#: Column a reader may add to explain, per row, why that row cannot be used (null when fine).
#: Validation moves such rows to quarantine with this text as the reason.
REJECT_COLUMN = "__reject_reason__"


class Reader(Protocol):
    """Read one source file into a GeoDataFrame with its CRS set."""

    def __call__(
        self, path: Path, *, crs: str | None, options: Mapping[str, Any]
    ) -> gpd.GeoDataFrame: ...


READERS: dict[str, str] = {
    "csv": "opendata.readers.csv_:read_csv",
    "geojson": "opendata.readers.vector:read_geojson",
    "gpkg": "opendata.readers.vector:read_gpkg",
    "shapefile": "opendata.readers.vector:read_shapefile",
    "xlsx": "opendata.readers.excel:read_xlsx",
    "parquet": "opendata.readers.parquet:read_parquet",
    "osm_pbf": "opendata.readers.osm:read_osm",
    "gtfs": "opendata.readers.gtfs:read_gtfs",
}


def get_reader(fmt: str) -> Reader:
    """The reader registered for a format name; fails loudly if it cannot be imported."""
    try:
        target = READERS[fmt]
    except KeyError:
        raise SpecError(
            f"source.format: unknown format '{fmt}'; known: {', '.join(READERS)}"
        ) from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def check_options(
    options: Mapping[str, Any], allowed: Mapping[str, type | tuple[type, ...]]
) -> None:
    """Refuse unknown or mistyped reader options with their key path."""
    for key, value in options.items():
        if key not in allowed:
            raise SpecError(
                f"source.options.{key}: unknown option; "
                f"allowed: {', '.join(sorted(allowed)) or 'none'}"
            )
        if not isinstance(value, allowed[key]):
            kinds = allowed[key] if isinstance(allowed[key], tuple) else (allowed[key],)
            names = " or ".join(k.__name__ for k in kinds)
            raise SpecError(f"source.options.{key}: expected {names}, got {value!r}")


def read_source(
    path: Path, fmt: str, *, crs: str | None, options: Mapping[str, Any]
) -> gpd.GeoDataFrame:
    """Read a source with its registered reader, turning low-level failures into `SourceError`."""
    if not path.exists():
        raise SourceError(f"{path}: source file does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise SourceError(f"{path}: source file is empty")
    reader = get_reader(fmt)
    try:
        return reader(path, crs=crs, options=options)
    except (SourceError, SpecError):
        raise
    except Exception as err:  # noqa: BLE001 - any library failure becomes one clear message
        raise SourceError(f"{path}: cannot read as {fmt}: {type(err).__name__}: {err}") from err
