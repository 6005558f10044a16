"""GIS vector files through GDAL (pyogrio): GeoJSON, GeoPackage and zipped Shapefiles.

The CRS the file declares and the one the spec declares must agree; a file without one takes the
spec's, and when neither says, nothing is guessed. Also home of the geometry and CRS helpers the
tabular readers (CSV, Excel, Parquet) share: x/y or WKT columns to points, with reject reasons.
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely

from opendata.errors import SourceError, SpecError
from opendata.readers import REJECT_COLUMN, check_options
from opendata.readers.archive import check_archive, is_archive, not_a_zip

log = logging.getLogger(__name__)
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf")


def read_geojson(path: Path, *, crs: str | None, options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Read a GeoJSON file (RFC 7946 lon/lat, or a legacy file with a `crs` member)."""
    check_options(options, {})
    frame = _read(path, str(path), what="GeoJSON")
    if _legacy_projected_geojson(frame, crs):
        return frame.set_crs(crs, allow_override=True)
    return with_crs(frame, crs, path)


def read_gpkg(path: Path, *, crs: str | None, options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Read one layer of a GeoPackage; `layer` is required when there are several."""
    check_options(options, {"layer": str})
    layers = _layers(path, "GeoPackage")
    layer = _pick(layers, options.get("layer"), key="layer", path=path, kind="layer")
    return with_crs(_read(path, str(path), what="GeoPackage", layer=layer), crs, path)


def read_shapefile(path: Path, *, crs: str | None, options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Read a zipped Shapefile (or a bare .shp), honouring its .prj and .cpg files."""
    check_options(options, {"encoding": str, "layer": str, "member": str})
    if "layer" in options and "member" in options:
        raise SpecError("source.options.member: give either 'layer' or 'member', not both")
    wanted = options.get("member", options.get("layer"))
    key = "member" if "member" in options else "layer"
    if path.suffix.lower() == ".shp":
        files, source = [p.name for p in path.parent.iterdir()], path
        shp = _check_parts(path, files, path.name)
        gdal_path = str(path)
    else:
        files = _zip_members(path)
        shps = [f for f in files if f.lower().endswith(".shp")]
        if not shps:
            raise SourceError(
                f"{path.name}: the zip holds no .shp file (it has: {', '.join(files[:20])})"
            )
        shp = _pick(shps, wanted, key=key, path=path, kind="shapefile", match=_stem)
        _check_parts(path, files, shp)
        source, gdal_path = path, f"/vsizip/{path}/{shp}"
    encoding = options.get("encoding")
    if encoding is not None:
        _check_encoding(encoding)
    frame = _read(source, gdal_path, what="Shapefile", encoding=encoding)
    return with_crs(frame, crs, path)


def with_crs(frame: gpd.GeoDataFrame, declared: str | None, path: Path) -> gpd.GeoDataFrame:
    """Reconcile the file's CRS with the spec's: agree, fill in, or refuse."""
    if frame.crs is None:
        if declared is None:
            raise SourceError(
                f"{path.name}: the file does not say which coordinate system it uses and "
                "source.crs is not set; add e.g. crs = 'EPSG:3067' to [source]"
            )
        return frame.set_crs(declared)
    if declared is not None and not same_crs(frame.crs, declared):
        raise SourceError(
            f"{path.name}: the file's coordinate system is {_crs_name(frame.crs)} but source.crs "
            f"is {declared}; correct source.crs (or remove it to use the file's)"
        )
    return frame


def same_crs(a: Any, b: Any) -> bool:
    """Whether two CRS definitions are the same system (axis order aside: CRS84 == EPSG:4326)."""
    first, second = pyproj.CRS.from_user_input(a), pyproj.CRS.from_user_input(b)
    if first.equals(second, ignore_axis_order=True):
        return True
    codes = {first.to_epsg(min_confidence=70), second.to_epsg(min_confidence=70)}
    return len(codes) == 1 and None not in codes


def _crs_name(crs: pyproj.CRS) -> str:
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg} ({crs.name})" if epsg else repr(crs.name)


def _legacy_projected_geojson(frame: gpd.GeoDataFrame, declared: str | None) -> bool:
    """A pre-RFC 7946 GeoJSON in a national grid, which GDAL can only label lon/lat."""
    if declared is None or frame.crs is None or frame.empty or not same_crs(frame.crs, 4326):
        return False
    minx, miny, maxx, maxy = frame.total_bounds
    out_of_range = min(minx, miny) < -180 or max(maxx, maxy) > 180 or maxy > 90 or miny < -90
    return bool(out_of_range) and not same_crs(declared, 4326)


