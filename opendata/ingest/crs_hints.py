"""Where coordinates lie, and why they may not be where they should be: outside the declared
CRS's area of use, or outside the city. The likely causes a data officer can fix are a wrong
`source.crs` (Nordic transverse-Mercator grids overlap numerically) and swapped axes.

Both the CRS plausibility check (`validate.check_crs`) and the city extent rule
(`rules.check_extent`, on both pipelines) explain a failure with `likely_cause`.
"""

from __future__ import annotations

import numpy as np
from pyproj import CRS, Transformer

#: CRSs a Nordic municipality's data is likely to be in, tried when coordinates do not fit.
CANDIDATE_CRS = ("EPSG:4326", "EPSG:3006", "EPSG:3067", "EPSG:25832", "EPSG:25833", "EPSG:3857")
#: Share of features that must land inside for a candidate explanation to be offered.
_FITS = 0.95
#: Features looked at to explain a failure (the explanation, not the verdict, is sampled).
_SAMPLE = 2000

Box = tuple[float, float, float, float]


def area_bounds(crs: CRS) -> Box | None:
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


def inside_bounds(x: np.ndarray, y: np.ndarray, bounds: Box) -> np.ndarray:
    """Which points lie inside `bounds` (x/y order, edges included); NaN and inf never do."""
    return (x >= bounds[0]) & (x <= bounds[2]) & (y >= bounds[1]) & (y <= bounds[3])


def to_lonlat(x: np.ndarray, y: np.ndarray, crs: CRS | str) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4326 lon/lat of x/y in `crs`, with the transformer GeoPandas' `to_crs` uses."""
    transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = transformer.transform(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


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
        lon, lat = to_lonlat(x, y, crs)
        inside = inside_bounds(lon, lat, (area.west, area.south, area.east, area.north))
        if np.mean(inside) > _FITS:
            cx, cy = (area.west + area.east) / 2, (area.south + area.north) / 2
            dist = np.hypot(
                (np.median(lon) - cx) / (area.east - area.west),
                (np.median(lat) - cy) / (area.north - area.south),
            )
            scored.append((float(dist), code))
    return [code for _, code in sorted(scored)]


def crs_label(code: str | CRS) -> str:
    """`EPSG:3067 (ETRS89 / TM35FIN(E,N))`: the code a spec uses and the name people know."""
    crs = CRS.from_user_input(code)
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def likely_cause(
    x: np.ndarray,
    y: np.ndarray,
    crs: CRS,
    box: Box,
    *,
    columns: tuple[str, str] | None,
    place: str = "the city",
) -> str:
    """Why coordinates in `crs` miss the lon/lat `box`, in words ("" when no cause fits):
    swapped axes first (the cheaper fix), then other CRSs that put them inside the box.
    `columns` are the x/y source columns when the geometry was built from columns; `place`
    names the box in the message."""
    step = max(1, len(x) // _SAMPLE)
    x, y = x[::step], y[::step]
    lon, lat = to_lonlat(y, x, crs)
    if np.mean(inside_bounds(lon, lat, box)) > _FITS:
        axes = "latitude and longitude" if crs.is_geographic else "easting and northing (x and y)"
        fix = (
            f"swap the columns in source.options (x = '{columns[1]}', y = '{columns[0]}')"
            if columns
            else "write them in x/y (longitude/latitude) order in the source"
        )
        return f"the coordinates look like {axes} swapped; {fix}"
    declared = crs_label(crs)
    fits = [
        code
        for code in CANDIDATE_CRS
        if crs_label(code) != declared
        and np.mean(inside_bounds(*to_lonlat(x, y, code), box)) > _FITS
    ]
    if fits:
        names = " or ".join(crs_label(code) for code in fits)
        return f"they fit {names} inside {place}; check source.crs"
    return ""
