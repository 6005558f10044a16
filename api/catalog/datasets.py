"""Blueprint `api.catalog.datasets`: the JSON catalog (`/api/datasets`): search, facets, paging
and a detail document per dataset linking every representation (files, OGC API, DCAT, CKAN)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request

from api.auth.drafts import readable_draft
from api.http import MAX_COUNT, ApiError, json_response, whole_number
from opendata.ingest.spec_model import NAME_RE
from opendata.metadata.search import (
    FACETS,
    MAX_LIMIT,
    SORTS,
    Entry,
    SearchQuery,
    entries,
    entry,
    search,
    summary,
)
from opendata.settings import Settings
from opendata.store import exports
from opendata.store.catalog import Catalog

bp = Blueprint("catalog_api", __name__)
CONFORMANCE: list[str] = []
PARAMS = {"q", "sort", "limit", "offset", "f", "licence", *FACETS}
DEFAULT_LIMIT = 10


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def _int(name: str, default: int, high: int = MAX_COUNT) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    return whole_number(raw, name, low=0, high=high)


def parse_query() -> SearchQuery:
    """Build a `SearchQuery` from the request's parameters (400 on anything malformed)."""
    unknown = sorted(set(request.args) - PARAMS)
    if unknown:
        raise ApiError(
            400, f"unknown parameter '{unknown[0][:40]}'; allowed: {', '.join(sorted(PARAMS))}"
        )
    if request.args.get("f", "json") != "json":
        raise ApiError(400, "f must be 'json' on this endpoint")
    filters = {f: tuple(v for v in request.args.getlist(f) if v) for f in FACETS}
    filters["license"] += tuple(v for v in request.args.getlist("licence") if v)
    try:
        return SearchQuery(
            q=request.args.get("q", "")[:500],
            filters={k: v for k, v in filters.items() if v},
            sort=request.args.get("sort", ""),
            limit=_int("limit", DEFAULT_LIMIT, MAX_LIMIT),
            offset=_int("offset", 0),
        )
    except ValueError as err:
        raise ApiError(400, str(err)) from None


def _etag(items: list[Entry]) -> str:
    return "|".join(f"{i.name}:{i.version.version}:{i.version.content_hash}" for i in items)


def links(base: str, item: Entry) -> list[dict[str, str]]:
    """Every representation of a dataset as typed links."""
    name = item.name
    out = [
        {"rel": "self", "type": "application/json", "href": f"{base}/api/datasets/{name}"},
        {
            "rel": "collection",
            "type": "application/json",
            "title": "OGC API - Features",
            "href": f"{base}/collections/{name}",
        },
        {
            "rel": "describedby",
            "type": "text/turtle",
            "title": "DCAT-AP (Turtle)",
            "href": f"{base}/dcat/datasets/{name}.ttl",
        },
        {
            "rel": "describedby",
            "type": "application/rdf+xml",
            "title": "DCAT-AP (RDF/XML)",
            "href": f"{base}/dcat/datasets/{name}.rdf",
        },
        {
            "rel": "describedby",
            "type": "application/ld+json",
            "title": "DCAT-AP (JSON-LD)",
            "href": f"{base}/dcat/datasets/{name}.jsonld",
        },
        {
            "rel": "alternate",
            "type": "application/json",
            "title": "CKAN package_show",
            "href": f"{base}/api/3/action/package_show?id={name}",
        },
    ]
    for fmt in exports.formats_for(exports.is_spatial(item.version)):
        out.append(
            {
                "rel": "enclosure",
                "type": fmt.media_type,
                "title": fmt.label,
                "href": base + exports.download_path(name, item.version.version, fmt.ext),
            }
        )
    return out


def _page_links(base: str, query: SearchQuery, total: int) -> list[dict[str, str]]:
    def href(offset: int) -> str:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "offset"]
        return f"{base}/api/datasets?" + urlencode([*args, ("offset", str(offset))])

    out = [{"rel": "self", "type": "application/json", "href": href(query.offset)}]
    if query.offset + query.limit < total and query.limit:
        out.append(
            {"rel": "next", "type": "application/json", "href": href(query.offset + query.limit)}
        )
    if query.offset > 0:
        out.append(
            {
                "rel": "prev",
                "type": "application/json",
                "href": href(max(0, query.offset - query.limit)),
            }
        )
    return out


