"""Blueprint `api.catalog.ckan`: the read subset of the CKAN Action API, so CKAN clients and
harvesters (ckanapi, ckanext-harvest, portal crawlers) work unchanged.

Served at both `/api/3/action/<name>` and `/api/action/<name>` (ckanapi POSTs JSON to the
latter), GET or POST (JSON body or form). Responses use CKAN's envelope
`{"help", "success", "result"}` and its error shapes and statuses (404 Not Found Error,
409 Validation Error / Search Query Error, 400 Bad Request), not problem+json.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request

from api.catalog.ckan_packages import package
from api.catalog.ckan_search import (
    DEFAULT_FACET_LIMIT,
    FQ_FIELDS,
    MAX_ROWS,
    CkanError,
    count,
    facet_counts,
    matches,
    parse_fq,
    query_error,
    sort_packages,
)
from api.http import MAX_COUNT
from opendata.metadata.search import Entry, entries, score, terms
from opendata.settings import Settings
from opendata.store.catalog import Catalog

bp = Blueprint("ckan", __name__)
CONFORMANCE: list[str] = []
CKAN_VERSION = "2.10.4"


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def _base() -> str:
    return _settings().base_url.rstrip("/")


def _packages() -> list[tuple[Entry, dict[str, Any]]]:
    base = _base()
    return [(i, package(base, i)) for i in entries(Catalog(_settings().catalog_url))]


def _facet_fields(data: dict[str, Any]) -> list[str]:
    raw = data.get("facet.field", data.get("facet_field", []))
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip().startswith("[") else [raw]
        except ValueError:
            raise CkanError(
                409, "Validation Error", fields={"facet.field": ["Invalid JSON list"]}
            ) from None
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
        raise CkanError(
            409, "Validation Error", fields={"facet.field": ["Must be a list of fields"]}
        )
    unknown = [f for f in raw if f not in FQ_FIELDS]
    if unknown:
        raise query_error(f"cannot facet on {unknown[0][:40]!r}; use {', '.join(FQ_FIELDS)}")
    return raw


def package_search(data: dict[str, Any]) -> dict[str, Any]:
    """CKAN's `package_search`: q, fq, rows (reduced to 1000), start, sort, facet.field,
    facet.limit (-1: all values)."""
    q = str(data.get("q") or "")
    clauses = parse_fq(str(data.get("fq") or ""))
    free = []  # field:value terms inside q act as filters, like Solr's edismax on CKAN
    for token in q.split():
        field, sep, _ = token.lstrip("+-").partition(":")
        if sep and field in FQ_FIELDS:
            clauses += parse_fq(token)
        elif token != "*:*":
            free.append(token)
    rows, start = min(count(data, "rows", 10), MAX_ROWS), count(data, "start", 0)
    limit = count(data, "facet.limit", DEFAULT_FACET_LIMIT, low=-1)
    words = terms(" ".join(free))
    scored = [(score(i, words) if words else 1.0, p) for i, p in _packages() if matches(p, clauses)]
    scored = [(s, p) for s, p in scored if s > 0]
    sort = str(data.get("sort") or ("score desc, metadata_modified desc" if words else "name asc"))
    matched = sort_packages(scored, sort)
    facets = facet_counts(matched, _facet_fields(data), limit)
    return {
        "count": len(matched),
        "sort": sort,
        "results": matched[start : start + rows],
        "facets": facets,
        "search_facets": {
            f: {
                "title": f,
                "items": [{"name": k, "display_name": k, "count": n} for k, n in counts.items()],
            }
            for f, counts in facets.items()
        },
    }


def _required(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value in (None, ""):
        raise CkanError(409, "Validation Error", fields={key: ["Missing value"]})
    return str(value)


def package_show(data: dict[str, Any]) -> dict[str, Any]:
    wanted = _required(data, "id")
    for entry, pkg in _packages():
        if wanted in (entry.name, entry.id):
            return pkg
    raise CkanError(404, "Not Found Error", "Not found")


def resource_show(data: dict[str, Any]) -> dict[str, Any]:
    wanted = _required(data, "id")
    for _, pkg in _packages():
        for res in pkg["resources"]:
            if res["id"] == wanted:
                return res
    raise CkanError(404, "Not Found Error", "Not found: Resource was not found.")


def package_list(data: dict[str, Any]) -> list[str]:
    names = [e.name for e, _ in _packages()]
    offset = count(data, "offset", 0)
    limit = count(data, "limit", len(names))
    return names[offset : offset + limit]


def _owners(kind: str) -> dict[str, dict[str, Any]]:
    """The organizations or groups (`kind`) of all packages by name, with their package
    counts."""
    counts: Counter[str] = Counter()
    found: dict[str, dict[str, Any]] = {}
    for _, pkg in _packages():
        for owner in [pkg["organization"]] if kind == "organization" else pkg["groups"]:
            counts[owner["name"]] += 1
            found.setdefault(owner["name"], owner)
    return {n: found[n] | {"package_count": counts[n]} for n in sorted(found)}


def _listing(data: dict[str, Any], kind: str) -> list[Any]:
    owners = _owners(kind)
    all_fields = str(data.get("all_fields", "false")).lower() in ("true", "1", "yes")
    return list(owners.values()) if all_fields else list(owners)


def _show(data: dict[str, Any], kind: str) -> dict[str, Any]:
    wanted = _required(data, "id")
    for owner in _owners(kind).values():
        if wanted in (owner["name"], owner["id"]):
            return owner
    raise CkanError(404, "Not Found Error", f"Not found: {kind.title()} was not found.")


def organization_list(data: dict[str, Any]) -> list[Any]:
    return _listing(data, "organization")


def organization_show(data: dict[str, Any]) -> dict[str, Any]:
    """An organization by name or id (ckanext-harvest asks for it with `remote_orgs`)."""
    return _show(data, "organization")


def group_list(data: dict[str, Any]) -> list[Any]:
    return _listing(data, "group")


def group_show(data: dict[str, Any]) -> dict[str, Any]:
    """A group (a DCAT theme) by name or id (ckanext-harvest asks with `remote_groups`)."""
    return _show(data, "group")


def status_show(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "site_title": "Civic open data",
        "site_url": _base(),
        "site_description": "",
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": "en",
        "extensions": ["civic-platform (read-only CKAN Action API subset)"],
    }


ACTIONS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "package_list": package_list,
    "package_show": package_show,
    "package_search": package_search,
    "resource_show": resource_show,
    "organization_list": organization_list,
    "organization_show": organization_show,
    "group_list": group_list,
    "group_show": group_show,
    "status_show": status_show,
}


def _envelope(action: str, body: dict[str, Any], status: int = 200) -> Response:
    body = {"help": f"{_base()}/api/3/action/help_show?name={action}", **body}
    resp = current_app.response_class(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        mimetype="application/json",
    )
    resp.headers["Cache-Control"] = "public, max-age=60" if status == 200 else "no-store"
    return resp


def _data_dict() -> dict[str, Any]:
    data: dict[str, Any] = {k: (v if len(v) > 1 else v[0]) for k, v in request.args.lists()}
    if request.method == "POST":
        if request.is_json or (request.data and not request.form):
            body = request.get_json(force=True, silent=True)
            if not isinstance(body, dict):
                raise CkanError(
                    400, "Bad Request", "Bad request - JSON Error: No request body data"
                )
            data.update(body)
        else:
            data.update({k: (v if len(v) > 1 else v[0]) for k, v in request.form.lists()})
    return data


@bp.route("/api/3/action/<action>", methods=["GET", "POST"])
@bp.route("/api/action/<action>", methods=["GET", "POST"])
def call(action: str) -> Response:
    """Dispatch one action; errors come back in CKAN's shape."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise CkanError(400, "Bad Request", f"Bad request - Action name not known: {action[:60]}")
    return _envelope(action, {"success": True, "result": handler(_data_dict())})


