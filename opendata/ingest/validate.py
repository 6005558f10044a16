"""Validation: schema types and constraints, geometry validity, CRS plausibility, duplicate keys.

Rows that break a rule are not dropped: they are split off with a reason into a quarantine frame.
Everything is vectorised so a million rows validate in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS

from opendata.errors import ValidationFailed
from opendata.ingest.crs_hints import (
    area_bounds,
    crs_label,
    guess_crs,
    inside_bounds,
    likely_cause,
    to_lonlat,
)
from opendata.ingest.rules import Extent, check_extent, check_key, violations
from opendata.ingest.spec_model import FieldSpec, Schema
from opendata.readers import REJECT_COLUMN
from opendata.store.geoparquet import TYPE_NAMES

GEOMETRY_FAMILIES = {
    "Point": {"Point", "MultiPoint"},
    "LineString": {"LineString", "MultiLineString"},
    "Polygon": {"Polygon", "MultiPolygon"},
}


@dataclass
class Validated:
    """The rows that passed, the rows that did not (with `reason`), and what was repaired."""

    valid: gpd.GeoDataFrame
    rejects: pd.DataFrame
    repaired: int = 0
    dropped_columns: list[str] = field(default_factory=list)


class _Rejects:
    """Collects one reason per rejected row (the first rule a row breaks)."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, None, dtype=object)

    def add(self, mask: np.ndarray, reasons: np.ndarray | str) -> None:
        new = mask & pd.isna(self.reason)
        if isinstance(reasons, str):
            self.reason[new] = reasons
        else:
            self.reason[new] = np.asarray(reasons, dtype=object)[new]

    @property
    def mask(self) -> np.ndarray:
        return ~pd.isna(self.reason)


NUMBER_RE = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"