def _read(source: Path, gdal_path: str, *, what: str, **kwargs: Any) -> gpd.GeoDataFrame:
    import pyogrio  # GDAL is heavy (~30 MB): only the readers that need it load it
    from pyogrio.errors import DataLayerError, DataSourceError

    if is_archive(source):  # GDAL would open it as /vsizip/: never before it is checked
        check_archive(source)
    try:
        with _quiet_gdal():
            return pyogrio.read_dataframe(gdal_path, use_arrow=True, **kwargs)
    except (DataSourceError, DataLayerError):
        log.debug("GDAL could not read %s", gdal_path, exc_info=True)
        raise SourceError(
            f"{source.name}: cannot be read as {what}: the file is damaged or in another format "
            "(run with --debug for GDAL's message)"
        ) from None


def _quiet_gdal() -> warnings.catch_warnings:
    """GDAL's warnings (e.g. 'bad application_id') are noise here; its errors still raise."""
    return warnings.catch_warnings(action="ignore", category=RuntimeWarning)


def _layers(path: Path, what: str) -> list[str]:
    import pyogrio
    from pyogrio.errors import DataSourceError

    try:
        with _quiet_gdal():
            return [str(name) for name, _ in pyogrio.list_layers(path)]
    except DataSourceError:
        log.debug("GDAL could not list the layers of %s", path, exc_info=True)
        raise SourceError(
            f"{path.name}: is not a readable {what}: the file is damaged or in another format "
            "(run with --debug for GDAL's message)"
        ) from None


def _pick(
    names: list[str],
    wanted: str | None,
    *,
    key: str,
    path: Path,
    kind: str,
    match: Any = str,
) -> str:
    """The one name the spec asks for, or the only one there is."""
    if wanted is None:
        if len(names) == 1:
            return names[0]
        raise SpecError(
            f"source.options.{key}: {path.name} has {len(names)} {kind}s "
            f"({', '.join(names)}); name the one to read"
        )
    for name in names:
        if match(name) == match(wanted):
            return name
    raise SpecError(
        f"source.options.{key}: {path.name} has no {kind} {wanted!r}; it has: {', '.join(names)}"
    )


def _stem(name: str) -> str:
    """Compare .shp members by file name without folder and suffix ('roads' == 'data/roads.shp')."""
    return PurePosixPath(name).stem.lower() if name.lower().endswith(".shp") else name.lower()


def _zip_members(path: Path) -> list[str]:
    """The members of a zipped Shapefile, once the archive is known to be safe and intact
    (`testzip` inflates every member: only after the size limits have been checked)."""
    names = check_archive(path)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        bad = ""
    if bad is not None:
        raise not_a_zip(path)
    return names


def _check_parts(path: Path, files: list[str], shp: str) -> str:
    """A shapefile is .shp + .shx + .dbf with one stem; name what is missing."""
    stem = shp[: -len(".shp")]
    present = {f.lower() for f in files}
    missing = [stem + ext for ext in _SHAPEFILE_PARTS if (stem + ext).lower() not in present]
    if missing:
        raise SourceError(
            f"{path.name}: is missing {', '.join(PurePosixPath(m).name for m in missing)}; a "
            "shapefile needs its .shp, .shx and .dbf files together (and .prj for the coordinate "
            "system)"
        )
    return shp


def _check_encoding(encoding: str) -> None:
    try:
        "".encode(encoding)
    except LookupError:
        raise SpecError(
            f"source.options.encoding: unknown encoding {encoding!r} (e.g. 'cp1252', 'utf-8')"
        ) from None


# --- geometry from table columns, shared by the CSV, Excel and Parquet readers ----------------

_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_EMPTY = shapely.Point()


def check_crs(crs: str | None) -> str:
    """The declared CRS, required (and valid) when a reader builds geometry from columns."""
    if crs is None:
        raise SpecError(
            "source.crs: required when the geometry comes from x/y or wkt columns "
            "(e.g. crs = 'EPSG:3067' for ETRS-TM35FIN, 'EPSG:3006' for SWEREF 99 TM)"
        )
    try:
        pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise SpecError(f"source.crs: {crs!r} is not a known coordinate reference system") from None
    return crs


