"""Rendering for the features API: Arrow pages to GeoJSON text, collection documents, links.

GeoJSON is assembled as text: geometries come straight from WKB through Shapely's vectorised
GeoJSON writer (or a formatted fast path for points), properties through `json.dumps` per row,
so a page costs a few microseconds per feature. NaN and infinities become null.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from itertools import chain
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from api.features_query import Collection
from opendata.query import CRS84, transformer

GEOJSON = "application/geo+json"
#: Below this many values plain Python beats an Arrow compute call.
_SMALL = 16
_DUMPS = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


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


def _column(col: pa.ChunkedArray) -> list[Any]:
    """A column as JSON-ready Python values, converted vectorised: NaN and infinities become
    null, timestamps RFC 3339 text in UTC, dates ISO text."""
    kind = col.type
    if pa.types.is_floating(kind) and len(col) <= _SMALL:
        return [None if v is None or not math.isfinite(v) else v for v in col.to_pylist()]
    if pa.types.is_floating(kind):
        col = pc.if_else(pc.is_finite(col), col, None)
    elif pa.types.is_decimal(kind):
        col = col.cast(pa.float64())
    elif pa.types.is_date(kind):
        col = col.cast(pa.string())
    elif pa.types.is_timestamp(kind):
        col = _timestamps(col)
    elif pa.types.is_binary(kind) or pa.types.is_temporal(kind):
        return [_clean(v) for v in col.to_pylist()]
    return col.to_pylist()


def _timestamps(col: pa.ChunkedArray) -> pa.ChunkedArray:
    aware = col.type.tz is not None
    if aware:
        col = col.cast(pa.timestamp(col.type.unit, tz="UTC"))
    try:  # whole seconds print without a fraction
        col = col.cast(pa.timestamp("s", tz=col.type.tz))
    except pa.ArrowInvalid:
        pass
    return pc.strftime(col, format="%Y-%m-%dT%H:%M:%S" + ("Z" if aware else ""))


def geometries(wkb: pa.ChunkedArray, crs: str) -> list[str]:
    """GeoJSON geometry texts of WKB values, transformed from CRS84 to `crs` (its axis order)."""
    geoms = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
    if crs != CRS84:
        trans = transformer(CRS84, crs)
        geoms = shapely.transform(
            geoms, lambda xy: np.column_stack(trans.transform(xy[:, 0], xy[:, 1]))
        )
    types = shapely.get_type_id(geoms)
    if len(geoms) and (types == 0).all() and not shapely.is_empty(geoms).any():
        xy = shapely.get_coordinates(geoms)
        return [f'{{"type":"Point","coordinates":[{x!r},{y!r}]}}' for x, y in xy.tolist()]
    return ["null" if g is None else g for g in shapely.to_geojson(geoms).tolist()]


def geojson(page: pa.Table, geometry: str | None, crs: str, members: dict[str, Any]) -> str:
    """GeoJSON text for a page (columns: fid, properties..., WKB geometry): a FeatureCollection
    led by `members`, or with `members["type"] == "Feature"` the page's one feature plus them.

    The document is encoded in one `json` call with a placeholder per geometry, which is then
    replaced by the geometry's ready-made GeoJSON text.
    """
    names = [n for n in page.column_names if n not in ("fid", geometry)]
    columns = [_column(page.column(n)) for n in names]
    geoms = geometries(page.column(geometry), crs) if geometry else ["null"] * page.num_rows
    token = "\x00g" + secrets.token_hex(8)  # unguessable, so no property value can forge it
    fids = page.column("fid").to_pylist()
    features = [
        {
            "type": "Feature",
            "id": fid,
            "geometry": token,
            "properties": dict(zip(names, values, strict=True)),
        }
        for fid, *values in zip(fids, *columns, strict=True)
    ]
    if members.get("type") == "Feature":
        doc = {**features[0], **members}
    else:
        doc = {**members, "numberReturned": len(features), "features": features}
    parts = _DUMPS(doc).split(_DUMPS(token))
    return "".join(chain.from_iterable(zip(parts, [*geoms[: len(parts) - 1], ""], strict=True)))


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
    if isinstance(value, str) or value is None:
        return value or ""
    return value.get(lang) or value.get("en") or next(iter(value.values()), "")


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