def _parse_numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Text to float64 with Arrow kernels (multithreaded, no Python per row); text that is not
    a number becomes NA. With a decimal comma, spaces and no-break spaces group thousands."""
    text = pc.utf8_trim_whitespace(pa.array(values.astype("string"), type=pa.large_string()))
    if decimal == ",":
        text = pc.replace_substring(pc.replace_substring(text, "\u00a0", ""), ",", ".")
    ok = pc.match_substring_regex(text, NUMBER_RE)
    numbers = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.large_string())), pa.float64())
    return pd.Series(numbers.to_numpy(zero_copy_only=False), index=values.index, dtype="float64")


def _coerce(values: pd.Series, spec: FieldSpec, decimal: str) -> pd.Series:
    """Cast a column to its schema type; values that do not parse become NA."""
    if spec.type == "string":
        return values.astype("string")
    if spec.type in ("integer", "float"):
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            values = _parse_numbers(values, decimal)
        if spec.type == "integer":
            # Whole and within int64 (a 20-digit "integer" is refused, not wrapped around).
            whole = values.isna() | ((values == np.floor(values)) & (values.abs() < 2.0**63))
            return values.where(whole).astype("Int64")
        return values.astype("Float64")
    if spec.type == "boolean":
        if pd.api.types.is_bool_dtype(values.dtype):
            return values.astype("boolean")
        text = values.astype("string").str.strip().str.lower()
        truth = {
            "true": True,
            "1": True,
            "yes": True,
            "ja": True,
            "kyllä": True,
            "false": False,
            "0": False,
            "no": False,
            "nej": False,
            "ei": False,
        }
        return text.map(truth).astype("boolean")
    parsed = pd.to_datetime(values, errors="coerce", utc=spec.type == "datetime", format="ISO8601")
    if spec.type == "datetime":
        return parsed
    ok = parsed.notna() & parsed.dt.year.between(1, 9999)  # '-1' parses as the year -1
    return parsed.where(ok).dt.date.astype("object").where(ok)


def _present(raw: pd.Series) -> pd.Series:
    """Cells that hold something (not null, not only spaces)."""
    return raw.notna() & (raw.astype("string").str.strip() != "").fillna(False)


def _check_field(
    frame: pd.DataFrame, spec: FieldSpec, decimal: str, rejects: _Rejects
) -> pd.Series:
    raw = frame[spec.name]
    values = _coerce(raw, spec, decimal)
    present = _present(raw)
    bad = (present & values.isna()).to_numpy(dtype=bool)
    if bad.any():
        shown = raw.astype("string").str.slice(0, 40)
        rejects.add(
            bad,
            ("column '" + spec.name + f"': not a valid {spec.type}: '" + shown + "'").to_numpy(),
        )
    for broken, reason in violations(spec, values):
        rejects.add(broken, reason)
    return values


def _check_geometry(
    frame: gpd.GeoDataFrame, schema: Schema, rejects: _Rejects
) -> tuple[np.ndarray, int]:
    """Reject null/empty geometries and wrong types; repair invalid ones with `make_valid`."""
    geoms = frame.geometry.to_numpy().copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    rejects.add(missing, "geometry is missing or empty")
    invalid = ~missing & ~shapely.is_valid(geoms)
    repaired = int(invalid.sum())
    if repaired:
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        if schema.geometry in GEOMETRY_FAMILIES:
            geoms[invalid] = _extract_family(geoms[invalid], schema.geometry)
    if schema.geometry in GEOMETRY_FAMILIES:
        types = shapely.get_type_id(geoms)
        names = np.array(TYPE_NAMES, dtype=object)
        kind = np.where(types >= 0, names[np.clip(types, 0, 7)], "None")
        wrong = ~missing & ~np.isin(kind, list(GEOMETRY_FAMILIES[schema.geometry]))
        rejects.add(wrong, f"geometry is not a {schema.geometry}")
    return geoms, repaired


def _extract_family(geoms: np.ndarray, family: str) -> np.ndarray:
    """After make_valid a polygon may become a collection: keep the parts of the wanted family."""
    out = geoms.copy()
    for i, geom in enumerate(geoms):
        if geom.geom_type == "GeometryCollection":
            parts = [g for g in geom.geoms if g.geom_type in GEOMETRY_FAMILIES[family]]
            out[i] = shapely.union_all(parts) if parts else shapely.Point()
    return out


def _points(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A representative x/y per feature (its bbox centre: cheap), NaN for empty geometries."""
    bounds_xy = shapely.bounds(geoms)  # NaN for missing and empty geometries
    return (bounds_xy[:, 0] + bounds_xy[:, 2]) / 2, (bounds_xy[:, 1] + bounds_xy[:, 3]) / 2


def _usable(points: tuple[np.ndarray, np.ndarray], rejects: _Rejects) -> np.ndarray:
    return ~rejects.mask & ~np.isnan(points[0]) & ~np.isnan(points[1])


def check_crs(
    points: tuple[np.ndarray, np.ndarray],
    crs: CRS,
    rejects: _Rejects,
    *,
    extent: Extent | None = None,
    columns: tuple[str, str] | None = None,
) -> None:
    """Fail the run when coordinates (a point per feature) don't fit the declared CRS; reject
    the odd stray row."""
    bounds = area_bounds(crs)
    usable = _usable(points, rejects)
    if bounds is None or not usable.any():
        return
    x, y = (v[usable] for v in points)
    inside = inside_bounds(x, y, bounds)
    declared = crs.to_string()
    if inside.mean() < 0.5:
        cause = likely_cause(x, y, crs, extent.box, columns=columns) if extent else ""
        if not cause:
            names = [crs_label(c) for c in guess_crs(x, y, declared)]
            cause = f"they look like {' or '.join(names)}; " if names else ""
            cause += "fix `source.crs` in the spec"
        raise ValidationFailed(
            f"coordinates do not fit the declared CRS {declared} ({crs.name}): "
            f"{(~inside).sum()} of {len(inside)} features lie outside its area of use "
            f"(e.g. x={x[~inside][0]:.6g}, y={y[~inside][0]:.6g}); {cause}"
        )
    stray = np.zeros(len(usable), dtype=bool)
    stray[np.flatnonzero(usable)[~inside]] = True
    rejects.add(stray, f"coordinates outside the area of use of {declared}")