def table_geometry(
    columns: Mapping[str, pa.ChunkedArray],
    *,
    x: str | None,
    y: str | None,
    wkt: str | None,
    decimal: str = ".",
) -> tuple[np.ndarray, pa.ChunkedArray | None]:
    """Geometries from x/y (floats or text) or WKT text, and per-row reject reasons (or None).

    Unusable rows get an empty point and a reason; they are kept for quarantine, never dropped.
    """
    if wkt is not None:
        return _wkt_geometry(columns[wkt], wkt)
    xs, x_reason = _numbers(columns[x], x, decimal)
    ys, y_reason = _numbers(columns[y], y, decimal)
    geometry = shapely.points(xs, ys)
    reasons = _join_reasons(x_reason, y_reason)
    if reasons is not None:
        geometry[reasons.is_valid().to_numpy(zero_copy_only=False)] = _EMPTY
    return geometry, reasons


def _numbers(
    column: pa.ChunkedArray, name: str, decimal: str
) -> tuple[np.ndarray, pa.Array | None]:
    """Coordinates as float64 (NaN when unusable) and why each unusable one is unusable."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        values = column.cast(pa.float64()).to_numpy()
        bad = ~np.isfinite(values)
        if not bad.any():
            return values, None
        shown = pc.cast(column, pa.large_string())
    else:
        shown = column.cast(pa.large_string())
        text = pc.utf8_trim_whitespace(shown)
        if decimal == ",":
            text = pc.replace_substring(text, ",", ".")
        text = pc.if_else(pc.match_substring_regex(text, _NUMBER), text, None)
        values = text.cast(pa.float64()).to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(values)  # also '1e999', which parses as infinity
        if not bad.any():
            return values, None
    reason = _reason(shown, name)
    return values, pc.if_else(pa.array(bad), reason, pa.scalar(None, pa.large_string()))


def _reason(shown: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """`x='12,3a' is not a number` per row, or `x is missing` for empty cells."""
    said = _concat(f"{name}='", shown, "' is not a number")
    return pc.fill_null(said, pa.scalar(f"{name} is missing", pa.large_string()))


def _concat(before: str, values: pa.ChunkedArray, after: str) -> pa.ChunkedArray:
    """`before + value + after` per row (null where the value is null)."""
    text = [pa.scalar(t, pa.large_string()) for t in (before, after, "")]
    return pc.binary_join_element_wise(text[0], values, text[1], text[2])


def _join_reasons(
    first: pa.ChunkedArray | None, second: pa.ChunkedArray | None
) -> pa.ChunkedArray | None:
    """Both coordinates' reasons as one text, `; `-separated (null when both are fine)."""
    if first is None or second is None:
        return first if second is None else second
    both = pc.binary_join_element_wise(first, second, pa.scalar("; ", pa.large_string()))
    return pc.coalesce(both, first, second)


def _wkt_geometry(column: pa.ChunkedArray, name: str) -> tuple[np.ndarray, pa.ChunkedArray | None]:
    """Geometries from WKT text; unreadable or missing ones become empty points with a reason."""
    text = column.to_numpy(zero_copy_only=False)
    geometry = shapely.from_wkt(text, on_invalid="ignore")
    bad = pd.isna(geometry)
    if not bad.any():
        return geometry, None
    geometry[bad] = _EMPTY
    said = _concat(f"{name}='", pc.utf8_slice_codeunits(column, 0, 60), "' is not valid WKT")
    said = pc.fill_null(said, pa.scalar(f"{name} is missing", pa.large_string()))
    return geometry, pc.if_else(pa.array(bad), said, pa.scalar(None, pa.large_string()))


def to_geodataframe(
    frame: pd.DataFrame,
    geometry: np.ndarray,
    reasons: pa.ChunkedArray | None,
    *,
    crs: str,
    path: Path,
) -> gpd.GeoDataFrame:
    """Attach geometry (and the reject column when some row was rejected) to the other columns."""
    if "geometry" in frame.columns:
        raise SourceError(
            f"{path.name}: has a column named 'geometry' besides the coordinate columns; rename it "
            "(the built geometry would replace it)"
        )
    result = gpd.GeoDataFrame(frame, geometry=gpd.array.from_shapely(geometry, crs=crs), copy=False)
    if reasons is not None:
        result[REJECT_COLUMN] = pd.arrays.ArrowStringArray(reasons.cast(pa.large_string()))
    return result
