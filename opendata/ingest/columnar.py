"""The columnar pipeline: a clean CSV of points published without a Python or GEOS object per row.

`civic ingest` tries it first for the common case (a CSV source with x/y columns, no transforms,
text, number and date fields, no hashed columns) and hands over to the GeoDataFrame pipeline the
moment the data needs anything else: a cell that would be quarantined, a coordinate outside the
CRS's area of use or the city, a privacy decision to apply. This path never reproduces the reject
rules; it only recognises, column by column with Arrow kernels, that none of them applies, and
then the general pipeline would publish every row unchanged. The rules that fail a whole run (the
primary key, data outside the city) it applies itself, with the general pipeline's functions.
Both paths publish the same file (tested on the same sources, see
tests/opendata/ingest/test_columnar.py); the run report says which one ran.

Work is split over two threads where Arrow and PROJ release the GIL (privacy scan, typed
columns, reprojection), as the CSV parser already is.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import CRS

from opendata.ingest import privacy
from opendata.ingest.crs_hints import area_bounds, inside_bounds, to_lonlat
from opendata.ingest.rules import Extent, check_extent, check_key, violations
from opendata.ingest.spec_model import DatasetSpec, FieldSpec, Schema
from opendata.readers.csv_ import PointColumns, read_point_columns
from opendata.store.geoparquet import PointTable, hilbert_order

#: Dates this path types itself (pandas' nanosecond range); for dates outside it the general
#: pipeline decides, as pandas' parsing of far dates depends on its version.
_DATE_RANGE = (date(1677, 9, 22), date(2262, 4, 11))
_TYPES = {"string": None, "integer": pa.int64(), "float": pa.float64(), "date": pa.date32()}


class NeedsGeneral(Exception):  # noqa: N818 - a hand-over, not an error
    """The data needs the general pipeline; the message says why (kept in the run report)."""


@dataclass(frozen=True)
class Prepared:
    """What the columnar path hands to publishing: the rows and the report entries."""

    points: PointTable
    report: dict[str, Any]


def not_eligible(spec: DatasetSpec, schema: Schema) -> str | None:
    """Why this spec cannot take the columnar path (None when it can)."""
    options = spec.source.options
    if spec.source.format != "csv" or "x" not in options or "wkt" in options:
        return "the source is not a CSV with x/y columns"
    if spec.transforms:
        return "the spec has transforms"
    if schema.geometry not in ("Point", "any"):
        return f"the schema expects {schema.geometry} geometry"
    for f in schema.fields:
        if f.type not in _TYPES:
            return f"column '{f.name}' is a {f.type}"
        if (f.minimum is not None or f.maximum is not None) and f.type not in ("integer", "float"):
            return f"column '{f.name}' has a range but is not a number"
    if any(d.action == "hash" for d in spec.privacy.values()):
        return "a privacy decision hashes a column"
    return None


def prepare(
    spec: DatasetSpec, schema: Schema, source: Path, *, extent: Extent | None = None
) -> Prepared:
    """Read, scan, type and reproject the source; raise `NeedsGeneral` with the reason when the
    general pipeline must decide, and any `CivicError` the general pipeline would raise too
    (the dataset rules, primary key and `extent`, are the general pipeline's own functions)."""
    why = not_eligible(spec, schema)
    if why:
        raise NeedsGeneral(why)
    read = read_point_columns(source, crs=spec.source.crs, options=spec.source.options)
    if read is None:
        raise NeedsGeneral("some coordinates are missing or not numbers")
    columns = list(read.raw)
    absent = [f.name for f in schema.fields if f.name not in read.raw]
    absent += [c for c in spec.privacy if c not in read.raw]
    if absent:
        raise NeedsGeneral(f"column '{absent[0]}' is not in the source")
    crs = CRS.from_user_input(spec.source.crs)
    decimal = str(spec.source.options.get("decimal", "."))
    fields = {f.name: f for f in schema.fields}
    scanned = [f.name for f in spec.schema.fields if f.name in read.raw]
    with ThreadPoolExecutor(max_workers=2) as pool:
        area = pool.submit(_check_area, read, crs)
        half = len(read.x) // 2  # PROJ releases the GIL: two halves, one per thread
        lonlat = [pool.submit(to_lonlat, read.x[a:b], read.y[a:b], crs)
                  for a, b in ((0, half), (half, len(read.x)))]  # fmt: skip
        area.result()
        lon, lat = (
            np.concatenate(part) for part in zip(*(t.result() for t in lonlat), strict=True)
        )
        order = pool.submit(hilbert_order, lon, lat)  # queued before the column work
        # Every column is decoded (a bad byte anywhere fails the run, as in the general
        # reader), and results are collected in header order, so the same error comes first.
        tasks = {
            name: pool.submit(_column, read, name, fields.get(name), decimal, name in scanned)
            for name in columns
        }
        done = {name: task.result() for name, task in tasks.items()}
        findings = [f for name in scanned for f in done[name][0]]
        privacy.gate(findings, spec.privacy)
        properties = pa.table({name: done[name][1] for name in fields})
    _dataset_rules(spec, schema, properties, read, (lon, lat), crs, extent)
    kept = set(fields) | {c for c, d in spec.privacy.items() if d.action == "drop"}
    report = {
        "rows_in": properties.num_rows,
        "source_crs": crs.to_string(),
        "rows_filtered": 0,
        "privacy": privacy.report(findings, spec.privacy),
        "rows_repaired": 0,
        "rows_quarantined": 0,
        "quarantine_reasons": {},
        "columns_not_published": [c for c in columns if c not in kept],
    }
    return Prepared(PointTable(properties, lon, lat, order.result()), report)


def _column(
    read: PointColumns, name: str, spec: FieldSpec | None, decimal: str, scan: bool
) -> tuple[list[privacy.Finding], pa.ChunkedArray | None]:
    """One column's share of the work: decode, scan for personal data, type and check."""
    text = read.text(name)
    findings = privacy.scan_column(name, text) if scan else []
    if spec is None:
        return findings, None
    # One contiguous array: the writer's row-group gathers are much quicker than from chunks.
    return findings, _typed(text, spec, decimal).combine_chunks()


def _check_area(read: PointColumns, crs: CRS) -> None:
    bounds = area_bounds(crs)
    if bounds is not None and not inside_bounds(read.x, read.y, bounds).all():
        raise NeedsGeneral(f"some coordinates lie outside the area of use of {crs.to_string()}")


def _dataset_rules(
    spec: DatasetSpec,
    schema: Schema,
    properties: pa.Table,
    read: PointColumns,
    lonlat: tuple[np.ndarray, np.ndarray],
    crs: CRS,
    extent: Extent | None,
) -> None:
    """The rules that fail a run, in the general pipeline's order: the primary key, then where
    the points lie; a few points outside the extent are for the general pipeline to quarantine."""
    key = schema.primary_key
    field = schema.field(key) if key is not None else None
    # A key field that is `required` and `unique` has passed those row rules in `_typed` (or the
    # source was handed over), which is all `check_key` asks: spare a second hash pass.
    if field is not None and not (field.required and field.unique):
        values = properties.column(key).to_pandas(types_mapper=pd.ArrowDtype)
        check_key(key, values, values.isna().to_numpy(dtype=bool))
    if extent is not None:
        columns = (spec.source.options["x"], spec.source.options["y"])
        stray = check_extent((read.x, read.y), lonlat, crs=crs, extent=extent, columns=columns)
        if stray.any():
            raise NeedsGeneral(f"some coordinates lie outside {extent}")


def _typed(text: pa.ChunkedArray, spec: FieldSpec, decimal: str) -> pa.ChunkedArray:
    """One column in its schema type, when every rule of the general validation passes for
    every row; else `NeedsGeneral`. Parsing is Arrow's (strict: no spaces, no `1 000`), which
    accepts a subset of what the general path accepts and gives the same values for it."""
    name = spec.name
    try:
        values = _convert(text, spec, decimal)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
        raise NeedsGeneral(f"column '{name}' has values that are not plain {spec.type}s") from None
    # The constraint rules are the general pipeline's own (`rules.py`), on Arrow-backed pandas
    # columns that share the Arrow buffers: any broken rule hands the source over.
    broken = next(violations(spec, values.to_pandas(types_mapper=pd.ArrowDtype)), None)
    if broken is not None:
        raise NeedsGeneral(broken[1])
    return values


def _convert(text: pa.ChunkedArray, spec: FieldSpec, decimal: str) -> pa.ChunkedArray:
    if spec.type == "string":
        return text
    if spec.type == "date":
        dates = pc.cast(text, pa.date32())
        low, high = pc.min(dates).as_py(), pc.max(dates).as_py()
        if low is not None and (low < _DATE_RANGE[0] or high > _DATE_RANGE[1]):
            raise pa.ArrowInvalid("date out of range")
        return dates
    if spec.type == "integer" and (whole := _plain_integers(text)) is not None:
        return whole
    numbers = pc.cast(
        pc.replace_substring(text, ",", ".") if decimal == "," else text, pa.float64()
    )
    if pc.any(pc.invert(pc.is_finite(numbers))).as_py():  # nan, inf: the general path rejects
        raise pa.ArrowInvalid("not finite")
    if spec.type == "float":
        return numbers
    if pc.all(pc.equal(numbers, pc.floor(numbers))).as_py() is False:
        raise pa.ArrowInvalid("not whole")
    return pc.cast(numbers, pa.int64())  # safe cast: refuses values beyond int64


def _plain_integers(text: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Cells of plain digits parsed straight to int64, when every cell is one and all are
    within +-2**53, where the general path's parse through float64 gives the same value."""
    try:
        numbers = pc.cast(text, pa.int64())
    except pa.ArrowInvalid:
        return None
    low, high = pc.min(numbers).as_py(), pc.max(numbers).as_py()
    if low is not None and max(-low, high) > 2**53:
        return None
    return numbers