def _check_place(
    points: tuple[np.ndarray, np.ndarray],
    crs: CRS,
    rejects: _Rejects,
    extent: Extent,
    columns: tuple[str, str] | None,
) -> None:
    """The city extent rule (`rules.check_extent`) on the features not yet rejected."""
    usable = _usable(points, rejects)
    x, y = (np.where(usable, v, np.nan) for v in points)
    lonlat = to_lonlat(x, y, crs)
    stray = check_extent((x, y), lonlat, crs=crs, extent=extent, columns=columns)
    rejects.add(stray, f"coordinates outside {extent}")


def validate(
    frame: gpd.GeoDataFrame,
    schema: Schema,
    *,
    decimal: str = ".",
    extent: Extent | None = None,
    columns: tuple[str, str] | None = None,
) -> Validated:
    """Check a frame against its schema; return published columns and quarantined rows.

    A broken primary key, coordinates that do not fit the CRS and features outside `extent`
    (lon/lat; None: not checked) fail the run. `columns` name the x/y source columns, for
    messages, when the geometry was built from columns."""
    missing = [f.name for f in schema.fields if f.required and f.name not in frame.columns]
    if missing:
        raise ValidationFailed(
            f"required column(s) missing from the source: {', '.join(missing)}; "
            f"the source has: {', '.join(c for c in frame.columns if c != 'geometry')}"
        )
    rejects = _Rejects(len(frame))
    if REJECT_COLUMN in frame.columns:
        from_reader = frame[REJECT_COLUMN].notna().to_numpy()
        rejects.add(from_reader, frame[REJECT_COLUMN].to_numpy(dtype=object))
    out = _check_fields(frame, schema, decimal, rejects)
    geoms = None
    repaired = 0
    if schema.geometry != "none":
        geoms, repaired = _check_geometry(frame, schema, rejects)
        if frame.crs is None:
            raise ValidationFailed(
                "the source has no CRS; set `source.crs` in the spec (e.g. 'EPSG:3067')"
            )
        points = _points(geoms)
        check_crs(points, frame.crs, rejects, extent=extent, columns=columns)
        if extent is not None:
            _check_place(points, frame.crs, rejects, extent, columns)
    data = pd.DataFrame(out, index=frame.index)
    bad = rejects.mask
    valid = gpd.GeoDataFrame(
        data.loc[~bad], geometry=None if geoms is None else geoms[~bad], crs=frame.crs
    )
    quarantine = frame.loc[bad].drop(columns=[REJECT_COLUMN], errors="ignore").copy()
    quarantine.insert(0, "reason", rejects.reason[bad].astype(str))
    quarantine.insert(0, "source_row", np.flatnonzero(bad) + 1)
    dropped = [c for c in frame.columns if c not in out and c not in ("geometry", REJECT_COLUMN)]
    return Validated(valid.reset_index(drop=True), pd.DataFrame(quarantine), repaired, dropped)


def _check_fields(
    frame: pd.DataFrame, schema: Schema, decimal: str, rejects: _Rejects
) -> dict[str, pd.Series]:
    """Every schema column in its type (rows breaking a rule rejected), then the primary key."""
    out = {}
    for spec in schema.fields:
        if spec.name not in frame.columns:
            out[spec.name] = _coerce(pd.Series([None] * len(frame), dtype="string"), spec, decimal)
            continue
        out[spec.name] = _check_field(frame, spec, decimal, rejects)
    key = schema.primary_key
    if key is not None:
        if key not in frame.columns:
            hidden = ("geometry", REJECT_COLUMN)
            raise ValidationFailed(
                f"column '{key}' is the primary key (schema.primary_key) but the source has no "
                f"such column; it has: {', '.join(c for c in frame.columns if c not in hidden)}"
            )
        values = out[key]
        check_key(key, values, (values.isna() & ~_present(frame[key])).to_numpy(dtype=bool))
    return out
