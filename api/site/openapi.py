"""OpenAPI 3.0 fragment of the citizens' website (`api.site.pages`): each page with its JSON
twin."""

from __future__ import annotations

from typing import Any

from api.site.catalog import MAX_PAGE
from api.site.i18n import LANGUAGES
from opendata.ingest.spec_model import NAME_RE

_F = {
    "name": "f",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["html", "json"]},
    "description": "html (default for browsers) or json; `Accept: application/json` works too.",
}
_LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": list(LANGUAGES)},
    "description": "Interface language (remembered in a cookie); else Accept-Language.",
}


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": NAME_RE.pattern},
        "description": description,
    }


def _query(name: str, kind: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": kind, **extra},
        "description": description,
    }


def _page(op: str, summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "get": {
            "tags": ["Website"],
            "operationId": op,
            "summary": summary,
            "parameters": [*params, _F, _LANG],
            "responses": {
                "200": {
                    "description": summary,
                    "content": {
                        "text/html": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"type": "object"}},
                    },
                },
                "400": {
                    "description": "Bad parameter",
                    "content": {"application/problem+json": {}},
                },
                "404": {"description": "Not found (an HTML page or problem+json)"},
            },
        }
    }


def _withdrawable(op: str, summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    """A page that answers 410 once its scenario was withdrawn (saying when)."""
    page = _page(op, summary, params)
    page["get"]["responses"]["410"] = {"description": "Withdrawn (a page saying when)"}
    return page


def _sql_page() -> dict[str, Any]:
    """`/sql`: the page; a query that fails is shown on it with the status of `/api/sql`."""
    page = _page(
        "siteSql",
        "SQL page: editor, tables with example queries, the result of `sql` as a table",
        [_query("sql", "string", "A read-only DuckDB query, run server-side like /api/sql.")],
    )
    problem = {"content": {"application/problem+json": {}, "text/html": {}}}
    page["get"]["responses"]["400"] = {"description": "Invalid or refused SQL", **problem}
    page["get"]["responses"]["422"] = {"description": "Time or memory limit exceeded", **problem}
    page["get"]["responses"]["503"] = {"description": "Every SQL slot is busy", **problem}
    return page


def openapi_paths(settings: object) -> dict[str, Any]:
    """OpenAPI 3.0 path items this blueprint serves."""
    facets = [
        _query(key, "string", f"Only datasets with this {key} (repeat to combine).")
        for key in ("theme", "kind", "publisher", "license", "licence", "format")
    ]
    return {
        "/datasets": _page(
            "siteCatalog",
            "Catalog page: search, facets, sort and paging",
            [
                _query("q", "string", "Words to find (any language; Finnish and Swedish stemmed)."),
                *facets,
                _query(
                    "sort",
                    "string",
                    "Order of results: relevance, title (in the page language), last update "
                    "(date); name (identifier) is kept for old links.",
                    enum=["relevance", "title", "date", "name"],
                ),
                _query("page", "integer", "Result page, from 1.", minimum=1, maximum=MAX_PAGE),
            ],
        ),
        "/datasets/{name}": _page(
            "siteDataset",
            "Dataset page: metadata, schema, quality, versions, previews, downloads",
            [_path("name", "Dataset name")],
        ),
        "/datasets/{name}/preview.geojson": {
            "get": {
                "tags": ["Website"],
                "operationId": "siteDatasetPreview",
                "summary": "A light-weight map preview (simplified, sampled or clustered)",
                "parameters": [_path("name", "Dataset name")],
                "responses": {
                    "200": {
                        "description": "GeoJSON FeatureCollection with a `preview` member",
                        "content": {"application/geo+json": {"schema": {"type": "object"}}},
                    },
                    "304": {"description": "Not modified"},
                    "404": {"description": "No such spatial dataset"},
                },
            }
        },
        "/map": _page(
            "siteMap",
            "Map viewer: layers from the catalog, view in the URL",
            [
                _query("layers", "string", "Comma-separated dataset names."),
                _query("lat", "number", "Centre latitude.", minimum=-90, maximum=90),
                _query("lon", "number", "Centre longitude.", minimum=-180, maximum=180),
                _query("z", "integer", "Zoom level.", minimum=0, maximum=19),
            ],
        ),
        "/scenarios": _page("siteScenarios", "Every published planning scenario", []),
        "/scenarios/{name}": _withdrawable(
            "siteScenario",
            "Scenario page: what changes, before/after, indicators, near an address",
            [
                _path("name", "Scenario name"),
                _query("address", "string", "Street and house number to look near."),
                _query(
                    "lat", "number", "Latitude of a point to look near.", minimum=-90, maximum=90
                ),
                _query(
                    "lon", "number", "Longitude of a point to look near.", minimum=-180, maximum=180
                ),
            ],
        ),
        "/scenarios/{name}/periods.geojson": {
            "get": {
                "tags": ["Website"],
                "operationId": "siteScenarioPeriods",
                "summary": "The scenario page's time-slider layer: links with their flows and "
                "queues per quarter hour of the morning peak, before and after",
                "parameters": [_path("name", "Scenario name")],
                "responses": {
                    "200": {
                        "description": "GeoJSON FeatureCollection; properties `_fb`/`_fs` "
                        "(flow, vehicles/h) and `_qb`/`_qs` (queue, m) per period",
                        "content": {"application/geo+json": {"schema": {"type": "object"}}},
                    },
                    "304": {"description": "Not modified"},
                    "404": {"description": "No such scenario, or not simulated through time"},
                },
            }
        },
        "/sql": _sql_page(),
        "/language": {
            "get": {
                "tags": ["Website"],
                "operationId": "siteLanguage",
                "summary": "Switch the interface language (cookie) and go back",
                "parameters": [
                    {**_LANG, "required": True},
                    _query("next", "string", "Local path to return to."),
                ],
                "responses": {
                    "303": {"description": "Back to `next` with the language cookie set"},
                    "400": {"description": "Unknown language"},
                },
            }
        },
    }
