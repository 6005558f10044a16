"""The OpenAPI 3.0 path items of the features API (collected by `/openapi` in `api/ogc/core.py`)."""

from __future__ import annotations

from typing import Any

from api.http import MAX_COUNT
from api.ogc.query import CRS_LIST, ITEMS_PARAMS
from opendata.settings import Settings
from opendata.store.catalog import Catalog, Dataset, Version


def _param(
    name: str,
    description: str,
    schema: dict[str, Any],
    *,
    where: str = "query",
    required: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "description": description,
        "required": required,
        "schema": schema,
        **extra,
    }


def _parameters(settings: Settings, names: list[str]) -> dict[str, dict[str, Any]]:
    crs = {"type": "string", "format": "uri", "enum": list(CRS_LIST)}
    return {
        "collectionId": _param(
            "collectionId",
            "Collection (dataset) name: one of the current collections.",
            {"type": "string", "enum": names} if names else {"type": "string"},
            where="path",
            required=True,
        ),
        "featureId": _param(
            "featureId",
            "Feature id (`fid`, 1..N).",
            {"type": "integer", "minimum": 1, "maximum": 10**18 - 1},
            where="path",
            required=True,
        ),
        "f": _param(
            "f",
            "Response format (overrides the Accept header).",
            {"type": "string", "enum": ["json", "geojson", "html"]},
        ),
        "f-doc": _param(
            "f",
            "Response format (overrides the Accept header).",
            {"type": "string", "enum": ["json", "html"]},
        ),
        "limit": _param(
            "limit",
            f"Page size; larger values are reduced to {settings.items_max_limit}.",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.items_max_limit,
                "default": settings.items_default_limit,
            },
        ),
        "offset": _param(
            "offset",
            "Number of matching features to skip.",
            {"type": "integer", "minimum": 0, "maximum": MAX_COUNT, "default": 0},
        ),
        "bbox": _param(
            "bbox",
            "Features intersecting minx,miny,maxx,maxy (or 6 numbers with z), in `bbox-crs`.",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            style="form",
            explode=False,
        ),
        "bbox-crs": _param("bbox-crs", "CRS of `bbox` (default CRS84).", crs),
        "datetime": _param(
            "datetime",
            "An RFC 3339 instant or interval (`start/end`, `..` for open "
            "ends) on the collection's temporal property.",
            {"type": "string"},
        ),
        "crs": _param("crs", "CRS of the returned geometries (EPSG:4326 is lat/lon).", crs),
        "filter": _param("filter", "A CQL2 filter.", {"type": "string"}),
        "filter-lang": _param(
            "filter-lang",
            "Encoding of `filter`.",
            {
                "type": "string",
                "enum": ["cql2-text", "cql2-json", "cql-text"],
                "default": "cql2-text",
            },
        ),
        "filter-crs": _param("filter-crs", "CRS of geometry literals in `filter`.", crs),
        "sortby": _param(
            "sortby", "Comma-separated properties, `-` prefix for descending.", {"type": "string"}
        ),
    }


def _responses(media: dict[str, str], description: str) -> dict[str, Any]:
    content = {
        m: {"schema": {"type": "object" if m != "text/html" else "string"}} for m in media.values()
    }
    return {
        "200": {"description": description, "content": content},
        "304": {"description": "Not modified (If-None-Match matched the ETag)."},
        "400": {
            "description": "Invalid query parameter (problem+json).",
            "content": {"application/problem+json": {"schema": {"type": "object"}}},
        },
        "404": {
            "description": "Unknown collection or feature (problem+json).",
            "content": {"application/problem+json": {"schema": {"type": "object"}}},
        },
    }


def openapi_paths(settings: Settings) -> dict[str, Any]:
    """OpenAPI 3.0 path items this blueprint serves."""
    current = Catalog(settings.catalog_url).current()
    p = _parameters(settings, [dataset.name for dataset, _ in current])
    docs = {"json": "application/json", "html": "text/html"}
    geo = {"json": "application/geo+json", "html": "text/html"}
    items_params = [
        p[n]
        for n in (
            "collectionId",
            "f",
            "limit",
            "offset",
            "bbox",
            "bbox-crs",
            "datetime",
            "crs",
            "filter",
            "filter-lang",
            "filter-crs",
            "sortby",
        )
    ]
    paths = {
        "/collections": {
            "get": {
                "tags": ["Features"],
                "summary": "The feature collections (published datasets)",
                "operationId": "getCollections",
                "parameters": [p["f-doc"]],
                "responses": _responses(docs, "The collections with extents and CRSs."),
            }
        },
        "/collections/{collectionId}": {
            "get": {
                "tags": ["Features"],
                "summary": "One feature collection",
                "operationId": "describeCollection",
                "parameters": [p["collectionId"], p["f-doc"]],
                "responses": _responses(docs, "The collection's metadata."),
            }
        },
        "/collections/{collectionId}/queryables": {
            "get": {
                "tags": ["Features"],
                "summary": "Properties usable in filters (JSON Schema 2020-12)",
                "operationId": "getQueryables",
                "parameters": [p["collectionId"], p["f-doc"]],
                "responses": _responses(
                    {"json": "application/schema+json", "html": "text/html"}, "The queryables."
                ),
            }
        },
        "/collections/{collectionId}/items": {
            "get": {
                "tags": ["Features"],
                "summary": "Features of a collection, filtered and paged",
                "description": "Queryable properties may also be used as `name=value` parameters.",
                "operationId": "getFeatures",
                "parameters": items_params,
                "responses": _responses(geo, "A page of features (GeoJSON FeatureCollection)."),
            }
        },
        "/collections/{collectionId}/items/{featureId}": {
            "get": {
                "tags": ["Features"],
                "summary": "One feature",
                "operationId": "getFeature",
                "parameters": [p["collectionId"], p["featureId"], p["f"], p["crs"]],
                "responses": _responses(geo, "The feature (GeoJSON Feature)."),
            }
        },
    }
    paths.update(_per_collection(current, items_params[1:]))
    return paths


def _per_collection(
    current: list[tuple[Dataset, Version]], common: list[dict[str, Any]]
) -> dict[str, Any]:
    """An items path per collection that lists its queryables as `name=value` parameters, so
    clients such as GDAL can push attribute filters to the server."""
    paths = {}
    for dataset, version in current:
        columns = [c for c in version.columns if c["name"] not in ITEMS_PARAMS]
        props = [
            _param(
                c["name"],
                f"Features whose '{c['name']}' equals this value.",
                _SCHEMAS.get(c.get("type", ""), {"type": "string"}),
            )
            for c in columns
        ]
        paths[f"/collections/{dataset.name}/items"] = {
            "get": {
                "tags": ["Features"],
                "summary": f"Features of {dataset.name}",
                "operationId": f"getFeatures_{dataset.name}",
                "parameters": [*common, *props],
                "responses": _responses(
                    {"json": "application/geo+json", "html": "text/html"},
                    "A page of features (GeoJSON FeatureCollection).",
                ),
            }
        }
    return paths


_SCHEMAS: dict[str, dict[str, Any]] = {
    "integer": {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
    "float": {"type": "number"},
    "boolean": {"type": "boolean"},
}
