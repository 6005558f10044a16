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

from api.catalog import ckan_openapi
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
    """One dataset (a package) with its resources, by name or id."""
    wanted = _required(data, "id")
    for entry, pkg in _packages():
        if wanted in (entry.name, entry.id):
            return pkg
    raise CkanError(404, "Not Found Error", "Not found")


def resource_show(data: dict[str, Any]) -> dict[str, Any]:
    """One resource (a download or the OGC API) by its id."""
    wanted = _required(data, "id")
    for _, pkg in _packages():
        for res in pkg["resources"]:
            if res["id"] == wanted:
                return res
    raise CkanError(404, "Not Found Error", "Not found: Resource was not found.")


def package_list(data: dict[str, Any]) -> list[str]:
    """The names of every dataset, paged with `limit` and `offset`."""
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
    """The publishers' organizations (names, or whole dicts with `all_fields`)."""
    return _listing(data, "organization")


def organization_show(data: dict[str, Any]) -> dict[str, Any]:
    """An organization by name or id (ckanext-harvest asks for it with `remote_orgs`)."""
    return _show(data, "organization")


def group_list(data: dict[str, Any]) -> list[Any]:
    """The groups (DCAT themes; names, or whole dicts with `all_fields`)."""
    return _listing(data, "group")


def group_show(data: dict[str, Any]) -> dict[str, Any]:
    """A group (a DCAT theme) by name or id (ckanext-harvest asks with `remote_groups`)."""
    return _show(data, "group")


def status_show(data: dict[str, Any]) -> dict[str, Any]:
    """What this portal is: title, URL, the CKAN API version it speaks."""
    return {
        "site_title": "Civic open data",
        "site_url": _base(),
        "site_description": "",
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": "en",
        "extensions": ["civic-platform (read-only CKAN Action API subset)"],
    }


def help_show(data: dict[str, Any]) -> str:
    """The documentation of an action, as CKAN gives it (the `help` link of every answer)."""
    name = _required(data, "name")
    if name not in ACTIONS:
        raise CkanError(404, "Not Found Error", f"Not found: no action named {name[:60]!r}")
    return (ACTIONS[name].__doc__ or name).strip()


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
    "help_show": help_show,
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


def openapi_paths(settings: object) -> dict:
    """OpenAPI 3.0 path items this blueprint serves: one per action, with real examples."""
    packages = _packages()
    examples = {"help_show": "package_show"}
    if packages:
        pkg = packages[0][1]
        examples["package_show"] = pkg["name"]
        examples["organization_show"] = pkg["organization"]["name"]
        if pkg["resources"]:
            examples["resource_show"] = pkg["resources"][0]["id"]
        if pkg["groups"]:
            examples["group_show"] = pkg["groups"][0]["name"]
    docs = {name: " ".join((action.__doc__ or "").split()) for name, action in ACTIONS.items()}
    return ckan_openapi.paths(docs, examples)
