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
from pyproj import CRS, Transformer

from opendata.errors import ValidationFailed
from opendata.ingest.rules import violations
from opendata.ingest.spec_model import FieldSpec, Schema
from opendata.readers import REJECT_COLUMN
from opendata.store.geoparquet import TYPE_NAMES

#: CRSs a Nordic municipality's data is likely to be in, tried when coordinates do not fit.
CANDIDATE_CRS = ("EPSG:4326", "EPSG:3006", "EPSG:3067", "EPSG:25832", "EPSG:25833", "EPSG:3857")
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


def _check_field(
    frame: pd.DataFrame, spec: FieldSpec, decimal: str, rejects: _Rejects
) -> pd.Series:
    raw = frame[spec.name]
    values = _coerce(raw, spec, decimal)
    present = raw.notna() & (raw.astype("string").str.strip() != "").fillna(False)
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


def area_bounds(crs: CRS) -> tuple[float, float, float, float] | None:
    """The CRS's area of use in its own coordinates (x/y order), with a little slack."""
    area = crs.area_of_use
    if area is None:
        return None
    if crs.is_geographic:
        return area.west - 0.5, area.south - 0.5, area.east + 0.5, area.north + 0.5
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xs, ys = np.meshgrid(
        np.linspace(area.west, area.east, 21), np.linspace(area.south, area.north, 21)
    )
    x, y = tr.transform(xs.ravel(), ys.ravel())
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    pad = 0.05 * max(np.ptp(x), np.ptp(y))
    return x.min() - pad, y.min() - pad, x.max() + pad, y.max() + pad


def inside_bounds(
    x: np.ndarray, y: np.ndarray, bounds: tuple[float, float, float, float]
) -> np.ndarray:
    return (x >= bounds[0]) & (x <= bounds[2]) & (y >= bounds[1]) & (y <= bounds[3])


def guess_crs(x: np.ndarray, y: np.ndarray, declared: str) -> list[str]:
    """Candidate CRSs under which the coordinates land inside the CRS's own area of use, most
    central first. Nordic TM grids overlap numerically, so more than one may fit."""
    scored = []
    for code in CANDIDATE_CRS:
        if code in (declared, "EPSG:3857"):
            continue
        crs = CRS.from_user_input(code)
        area = crs.area_of_use
        if area is None:
            continue
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        inside = (lon >= area.west) & (lon <= area.east) & (lat >= area.south) & (lat <= area.north)
        if np.mean(inside) > 0.95:
            cx, cy = (area.west + area.east) / 2, (area.south + area.north) / 2
            dist = np.hypot(
                (np.median(lon) - cx) / (area.east - area.west),
                (np.median(lat) - cy) / (area.north - area.south),
            )
            scored.append((float(dist), code))
    return [code for _, code in sorted(scored)]


def check_crs(geoms: np.ndarray, crs: CRS, rejects: _Rejects) -> None:
    """Fail the run when coordinates don't fit the declared CRS; reject the odd stray row."""
    bounds = area_bounds(crs)
    usable = ~rejects.mask & ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    if bounds is None or not usable.any():
        return
    bounds_xy = shapely.bounds(geoms[usable])  # cheap stand-in for a representative point
    x = (bounds_xy[:, 0] + bounds_xy[:, 2]) / 2
    y = (bounds_xy[:, 1] + bounds_xy[:, 3]) / 2
    inside = inside_bounds(x, y, bounds)
    declared = crs.to_string()
    if inside.mean() < 0.5:
        likely = guess_crs(x, y, declared)
        names = [f"{c} ({CRS.from_user_input(c).name})" for c in likely]
        hint = f"; they look like {' or '.join(names)}" if names else ""
        raise ValidationFailed(
            f"coordinates do not fit the declared CRS {declared} ({crs.name}): "
            f"{(~inside).sum()} of {len(inside)} features lie outside its area of use "
            f"(e.g. x={x[~inside][0]:.6g}, y={y[~inside][0]:.6g}){hint}. "
            "Fix `source.crs` in the spec."
        )
    stray = np.zeros(len(geoms), dtype=bool)
    stray[np.flatnonzero(usable)[~inside]] = True
    rejects.add(stray, f"coordinates outside the area of use of {declared}")


def validate(frame: gpd.GeoDataFrame, schema: Schema, *, decimal: str = ".") -> Validated:
    """Check a frame against its schema; return published columns and quarantined rows."""
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
    out = {}
    for spec in schema.fields:
        if spec.name not in frame.columns:
            out[spec.name] = _coerce(pd.Series([None] * len(frame), dtype="string"), spec, decimal)
            continue
        out[spec.name] = _check_field(frame, spec, decimal, rejects)
    geoms = None
    repaired = 0
    if schema.geometry != "none":
        geoms, repaired = _check_geometry(frame, schema, rejects)
        if frame.crs is None:
            raise ValidationFailed(
                "the source has no CRS; set `source.crs` in the spec (e.g. 'EPSG:3067')"
            )
        check_crs(geoms, frame.crs, rejects)
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
