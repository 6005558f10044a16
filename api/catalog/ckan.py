"""Blueprint `api.catalog.ckan`: the read subset of the CKAN Action API, so CKAN clients and
harvesters (ckanapi, ckanext-harvest, portal crawlers) work unchanged.

Served at both `/api/3/action/<name>` and `/api/action/<name>` (ckanapi POSTs JSON to the
latter), GET or POST (JSON body or form). Responses use CKAN's envelope
`{"help", "success", "result"}` and its error shapes and statuses (404 Not Found Error,
409 Validation Error / Search Query Error, 400 Bad Request), not problem+json.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request

from api.catalog.ckan_packages import package
from opendata.metadata.search import Entry, entries, fold, score, terms
from opendata.settings import Settings
from opendata.store.catalog import Catalog

bp = Blueprint("ckan", __name__)
CONFORMANCE: list[str] = []
CKAN_VERSION = "2.10.4"
MAX_ROWS = 1000
FQ_FIELDS = ("tags", "organization", "res_format", "license_id", "groups", "name", "id", "type")
SORT_FIELDS = ("score", "metadata_modified", "metadata_created", "name", "title_string")


class CkanError(Exception):
    """An action error rendered in CKAN's shape: `__type`, a message or field errors."""

    def __init__(self, status: int, kind: str, message: str = "", fields: dict | None = None):
        super().__init__(message)
        self.status, self.kind, self.message, self.fields = status, kind, message, fields or {}


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def _base() -> str:
    return _settings().base_url.rstrip("/")


def _packages() -> list[tuple[Entry, dict[str, Any]]]:
    base = _base()
    return [(i, package(base, i)) for i in entries(Catalog(_settings().catalog_url))]


def _field_values(pkg: dict[str, Any], field: str) -> list[str]:
    return {
        "tags": [t["name"] for t in pkg["tags"]],
        "organization": [pkg["organization"]["name"]],
        "res_format": [r["format"] for r in pkg["resources"]],
        "license_id": [pkg["license_id"]],
        "groups": [g["name"] for g in pkg["groups"]],
        "name": [pkg["name"]],
        "id": [pkg["id"]],
        "type": [pkg["type"]],
    }[field]


FQ_TERM = re.compile(r'\s*([+-]?)([A-Za-z_]+):("([^"]*)"|[^\s"]+)\s*')


def parse_fq(fq: str) -> list[tuple[bool, str, str]]:
    """`tags:roads -organization:"x y"` -> [(keep, field, value), ...]; 409 when unsupported."""
    out, pos = [], 0
    text = fq.strip()
    if text in ("", "*:*"):
        return []
    while pos < len(text):
        match = FQ_TERM.match(text, pos)
        if not match or match.group(2) not in FQ_FIELDS:
            raise CkanError(
                409,
                "Search Query Error",
                "Search Query is invalid: unsupported fq "
                f"near {text[pos : pos + 40]!r}; use field:value with fields "
                + ", ".join(FQ_FIELDS),
            )
        value = match.group(4) if match.group(4) is not None else match.group(3)
        out.append((match.group(1) != "-", match.group(2), value))
        pos = match.end()
    return out


def _matches(pkg: dict[str, Any], conditions: list[tuple[bool, str, str]]) -> bool:
    for keep, field, value in conditions:
        found = fold(value) in {fold(v) for v in _field_values(pkg, field)}
        if found != keep:
            return False
    return True


def _sorted(rows: list[tuple[float, dict[str, Any]]], sort: str) -> list[dict[str, Any]]:
    keys = []
    for part in [p.strip() for p in sort.split(",") if p.strip()]:
        field, _, direction = part.partition(" ")
        direction = direction.strip().lower() or "asc"
        if field not in SORT_FIELDS or direction not in ("asc", "desc"):
            raise CkanError(
                409,
                "Search Query Error",
                f"Search Query is invalid: cannot sort by "
                f"{part[:60]!r}; use one of {', '.join(SORT_FIELDS)} with asc or desc",
            )
        keys.append((field, direction == "desc"))
    for field, reverse in reversed(keys):

        def key(row: tuple[float, dict[str, Any]], field: str = field) -> Any:
            score_, pkg = row
            return {"score": score_, "title_string": pkg["title"].lower()}.get(
                field, pkg.get(field)
            )

        rows.sort(key=key, reverse=reverse)
    return [pkg for _, pkg in rows]


def _int(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CkanError(409, "Validation Error", fields={key: ["Invalid integer"]}) from None
    if number < 0:
        raise CkanError(409, "Validation Error", fields={key: ["Must be a natural number"]})
    return number


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
        raise CkanError(
            409,
            "Search Query Error",
            f"Search Query is invalid: cannot facet on "
            f"{unknown[0][:40]!r}; use {', '.join(FQ_FIELDS)}",
        )
    return raw


def package_search(data: dict[str, Any]) -> dict[str, Any]:
    """CKAN's `package_search`: q, fq, rows (max 1000), start, sort, facet.field."""
    q = str(data.get("q") or "")
    conditions = parse_fq(str(data.get("fq") or ""))
    free = []  # field:value terms inside q act as filters, like Solr's edismax on CKAN
    for token in q.split():
        field, sep, _ = token.lstrip("+-").partition(":")
        if sep and field in FQ_FIELDS:
            conditions += parse_fq(token)
        elif token != "*:*":
            free.append(token)
    rows, start = min(_int(data, "rows", 10), MAX_ROWS), _int(data, "start", 0)
    words = terms(" ".join(free))
    scored = [
        (score(i, words) if words else 1.0, p) for i, p in _packages() if _matches(p, conditions)
    ]
    scored = [(s, p) for s, p in scored if s > 0]
    sort = str(data.get("sort") or ("score desc, metadata_modified desc" if words else "name asc"))
    matched = _sorted(scored, sort)
    limit = _int(data, "facet.limit", 50)
    facets = {
        f: dict(
            Counter(v for p in matched for v in dict.fromkeys(_field_values(p, f))).most_common(
                limit or None
            )
        )
        for f in _facet_fields(data)
    }
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
    offset = _int(data, "offset", 0)
    limit = _int(data, "limit", len(names)) if "limit" in data else len(names)
    return names[offset : offset + limit]


def organization_list(data: dict[str, Any]) -> list[Any]:
    counts: Counter[str] = Counter()
    orgs: dict[str, dict[str, Any]] = {}
    for _, pkg in _packages():
        org = pkg["organization"]
        counts[org["name"]] += 1
        orgs.setdefault(org["name"], org)
    all_fields = str(data.get("all_fields", "false")).lower() in ("true", "1", "yes")
    if not all_fields:
        return sorted(orgs)
    return [orgs[n] | {"package_count": counts[n]} for n in sorted(orgs)]


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
            "parameters": [param],
            "responses": responses,
        }
        for method, suffix in (("get", ""), ("post", ""))
    }
    unversioned = {
        m: op | {"operationId": op["operationId"] + "Unversioned"} for m, op in item.items()
    }
    return {"/api/3/action/{action}": item, "/api/action/{action}": unversioned}
