"""Source readers: a registry from a short format name to a reader function.

A reader takes a path, its declared CRS and its options, and returns a GeoDataFrame in the source
CRS. Built-in readers are registered exactly as an outside plugin would be (a dotted path), so the
registry is exercised by our own use of it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd

from opendata.errors import SourceError, SpecError
from opendata.readers.archive import check_archive, is_archive

log = logging.getLogger(__name__)

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
#: How a data officer names each format in a message.
LABELS = {
    "csv": "CSV",
    "geojson": "GeoJSON",
    "gpkg": "GeoPackage",
    "shapefile": "Shapefile",
    "xlsx": "Excel workbook (.xlsx)",
    "parquet": "Parquet",
    "osm_pbf": "OpenStreetMap PBF",
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


#: Magic bytes of compressed streams no reader takes (some libraries would inflate them by name).
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\x04\x22\x4d\x18": "lz4",
}


def _refuse_compressed(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    for magic, kind in _COMPRESSED.items():
        if head.startswith(magic):
            raise SourceError(
                f"{path.name}: is a compressed file ({kind}); unpack it and point source.path at "
                "the unpacked file"
            )


def read_source(
    path: Path, fmt: str, *, crs: str | None, options: Mapping[str, Any]
) -> gpd.GeoDataFrame:
    """Read a source with its registered reader. Every failure is a `SourceError` naming the
    file (never its folder on the server); an unexpected library error is logged, not shown."""
    if not path.exists():
        raise SourceError(f"{path.name}: the source file does not exist (check source.path)")
    if not path.is_file():
        raise SourceError(f"{path.name}: is a folder, not a file (check source.path)")
    if path.stat().st_size == 0:
        raise SourceError(f"{path.name}: the source file is empty")
    if is_archive(path):  # any archive, whatever reader or library would open it next
        check_archive(path)
    _refuse_compressed(path)
    reader = get_reader(fmt)
    try:
        return reader(path, crs=crs, options=options)
    except (SourceError, SpecError):
        raise
    except MemoryError:
        raise SourceError(f"{path.name}: too large to read with the memory available") from None
    except Exception as err:  # noqa: BLE001 - any library failure becomes one clear message
        log.debug("reading %s as %s failed", path, fmt, exc_info=True)
        raise SourceError(
            f"{path.name}: cannot be read as {LABELS.get(fmt, fmt)}: the file is damaged or "
            "in another format; export it again (run with --debug for the library's message)"
        ) from err
