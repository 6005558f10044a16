"""Rendering for the features API: Arrow pages to GeoJSON text, collection documents, links.

A page is encoded in one `orjson` call: columns become Python lists through NumPy where that is
faster than Arrow's own conversion (floats, timestamps), and each geometry is a ready-made GeoJSON
text (Shapely's vectorised writer, or a formatted fast path for points) embedded as an
`orjson.Fragment`. NaN and infinities become null, so a page costs about 2 µs per feature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import numpy as np
import orjson
import pyarrow as pa
import shapely

from api.ogc.query import Collection
from opendata.metadata.languages import pick
from opendata.query.items import transformer
from opendata.query.tables import CRS84

GEOJSON = "application/geo+json"
_NULL = orjson.Fragment(b"null")


def _clean(value: Any) -> Any:
    """A JSON-safe Python value (used for values outside Arrow columns)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _column(col: pa.ChunkedArray | pa.Array) -> list[Any]:
    """A column as JSON-ready Python values: floats (null, NaN and infinities all become NaN,
    which orjson writes as null), timestamps RFC 3339 text in UTC, dates ISO text."""
    kind = col.type
    if pa.types.is_floating(kind):
        return col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False).tolist()
    if pa.types.is_decimal(kind):
        return col.cast(pa.float64()).to_numpy(zero_copy_only=False).tolist()
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return _iso_texts(col)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_temporal(kind):
        return [_clean(v) for v in col.to_pylist()]
    return col.to_pylist()


def _iso_texts(col: pa.ChunkedArray | pa.Array) -> list[str | None]:
    """Timestamps (in UTC, `Z` when zoned; whole seconds without a fraction) or dates as ISO
    text, through NumPy's vectorised formatter; nulls stay None."""
    kind = col.type
    values = col.to_numpy(zero_copy_only=False)  # UTC instants; NaT for nulls
    if pa.types.is_date(kind):
        texts = np.datetime_as_string(values.astype("datetime64[D]"), unit="D")
    else:
        whole = values.astype("datetime64[s]")
        unit = "s" if (whole == values)[~np.isnat(values)].all() else kind.unit
        texts = np.datetime_as_string(values, unit=unit)
        if kind.tz is not None:
            texts = np.char.add(texts, "Z")
    out = texts.tolist()
    if col.null_count:
        for i in np.flatnonzero(np.isnat(values)).tolist():
            out[i] = None
    return out


def _points(wkb: pa.ChunkedArray) -> list[dict[str, Any]] | None:
    """GeoJSON points read straight from the WKB bytes when every value is a little-endian 2D
    point (the form `publish` writes); None when any value is something else."""
    if len(wkb) < 2 or wkb.null_count or not pa.types.is_binary(wkb.type):
        return None  # (one feature: Shapely's path is as quick)
    arr = wkb.combine_chunks() if isinstance(wkb, pa.ChunkedArray) else wkb
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    if not (np.diff(offsets) == 21).all():
        return None
    raw = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, 21)
    if not ((raw[:, 0] == 1) & (raw[:, 1:5].copy().view("<u4")[:, 0] == 1)).all():
        return None
    xy = raw[:, 5:].copy().view("<f8")
    if not np.isfinite(xy).all():  # POINT EMPTY is written as NaN coordinates
        return None
    return [{"type": "Point", "coordinates": c} for c in xy.tolist()]


def geometries(wkb: pa.ChunkedArray, crs: str) -> list[Any]:
    """GeoJSON geometries of WKB values (as `orjson.Fragment` texts or, for points, dicts),
    transformed from CRS84 to `crs` (its axis order)."""
    if crs == CRS84 and (points := _points(wkb)) is not None:
        return points
    geoms = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
    if crs != CRS84:
        trans = transformer(CRS84, crs)
        geoms = shapely.transform(
            geoms, lambda xy: np.column_stack(trans.transform(xy[:, 0], xy[:, 1]))
        )
    types = shapely.get_type_id(geoms)
    if len(geoms) and (types == 0).all() and not shapely.is_empty(geoms).any():
        xy = shapely.get_coordinates(geoms)
        return [{"type": "Point", "coordinates": c} for c in xy.tolist()]
    return [_NULL if g is None else orjson.Fragment(g) for g in shapely.to_geojson(geoms).tolist()]


def geojson(page: pa.Table, geometry: str | None, crs: str, members: dict[str, Any]) -> bytes:
    """GeoJSON (UTF-8 bytes) for a page (columns: fid, properties..., WKB geometry): a
    FeatureCollection led by `members`, or with `members["type"] == "Feature"` the page's one
    feature plus them."""
    names = [n for n in page.column_names if n not in ("fid", geometry)]
    columns = [_column(page.column(n)) for n in names]
    if geometry:
        geoms = geometries(page.column(geometry), crs)
    else:
        geoms = [_NULL] * page.num_rows
    fids = page.column("fid").to_pylist()
    features = [
        {
            "type": "Feature",
            "id": fid,
            "geometry": geom,
            "properties": dict(zip(names, values, strict=True)),
        }
        for fid, geom, *values in zip(fids, geoms, *columns, strict=True)
    ]
    if members.get("type") == "Feature":
        doc = {**features[0], **members}
    else:
        doc = {**members, "numberReturned": len(features), "features": features}
    return orjson.dumps(doc)


