"""GIS vector files through GDAL (pyogrio): GeoJSON, GeoPackage and zipped Shapefiles.

The CRS the file declares and the one the spec declares must agree; a file without one takes the
spec's, and when neither says, nothing is guessed.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import pyogrio
import pyproj
from pyogrio.errors import DataLayerError, DataSourceError

from opendata.errors import SourceError, SpecError
from opendata.readers import check_options

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
            raise SourceError(f"{path}: the zip holds no .shp file (it has: {', '.join(files)})")
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
                f"{path}: the file does not say which coordinate system it uses and source.crs "
                "is not set; add e.g. crs = 'EPSG:3067' to [source]"
            )
        return frame.set_crs(declared)
    if declared is not None and not same_crs(frame.crs, declared):
        raise SourceError(
            f"{path}: the file's coordinate system is {_crs_name(frame.crs)} but source.crs is "
            f"{declared}; correct source.crs (or remove it to use the file's)"
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
    try:
        return pyogrio.read_dataframe(gdal_path, use_arrow=True, **kwargs)
    except (DataSourceError, DataLayerError) as err:
        raise SourceError(f"{source}: cannot be read as {what}: {_gdal_message(err)}") from None


def _gdal_message(err: Exception) -> str:
    return str(err).split("\n")[0].replace("/vsizip/", "")


def _layers(path: Path, what: str) -> list[str]:
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except DataSourceError as err:
        raise SourceError(f"{path}: is not a readable {what}: {_gdal_message(err)}") from None


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
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = [i.filename for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, EOFError, OSError):
        bad, names = "", []
    if bad is not None:
        raise SourceError(
            f"{path}: is not a valid zip archive (truncated or corrupt); download or zip the "
            "shapefile again"
        )
    return names


def _check_parts(path: Path, files: list[str], shp: str) -> str:
    """A shapefile is .shp + .shx + .dbf with one stem; name what is missing."""
    stem = shp[: -len(".shp")]
    present = {f.lower() for f in files}
    missing = [stem + ext for ext in _SHAPEFILE_PARTS if (stem + ext).lower() not in present]
    if missing:
        raise SourceError(
            f"{path}: is missing {', '.join(PurePosixPath(m).name for m in missing)}; a shapefile "
            "needs its .shp, .shx and .dbf files together (and .prj for the coordinate system)"
        )
    return shp


def _check_encoding(encoding: str) -> None:
    try:
        "".encode(encoding)
    except LookupError:
        raise SpecError(
            f"source.options.encoding: unknown encoding {encoding!r} (e.g. 'cp1252', 'utf-8')"
        ) from None