@bp.get("/api/datasets")
def list_datasets() -> Response:
    """Search the catalog: `q`, facet filters, `sort`, `limit`, `offset`; facet counts included."""
    query = parse_query()
    base = _settings().base_url.rstrip("/")
    items = entries(Catalog(_settings().catalog_url))
    result = search(items, query)
    body = {
        "count": result.total,
        "returned": len(result.items),
        "limit": query.limit,
        "offset": query.offset,
        "sort": query.sort or ("relevance" if query.q.strip() else "name"),
        "datasets": [summary(i) | {"links": links(base, i)[:2]} for i in result.items],
        "facets": {
            f: [{"value": v, "count": n} for v, n in counts] for f, counts in result.facets.items()
        },
        "links": _page_links(base, query, result.total),
    }
    return json_response(body, etag_source=_etag(items))


def detail(base: str, item: Entry, catalog: Catalog) -> dict[str, Any]:
    """The full document of one dataset."""
    versions = [
        {
            "version": v.version,
            "rows": v.rows,
            "created_at": v.created_at,
            "size_bytes": v.size_bytes,
            "content_hash": v.content_hash,
            "bbox": v.bbox,
            "downloads": {
                f.ext: base + exports.download_path(item.name, v.version, f.ext)
                for f in exports.formats_for(exports.is_spatial(v))
            },
        }
        for v in catalog.versions(item.name)
    ]
    latest = {
        f.ext: base + exports.latest_path(item.name, f.ext)
        for f in exports.formats_for(exports.is_spatial(item.version))
    }
    return summary(item) | {
        "contact": item.contact,
        "spatial": item.spatial,
        "source_crs": item.version.source_crs,
        "schema": {
            "columns": item.version.columns,
            "geometry": "geometry" if exports.is_spatial(item.version) else None,
        },
        "versions": versions,
        "latest": latest,
        "quality": item.version.report,
        "links": links(base, item),
    }


@bp.get("/api/datasets/<name>")
def show_dataset(name: str) -> Response:
    """One dataset: metadata, schema, versions, latest quality report and links."""
    if not NAME_RE.match(name):
        raise ApiError(404, f"no dataset named '{name[:80]}'", title="Not Found")
    catalog = Catalog(_settings().catalog_url)
    item = next((i for i in entries(catalog) if i.name == name), None)
    if item is None and (draft := readable_draft(name)) is not None:
        item = entry(*draft)  # the owner's (or an admin's) look at a draft
    if item is None:
        raise ApiError(404, f"no published dataset named '{name}'", title="Not Found")
    body = detail(_settings().base_url.rstrip("/"), item, catalog)
    return json_response(body, etag_source=_etag([item]))


def _query_params() -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": "q",
            "in": "query",
            "schema": {"type": "string"},
            "description": "Words to find in titles, descriptions and keywords (any language; "
            "case and accents ignored; every word must match).",
        },
        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(SORTS)}},
        {
            "name": "limit",
            "in": "query",
            "schema": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        {
            "name": "offset",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_COUNT, "default": 0},
        },
    ]
    for facet in FACETS:
        params.append(
            {
                "name": facet,
                "in": "query",
                "explode": True,
                "style": "form",
                "schema": {"type": "array", "items": {"type": "string"}},
                "description": f"Only datasets with this {facet} (repeat: all must hold).",
            }
        )
    return params


def openapi_paths(settings: object) -> dict:
    """OpenAPI 3.0 path items this blueprint serves."""
    problem = {"description": "Bad parameter", "content": {"application/problem+json": {}}}
    return {
        "/api/datasets": {
            "get": {
                "tags": ["Catalog"],
                "summary": "Search the catalog, with facets",
                "operationId": "searchDatasets",
                "parameters": _query_params(),
                "responses": {
                    "200": {
                        "description": "A page of datasets with facet counts",
                        "content": {"application/json": {}},
                    },
                    "400": problem,
                },
            }
        },
        "/api/datasets/{name}": {
            "get": {
                "tags": ["Catalog"],
                "summary": "One dataset with schema, versions and quality report",
                "operationId": "getDataset",
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": NAME_RE.pattern},
                    }
                ],
                "responses": {
                    "200": {"description": "The dataset", "content": {"application/json": {}}},
                    "404": {
                        "description": "No such dataset",
                        "content": {"application/problem+json": {}},
                    },
                },
            }
        },
    }