def url(base: str, path: str, params: Mapping[str, str] | None = None) -> str:
    """An absolute link with the given query parameters."""
    query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
    return f"{base}{path}" + (f"?{query}" if query else "")


def items_links(
    base: str,
    path: str,
    params: Mapping[str, str],
    *,
    offset: int,
    limit: int,
    returned: int,
    matched: int,
    html: bool,
) -> list[dict[str, str]]:
    """self/alternate/next/prev links for one page of items."""
    here = {k: v for k, v in params.items() if k != "f"}
    own, other = ("text/html", GEOJSON) if html else (GEOJSON, "text/html")
    fmt = {"text/html": "html", GEOJSON: "json"}
    links = [
        {
            "rel": "self",
            "type": own,
            "title": "this page",
            "href": url(base, path, {**here, "f": fmt[own]}),
        },
        {
            "rel": "alternate",
            "type": other,
            "title": "this page as " + fmt[other].upper(),
            "href": url(base, path, {**here, "f": fmt[other]}),
        },
    ]
    if offset + returned < matched:
        links.append(
            {
                "rel": "next",
                "type": own,
                "title": "next page",
                "href": url(
                    base,
                    path,
                    {**here, "offset": str(offset + limit), "limit": str(limit), "f": fmt[own]},
                ),
            }
        )
    if offset > 0:
        links.append(
            {
                "rel": "prev",
                "type": own,
                "title": "previous page",
                "href": url(
                    base,
                    path,
                    {
                        **here,
                        "offset": str(max(0, offset - limit)),
                        "limit": str(limit),
                        "f": fmt[own],
                    },
                ),
            }
        )
    return links


def text(value: Mapping[str, str] | str | None, lang: str = "en") -> str:
    """A multilingual text in `lang`, else English, else any language."""
    return pick(value, lang).text


def collection_doc(
    coll: Collection, base: str, temporal: tuple[str | None, str | None]
) -> dict[str, Any]:
    """The OGC collection description of one collection."""
    meta = coll.dataset.spec.get("metadata", {})
    path = f"/collections/{coll.id}"
    extent: dict[str, Any] = {}
    if coll.version.bbox:
        extent["spatial"] = {"bbox": [coll.version.bbox], "crs": CRS84}
    if temporal[0] or temporal[1]:
        extent["temporal"] = {
            "interval": [list(temporal)],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return {
        "id": coll.id,
        "title": text(meta.get("title")) or coll.id,
        "description": text(meta.get("description")),
        "keywords": list(meta.get("keywords", {}).get("en", []))
        if isinstance(meta.get("keywords"), dict)
        else [],
        "itemType": "feature",
        "extent": extent,
        "crs": coll.crs,
        "storageCrs": CRS84,
        "version": coll.version.version,
        "numberOfFeatures": coll.version.rows,
        "links": [
            {
                "rel": "self",
                "type": "application/json",
                "title": "this collection",
                "href": url(base, path, {"f": "json"}),
            },
            {
                "rel": "alternate",
                "type": "text/html",
                "title": "this collection as HTML",
                "href": url(base, path, {"f": "html"}),
            },
            {
                "rel": "items",
                "type": GEOJSON,
                "title": "features",
                "href": url(base, path + "/items", {"f": "json"}),
            },
            {
                "rel": "items",
                "type": "text/html",
                "title": "features as HTML",
                "href": url(base, path + "/items", {"f": "html"}),
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "queryable properties",
                "href": url(base, path + "/queryables", {"f": "json"}),
            },
            *(
                [{"rel": "license", "href": meta["license_url"], "title": meta.get("license", "")}]
                if meta.get("license_url")
                else []
            ),
        ],
    }


def queryables_doc(
    coll: Collection, base: str, props: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The JSON Schema 2020-12 of a collection's queryables, with titles from its columns."""
    described = {c["name"]: c for c in coll.version.columns}
    properties: dict[str, Any] = {}
    for name, schema in props.items():
        column = described.get(name, {})
        entry = {"title": name, **schema}
        if column.get("description"):
            entry["description"] = text(column["description"])
        if column.get("unit"):
            entry["x-ogc-unit"] = column["unit"]
        properties[name] = entry
    if coll.source.geometry:
        properties[coll.source.geometry] = {
            "title": "geometry",
            "x-ogc-role": "primary-geometry",
            "format": "geometry-any",
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url(base, f"/collections/{coll.id}/queryables"),
        "type": "object",
        "title": collection_doc(coll, base, (None, None))["title"],
        "properties": properties,
        "additionalProperties": False,
    }
