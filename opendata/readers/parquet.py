"""Parquet: GeoParquet (with `geo` metadata) as it is, plain Parquet with x/y or WKT columns.

Parquet is typed, so columns keep their types; only geometry is built here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyarrow as pa
import pyarrow.parquet as pq

from opendata.errors import SourceError, SpecError
from opendata.readers import check_options
from opendata.readers.vector import check_crs, table_geometry, to_geodataframe, with_crs

log = logging.getLogger(__name__)
OPTIONS = {"x": str, "y": str, "wkt": str, "decimal": str}


def read_parquet(path: Path, *, crs: str | None, options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Read GeoParquet, or plain Parquet whose geometry is in x/y or WKT columns."""
    check_options(options, OPTIONS)
    geometry_columns = _geometry_columns(options)
    schema = _schema(path)
    if b"geo" in (schema.metadata or {}):
        if geometry_columns:
            raise SpecError(
                f"source.options.{next(k for k in ('x', 'wkt') if k in options)}: {path.name} is "
                "GeoParquet and has its geometry already; remove x/y/wkt"
            )
        return with_crs(_geoparquet(path), crs, path)
    table = _table(path)
    if not geometry_columns:
        return gpd.GeoDataFrame(table.to_pandas())
    check_crs(crs)
    missing = [c for c in geometry_columns if c not in table.column_names]
    if missing:
        raise SourceError(
            f"{path.name}: has no column(s) {missing} (source.options); it has: "
            f"{', '.join(table.column_names)}"
        )
    raw = {name: _as_text_or_number(table[name]) for name in geometry_columns}
    geometry, reasons = table_geometry(
        raw,
        x=options.get("x"),
        y=options.get("y"),
        wkt=options.get("wkt"),
        decimal=options.get("decimal", "."),
    )
    frame = table.drop_columns(list(geometry_columns)).to_pandas()
    return to_geodataframe(frame, geometry, reasons, crs=crs, path=path)


def _geometry_columns(options: Mapping[str, Any]) -> tuple[str, ...]:
    if ("x" in options) != ("y" in options):
        raise SpecError("source.options.x: 'x' and 'y' must be given together")
    if "x" in options and "wkt" in options:
        raise SpecError("source.options.wkt: give either 'wkt' or 'x'/'y', not both")
    if options.get("decimal", ".") not in (".", ","):
        raise SpecError(f"source.options.decimal: expected '.' or ',', got {options['decimal']!r}")
    return tuple(options[k] for k in ("x", "y", "wkt") if k in options)


def _corrupt(path: Path, err: Exception) -> SourceError:
    log.debug("pyarrow could not read %s", path, exc_info=err)
    return SourceError(
        f"{path.name}: is not a valid Parquet file (truncated or corrupt); export it again"
    )


def _schema(path: Path) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise _corrupt(path, err) from None


def _table(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise _corrupt(path, err) from None


def _geoparquet(path: Path) -> gpd.GeoDataFrame:
    try:
        return gpd.read_parquet(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise _corrupt(path, err) from None
    except ValueError as err:  # geopandas: missing/invalid `geo` metadata
        log.debug("geopandas could not read %s", path, exc_info=err)
        raise SourceError(
            f"{path.name}: has unusable GeoParquet metadata (the 'geo' key); write the file "
            "again with a GeoParquet writer, or as plain Parquet with x/y or WKT columns"
        ) from None


def _as_text_or_number(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Numbers stay numbers; anything else is parsed from its text form."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return column
    return column.cast(pa.large_string())
