"""Turn the OpenAPI document into concrete requests: every GET path, path parameters replaced by
real names and ids from the running install, query and header parameters given their example or
default, each declared 200 media type asked for (by the `f`/`format` selector the operation
declares, else by Accept, else fixed by the file extension in the path)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from tests.e2e.formats import MEDIA
from tests.e2e.model import Failure, Link

#: Selector values -> the media types they may give (json may be any JSON flavour).
SELECTOR_MEDIA = {
    "html": ("text/html",),
    "json": ("application/json", "application/geo+json", "application/schema+json",
             "application/vnd.oai.openapi+json"),
    "geojson": ("application/geo+json", "application/json"),
    "csv": ("text/csv",),
    "parquet": ("application/vnd.apache.parquet",),
}  # fmt: skip
SELECTORS = ("f", "format")


@dataclass
class Facts:
    """Names and ids of the running install, read from its own APIs."""

    collections: list[str] = field(default_factory=list)
    matched: dict[str, int] = field(default_factory=dict)
    first_id: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    scenarios: list[str] = field(default_factory=list)
    bundled: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)


def gather_facts(get: Callable[[str], Any], base: str) -> Facts:
    """Collections with `numberMatched` and a first feature id, current versions, scenario names
    and queued jobs; `get(url)` returns a parsed JSON document."""
    facts = Facts()
    facts.collections = [c["id"] for c in get(f"{base}/collections?f=json")["collections"]]
    for name in facts.collections:
        page = get(f"{base}/collections/{name}/items?limit=1&f=json")
        facts.matched[name] = page["numberMatched"]
        if page["features"]:
            facts.first_id[name] = str(page["features"][0]["id"])
        facts.versions[name] = get(f"{base}/api/datasets/{name}")["version"]
    facts.scenarios = [s["name"] for s in get(f"{base}/scenarios?f=json")["scenarios"]]
    listing = get(f"{base}/api/scenarios")
    facts.bundled = [s["name"] for s in listing["bundled"]]
    facts.jobs = [str(j["id"]) for j in listing["jobs"]]
    return facts


def _values(path: str, param: dict[str, Any], facts: Facts, bound: dict[str, str]) -> list[str]:
    """Real values for one path parameter (`bound` holds the ones already chosen)."""
    name, schema = param["name"], param.get("schema", {})
    if "enum" in schema:
        return [str(v) for v in schema["enum"]]
    if name == "featureId":
        first = facts.first_id.get(bound.get("collectionId", ""))
        return [first] if first else []
    if name == "version":
        return [str(facts.versions[bound["name"]])] if bound.get("name") in facts.versions else []
    if name == "filename":
        return [f"{bound.get('name')}.{ext}" for ext in ("parquet", "geojson", "csv", "gpkg")]
    if name == "job_id":
        return facts.jobs
    if name == "name" and path.startswith("/api/scenarios/bundled/"):
        return facts.bundled
    if name == "name" and path.startswith(("/scenarios/", "/api/scenarios/")):
        return facts.scenarios
    if name in ("name", "collectionId"):
        return facts.collections
    return []


def _bindings(path: str, params: list[dict[str, Any]], facts: Facts) -> list[dict[str, str]]:
    """Every combination of real path parameter values, in the path's order (a later parameter
    may depend on an earlier one, e.g. featureId on collectionId)."""
    order = re.findall(r"{([^}]+)}", path)
    by_name = {p["name"]: p for p in params if p.get("in") == "path"}
    combos: list[dict[str, str]] = [{}]
    for name in order:
        param = by_name.get(name, {"name": name})
        combos = [{**c, name: v} for c in combos for v in _values(path, param, facts, c)]
    return combos


def _query(params: list[dict[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """Query parameters with an example or default (required enums take their first value), and
    the names of required ones the document gives no value for."""
    query, missing = {}, []
    for p in params:
        if p.get("in") != "query" or p["name"] in SELECTORS:
            continue
        schema = p.get("schema", {})
        value = p.get("example", schema.get("example", schema.get("default")))
        if value is None and p.get("required") and schema.get("enum"):
            value = schema["enum"][0]
        if value is not None:
            query[p["name"]] = value if isinstance(value, str) else _plain(value)
        elif p.get("required"):
            missing.append(p["name"])
    return query, missing


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_plain(v) for v in value)
    return str(value)


def _headers(params: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (p["name"], str(p.get("example", p.get("schema", {}).get("example"))))
        for p in params
        if p.get("in") == "header"
        and p.get("example", p.get("schema", {}).get("example")) is not None
    )


def _variants(
    url: str, query: dict[str, str], op: dict[str, Any], params: list[dict[str, Any]]
) -> list[tuple[str, tuple[str, ...], str]]:
    """(URL, allowed media types, Accept) for each representation the operation declares."""
    declared = list(op.get("responses", {}).get("200", {}).get("content", {}))
    ext = re.search(r"\.(\w+)$", url.split("?")[0])
    if ext and ext.group(1) in MEDIA:  # the path names the format
        return [(_url(url, query), (MEDIA[ext.group(1)],), "*/*")]
    selector = next((p for p in params if p["name"] in SELECTORS and p.get("in") == "query"), None)
    if selector and selector.get("schema", {}).get("enum"):
        allowed = {m.split(";")[0] for m in declared}
        out = []
        for value in selector["schema"]["enum"]:
            media = tuple(m for m in SELECTOR_MEDIA.get(value, ()) if m in allowed)
            out.append((_url(url, {**query, selector["name"]: value}), media or ("?",), "*/*"))
        return out
    if not declared:  # a redirect or an empty answer: only the status counts
        return [(_url(url, query), (), "*/*")]
    return [(_url(url, query), (m.split(";")[0],), m) for m in declared]


def _url(url: str, query: dict[str, str]) -> str:
    return url + ("?" + urlencode(query) if query else "")


@dataclass
class Plan:
    """What the OpenAPI document turns into: requests, operations that cannot be exercised
    (and why), and operations the document leaves impossible to call."""

    links: list[Link] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def openapi_links(doc: dict[str, Any], facts: Facts, base: str) -> Plan:
    """The requests that exercise every GET operation of the document."""
    plan = Plan()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method != "get":
                plan.notes.append(f"{method.upper()} {path}: not exercised (the crawl only reads)")
            else:
                _operation(path, op, facts, base, plan)
    return plan


def _operation(path: str, op: dict[str, Any], facts: Facts, base: str, plan: Plan) -> None:
    params = op.get("parameters", [])
    referrer = f"{base}/openapi?f=json (GET {path})"
    query, missing = _query(params)
    combos = _bindings(path, params, facts)
    if not combos:
        plan.notes.append(f"GET {path}: not exercised, no real value for a path parameter")
    if missing and combos:
        detail = f"required parameter(s) {', '.join(missing)} have no example or default"
        plan.failures.append(Failure(base + path, 0, "", referrer, "openapi", "openapi", detail))
        return
    for combo in combos:
        url = base + re.sub(r"{([^}]+)}", lambda m, c=combo: quote(c[m.group(1)]), path)
        for target, media, accept in _variants(url, query, op, params):
            plan.links.append(Link(target, referrer, "openapi", claimed=media, accept=accept))
            for header in _headers(params):
                plan.links.append(
                    Link(target, referrer, "openapi", media, accept, headers=(header,))
                )