@bp.errorhandler(CkanError)
def _ckan_error(err: CkanError) -> Response:
    error: dict[str, Any] = {"__type": err.kind}
    if err.message:
        error["message"] = err.message
    error.update(err.fields)
    action = (request.view_args or {}).get("action", "")
    return _envelope(str(action)[:60], {"success": False, "error": error}, status=err.status)


def _query_params() -> list[dict[str, Any]]:
    """The arguments the actions read (each action ignores the others), as query parameters."""

    def arg(name: str, description: str, **schema: Any) -> dict[str, Any]:
        schema = schema or {"type": "string"}
        return {"name": name, "in": "query", "description": description, "schema": schema}

    counts = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}
    return [
        arg("id", "package_show, resource_show, organization_show, group_show: name or id."),
        arg("q", "package_search: words, and `field:value` filters."),
        arg(
            "fq",
            "package_search: Solr filter (`tags:x`, `-organization:y`, `a OR b`, "
            "`metadata_modified:[2026-01-01T00:00:00Z TO *]`).",
        ),  # fmt: skip
        arg("sort", "package_search: e.g. `id asc`, `metadata_modified desc`."),
        arg("rows", f"package_search: page size (above {MAX_ROWS} is reduced).", **counts),
        arg("start", "package_search: results to skip.", **counts),
        arg("facet.field", "package_search: JSON list of fields to count values of."),
        arg(
            "facet.limit",
            "package_search: values per facet; -1 for all.",
            **(counts | {"minimum": -1, "default": DEFAULT_FACET_LIMIT}),
        ),  # fmt: skip
        arg("limit", "package_list: names to return.", **counts),
        arg("offset", "package_list: names to skip.", **counts),
        arg(
            "all_fields",
            "organization_list, group_list: whole dicts instead of names.",
            type="boolean",
        ),  # fmt: skip
    ]


def openapi_paths(settings: object) -> dict:
    """OpenAPI 3.0 path items this blueprint serves."""
    envelope = {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "help": {"type": "string"},
                    "success": {"type": "boolean"},
                    "result": {},
                },
            }
        }
    }
    param = {
        "name": "action",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": sorted(ACTIONS)},
    }
    responses = {
        "200": {"description": "CKAN envelope with `result`", "content": envelope},
        "400": {"description": "Unknown action (CKAN error shape)"},
        "404": {"description": "Not Found Error (CKAN error shape)"},
        "409": {"description": "Validation or Search Query Error (CKAN error shape)"},
    }
    item = {
        method: {
            "tags": ["CKAN"],
            "summary": "CKAN Action API (read subset): " + ", ".join(sorted(ACTIONS)),
            "operationId": f"ckan{method.title()}{suffix}",
            "parameters": [param, *_query_params()] if method == "get" else [param],
            "responses": responses,
        }
        for method, suffix in (("get", ""), ("post", ""))
    }
    unversioned = {
        m: op | {"operationId": op["operationId"] + "Unversioned"} for m, op in item.items()
    }
    return {"/api/3/action/{action}": item, "/api/action/{action}": unversioned}
