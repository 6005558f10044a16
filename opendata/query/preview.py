"""Light-weight map previews of a dataset: a GeoJSON FeatureCollection small enough for a web page.

A preview never ships megabytes. In order:

1. geometries are simplified (about 2 m) and coordinates quantised to 1e-5 degrees (about 1 m),
   which halves the text of typical street and building layers without visible change;
2. a layer of only points with more than `max_features` points is clustered on a grid: each
   cell becomes one point carrying its `count`, so density stays visible and nothing is hidden;
3. any other layer over `max_features` features or `max_vertices` coordinates is thinned to an
   even sample of the rows. Published rows are spatially sorted, so a stride over them keeps the
   whole extent covered. The preview then says how many of how many features it shows.

Popups get at most `max_properties` attribute columns with long texts cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Bump when the output changes, so cached previews (ETags) are renewed.
PREVIEW_VERSION = "2"
#: Storage details, not attributes: never shown in tables or popups.
STORAGE = {"bbox"}
#: Columns that are never shown in popups: storage, feature ids and OpenStreetMap references,
#: which identify a row for machines, not for a reader (tables and downloads keep them).
HIDDEN = STORAGE | {"fid", "osm_key", "osm_id", "osm_type"}


@dataclass(frozen=True)
class PreviewOptions:
    """Limits of a preview (defaults keep a dataset page well under 1 MB on the wire)."""

    max_features: int = 3000
    max_vertices: int = 40_000
    simplify_deg: float = 2e-5
    grid_deg: float = 1e-5
    max_properties: int = 12
    max_text: int = 80


def popup_value(value: Any, max_text: int) -> Any:
    """A JSON-safe, short popup value (`None` for missing values).

    >>> popup_value(float("nan"), 5), popup_value("Mannerheimintie", 6), popup_value(3, 5)
    (None, 'Manne…', 3)
    >>> popup_value(0.09999999999999432, 5)  # six significant digits: no float noise
    0.1
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return popup_value(value.item(), max_text)
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, bool | int):
        return value
    text = str(value)
    return text if len(text) <= max_text else text[: max_text - 1] + "…"


def popup_columns(frame: gpd.GeoDataFrame, limit: int) -> list[str]:
    """The attribute columns shown in popups: the first `limit`, skipping geometry and storage."""
    skip = HIDDEN | {frame.geometry.name}
    return [c for c in frame.columns if c not in skip][:limit]


def even_sample(n: int, k: int) -> np.ndarray:
    """`k` row positions spread evenly over `n` rows (all rows when `k >= n`).

    >>> even_sample(10, 3).tolist()
    [0, 3, 6]
    """
    if k >= n:
        return np.arange(n)
    return np.floor(np.arange(k) * (n / k)).astype(np.int64)


def _clean_geometries(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = frame.geometry.values
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return frame[keep]


def _shrink(geoms: np.ndarray, options: PreviewOptions) -> np.ndarray:
    """Simplify, then snap coordinates to the grid (pointwise: no topology repair, no loss)."""
    simple = shapely.simplify(geoms, options.simplify_deg, preserve_topology=True)
    return shapely.set_precision(simple, options.grid_deg, mode="pointwise")


def _features(frame: gpd.GeoDataFrame, geoms: np.ndarray, options: PreviewOptions) -> list[dict]:
    columns = popup_columns(frame, options.max_properties)
    texts = shapely.to_geojson(geoms)
    records = frame[columns].to_dict("records") if columns else [{}] * len(frame)
    out = []
    for text, record in zip(texts, records, strict=True):
        values = ((k, popup_value(v, options.max_text)) for k, v in record.items())
        props = {k: v for k, v in values if v is not None}  # popups list what is there
        out.append({"type": "Feature", "geometry": _raw(text), "properties": props})
    return out


class _raw(str):
    """Pre-serialised GeoJSON geometry text, spliced in by `to_json` without re-parsing."""


def _is_points(frame: gpd.GeoDataFrame) -> bool:
    kinds = set(frame.geometry.geom_type.unique())
    return bool(kinds) and kinds <= {"Point"}


def cluster_points(frame: gpd.GeoDataFrame, max_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid-cluster points into at most `max_cells` cells: (centroids, counts).

    The cell size starts from the extent and doubles until the cells fit.
    """
    xy = shapely.get_coordinates(frame.geometry.values)
    span = max(float(np.ptp(xy[:, 0])), float(np.ptp(xy[:, 1])), 1e-6)
    cell = span / math.sqrt(max_cells)
    while True:
        keys = np.floor(xy / cell).astype(np.int64)
        _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        if len(counts) <= max_cells:
            break
        cell *= 2
    inverse = inverse.ravel()
    sums = np.zeros((len(counts), 2))
    np.add.at(sums, inverse, xy)
    return sums / counts[:, None], counts


def _clustered(frame: gpd.GeoDataFrame, options: PreviewOptions) -> list[dict]:
    centres, counts = cluster_points(frame, options.max_features)
    centres = np.round(centres, 5)
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
            "properties": {"count": int(n)},
        }
        for (x, y), n in zip(centres, counts, strict=True)
    ]


def _sample_size(n: int, vertices: int, options: PreviewOptions) -> int:
    by_vertices = n if vertices <= options.max_vertices else n * options.max_vertices // vertices
    return max(1, min(n, options.max_features, by_vertices))


def make_preview(frame: gpd.GeoDataFrame, options: PreviewOptions | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection previewing `frame` (EPSG:4326), with a `preview` member that
    says what was done: `method` is "full", "sampled" or "clustered"."""
    options = options or PreviewOptions()
    frame = _clean_geometries(frame)
    total = len(frame)
    columns = popup_columns(frame, options.max_properties)
    if _is_points(frame) and total > options.max_features:
        features, method = _clustered(frame, options), "clustered"
    else:
        geoms = _shrink(frame.geometry.values, options)
        vertices = int(shapely.get_num_coordinates(geoms).sum())
        keep = even_sample(total, _sample_size(total, vertices, options))
        method = "full" if len(keep) == total else "sampled"
        features = _features(frame.iloc[keep], geoms[keep], options)
    return {
        "type": "FeatureCollection",
        "features": features,
        "preview": {
            "version": PREVIEW_VERSION,
            "method": method,
            "total": total,
            "shown": total if method == "clustered" else len(features),
            "drawn": len(features),
            "properties": columns if method != "clustered" else ["count"],
            "note": note(method, len(features), total),
        },
    }


def note(method: str, drawn: int, total: int) -> str:
    """A one-line English description of what the preview shows.

    >>> note("sampled", 3000, 20000)
    'An even sample of 3,000 of 20,000 features; download the data for all of them.'
    """
    if method == "clustered":
        return f"{total:,} points grouped into {drawn:,} clusters; each shows its count."
    if method == "sampled":
        return (
            f"An even sample of {drawn:,} of {total:,} features; download the data for all of them."
        )
    return f"All {total:,} features (geometry simplified to about 2 m)."


def to_json(collection: dict[str, Any]) -> str:
    """Serialise a preview compactly, splicing pre-serialised geometries in as they are."""
    import json

    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    parts = []
    for feature in collection["features"]:
        geometry = feature["geometry"]
        geometry_text = str(geometry) if isinstance(geometry, _raw) else encoder.encode(geometry)
        props = encoder.encode(feature["properties"])
        parts.append(f'{{"type":"Feature","geometry":{geometry_text},"properties":{props}}}')
    meta = encoder.encode(collection["preview"])
    return (
        '{"type":"FeatureCollection","preview":' + meta + ',"features":[' + ",".join(parts) + "]}"
    )
