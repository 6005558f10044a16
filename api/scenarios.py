"""Blueprint `api.scenarios`: submit planning scenarios as jobs, follow them, fetch their results.

A POST only validates and queues (202 Accepted); the model runs in `civic twin worker`, never in
the request. Results are published as `scenario_<name>_*` datasets and drawn as maps."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, request

from api.auth.access import current_user
from api.http import ApiError, csp, json_response, not_modified, whole_number
from opendata.errors import CivicError, SpecError
from opendata.settings import Settings
from opendata.store import exports
from opendata.store.catalog import Catalog
from twin.jobs import queue
from twin.jobs.queue import Job
from twin.scenarios import drafts
from twin.scenarios.maps import BUILDERS, map_dir, map_file
from twin.scenarios.maps_text import MAP_LANGS
from twin.scenarios.model import NAME_RE, ScenarioSpec
from twin.scenarios.run import PARTS
from twin.scenarios.spec import load_scenario

bp = Blueprint("scenarios", __name__)
CONFORMANCE: list[str] = []
MAX_BODY = 64 * 1024
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STATUSES = ("queued", "running", "done", "failed")
MAX_LIST = 500  #: most jobs one listing returns


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def bundled(settings: Settings) -> dict[str, ScenarioSpec]:
    """The scenarios shipped in `datasets/scenarios/*.toml`, by name."""
    out = {}
    for path in sorted((Path(settings.datasets_dir) / "scenarios").glob("*.toml")):
        try:
            spec = load_scenario(path)
        except SpecError as err:  # one broken file must not take the listing down
            current_app.logger.warning("skipping bundled scenario: %s", err)
            continue
        out[spec.name] = spec
    return out


def absolute(settings: Settings, path: str) -> str:
    """`path` under the configured base URL."""
    return settings.base_url.rstrip("/") + path


def _datasets(settings: Settings, job: Job) -> dict[str, Any]:
    """Links to each published part: catalogue record, OGC collection and versioned files."""
    out = {}
    for part, version in (job.versions or {}).items():
        name = f"scenario_{job.name}_{part}"
        files = {
            ext: absolute(settings, exports.download_path(name, version, ext))
            for ext in exports.FORMATS
        }
        out[part] = {
            "name": name,
            "version": version,
            "api": absolute(settings, f"/api/datasets/{name}"),
            "collection": absolute(settings, f"/collections/{name}"),
            "files": files,
        }
    return out


def job_doc(settings: Settings, job: Job, *, full: bool = True) -> dict[str, Any]:
    """The public view of a job (the client hash and worker id stay private)."""
    self_url = absolute(settings, f"/api/scenarios/{job.id}")
    doc: dict[str, Any] = {
        "id": job.id,
        "name": job.name,
        "title": job.spec.get("title"),
        "status": job.status,
        "progress": job.progress,
        "submitted": job.submitted_at,
        "started": job.started_at,
        "finished": job.finished_at,
        "attempts": job.attempts,
        "visibility": job.visibility or "published",
        "changed": job.changed_at,
        "spec_sha256": job.spec_sha256,
        "error": job.error,
        "links": [{"rel": "self", "type": "application/json", "href": self_url}],
    }
    if job.status == "queued":
        doc["queue_position"] = queue.queue_position(settings, job)
    if job.status == "done" and full:
        doc["summary"] = job.summary
        doc["datasets"] = _datasets(settings, job)  # a draft's answer only its owner (and admins)
        doc["maps"] = {k: f"{self_url}/maps/{k}" for k in job.maps or []}
    if full:
        doc["spec"] = job.spec
    return doc


def _published(settings: Settings) -> list[dict[str, Any]]:
    """Scenario results in the catalogue (kind=scenario), grouped by scenario name."""
    groups: dict[str, dict[str, str]] = {}
    for ds in Catalog(settings.catalog_url).datasets(kind="scenario"):
        for part in PARTS:
            prefix, suffix = "scenario_", f"_{part}"
            if ds.name.startswith(prefix) and ds.name.endswith(suffix):
                name = ds.name[len(prefix) : -len(suffix)]
                groups.setdefault(name, {})[part] = absolute(settings, f"/api/datasets/{ds.name}")
    out = []
    for name, datasets in sorted(groups.items()):
        pages = [k for k in BUILDERS if (map_dir(settings, name) / f"{k}.html").is_file()]
        path = f"/api/scenarios/published/{name}/maps"
        maps = {k: absolute(settings, f"{path}/{k}") for k in pages}
        out.append({"name": name, "datasets": datasets, "maps": maps})
    return out


def _list_args() -> tuple[str | None, int]:
    unknown = set(request.args) - {"status", "limit"}
    if unknown:
        raise ApiError(400, f"unknown parameter(s): {', '.join(sorted(unknown))}")
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
    return status, whole_number(request.args.get("limit", "50"), "limit", low=1, high=MAX_LIST)


def _visible_jobs(settings: Settings, status: str | None, limit: int) -> list[Job]:
    """Published jobs, and the caller's own drafts (every job for an admin)."""
    user = current_user()
    if user is not None and user.may("others"):
        return queue.list_jobs(settings, status=status, limit=limit)
    return queue.list_jobs(settings, status=status, limit=limit, viewer=user.name if user else None)


@bp.get("/api/scenarios")
def list_scenarios() -> Response:
    """Jobs (newest first), bundled scenarios to start from, and published scenario results."""
    settings = _settings()
    status, limit = _list_args()
    shipped = [
        {
            "name": s.name,
            "title": s.title,
            "description": s.description,
            "spec": absolute(settings, f"/api/scenarios/bundled/{s.name}"),
        }
        for s in bundled(settings).values()
    ]
    body = {
        "jobs": [job_doc(settings, j, full=False) for j in _visible_jobs(settings, status, limit)],
        "bundled": shipped,
        "published": _published(settings),
    }
    return json_response(body)


@bp.get("/api/scenarios/bundled/<name>")
def bundled_spec(name: str) -> Response:
    """A bundled scenario's spec as JSON: edit it and POST it back as a new scenario."""
    spec = bundled(_settings()).get(name)
    if spec is None:
        raise ApiError(404, f"no bundled scenario named {name[:60]!r}", title="Not Found")
    return json_response(spec.raw, etag_source=spec.sha256, max_age=300)


def may_see(job: Job) -> bool:
    """Anyone sees a published job; a draft or withdrawn one only its owner and admins."""
    user = current_user()
    return job.public or (user is not None and (user.name == job.owner or user.may("others")))


def visible_job(job_id: str) -> Job:
    """The job if this request may see it; 404 otherwise (a draft's existence is not revealed)."""
    if not UUID_RE.match(job_id):
        raise ApiError(404, "no such scenario job", title="Not Found")
    try:
        job = queue.get_job(_settings(), job_id)
    except CivicError:
        job = None
    if job is None or not may_see(job):
        raise ApiError(404, f"no scenario job {job_id}", title="Not Found")
    return job


@bp.get("/api/scenarios/<job_id>")
def show_job(job_id: str) -> Response:
    """A job's status and progress; when done its summary and links to datasets and maps."""
    job = visible_job(job_id)
    doc = job_doc(_settings(), job)
    tag = f"{job.id}:{job.status}:{job.progress}:{job.finished_at}:{job.visibility}"
    resp = json_response(doc, etag_source=tag, max_age=0)
    if not job.public:  # a draft is for its owner only: no shared cache may keep it
        resp.headers["Cache-Control"] = "private, no-store"
    resp.vary.update(("Authorization", "Cookie"))
    return resp


def _map_lang() -> str:
    """The map's language as the site chooses a page's: `?lang=`, then the site's language
    cookie, then `Accept-Language`; English when none is a map language."""
    for code in (request.args.get("lang"), request.cookies.get("civic_lang")):
        if code in MAP_LANGS:
            return code
    ranked = sorted(request.accept_languages, key=lambda pair: -pair[1])  # `fi-FI` reads `fi`
    primary = (tag.split("-")[0].lower() for tag, quality in ranked if quality > 0)
    return next((code for code in primary if code in MAP_LANGS), "en")


def _map_page(settings: Settings, name: str, kind: str) -> Response:
    """A stored map page in the reader's language, with our CSP and an ETag from the file's
    size and time (maps written before they had languages are served in English)."""
    if kind not in BUILDERS:
        raise ApiError(404, f"no map kind {kind[:40]!r}; use one of {', '.join(BUILDERS)}")
    folder, lang = map_dir(settings, name), _map_lang()
    path = folder / map_file(kind, lang)
    if not path.is_file():
        path, lang = folder / map_file(kind, "en"), "en"
    if not path.is_file():
        raise ApiError(404, f"scenario {name} has no {kind} map", title="Not Found")
    stat = path.stat()
    tag = f"{lang}-{stat.st_mtime_ns:x}-{stat.st_size:x}"
    resp = not_modified(tag) or Response(path.read_bytes(), mimetype="text/html")
    resp.set_etag(tag)
    resp.headers["Content-Language"] = lang
    resp.vary.update(("Cookie", "Accept-Language"))
    # folium writes self-contained pages with inline scripts and styles
    resp.headers["Content-Security-Policy"] = csp(settings.tile_url, inline=True)
    return resp


@bp.get("/api/scenarios/<job_id>/maps/<kind>")
def show_map(job_id: str, kind: str) -> Response:
    """A job's result map (HTML page with a table of the largest changes below it)."""
    settings, job = _settings(), visible_job(job_id)
    if kind in BUILDERS and (job.status != "done" or kind not in (job.maps or [])):
        raise ApiError(404, f"job {job.id} has no {kind[:40]} map (status {job.status})")
    return _map_page(settings, job.name, kind)


@bp.get("/api/scenarios/published/<name>/maps/<kind>")
def published_map(name: str, kind: str) -> Response:
    """The latest map of a published scenario (from a job or from `civic twin run`)."""
    if not NAME_RE.match(name) or drafts.state(_settings(), name) == "draft":
        raise ApiError(404, "no such scenario", title="Not Found")
    return _map_page(_settings(), name, kind)


_PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
_JSON = {"content": {"application/json": {"schema": {"type": "object"}}}}
JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


def operation(op_id: str, summary: str, responses: dict[str, str], **extra: Any) -> dict[str, Any]:
    """One operation; 2xx responses are JSON (or HTML for maps), the rest problem+json."""
    content = extra.pop("content", _JSON)
    out = {
        c: {"description": t, **(_PROBLEM if c[0] in "45" else {} if c == "204" else content)}
        for c, t in responses.items()
    }
    return {
        "tags": ["Scenarios"],
        "operationId": op_id,
        "summary": summary,
        "responses": out,
        **extra,
    }


def openapi_paths(settings: Settings) -> dict[str, Any]:
    """OpenAPI 3.0 path items this blueprint serves."""
    status = {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}}
    limit = {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIST, "default": 50},
    }
    kind = {
        "name": "kind",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(BUILDERS)},
    }
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    lang = {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "The map's language (else the site's cookie, then Accept-Language)",
        "schema": {"type": "string", "enum": list(MAP_LANGS)},
    }
    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    return {
        "/api/scenarios": {
            "get": operation(
                "listScenarios",
                "Scenario jobs, bundled scenarios and published scenario results",
                {"200": "Jobs, bundled and published scenarios", "400": "Bad parameter"},
                parameters=[status, limit],
            ),
        },
        "/api/scenarios/bundled/{name}": {
            "get": operation(
                "getBundledScenario",
                "A bundled scenario's spec as JSON, to edit and submit",
                {"200": "The spec", "404": "No such bundled scenario"},
                parameters=[name],
            )
        },
        "/api/scenarios/{job_id}": {
            "get": operation(
                "getScenarioJob",
                "Status, progress and (when done) summary, datasets and maps of a job",
                {"200": "The job", "404": "No such job"},
                parameters=[JOB_ID],
            )
        },
        "/api/scenarios/published/{name}/maps/{kind}": {
            "get": operation(
                "getPublishedScenarioMap",
                "The latest map of a published scenario",
                {"200": "The map page", "404": "No such scenario or map"},
                parameters=[name, kind, lang],
                content=html,
            )
        },
        "/api/scenarios/{job_id}/maps/{kind}": {
            "get": operation(
                "getScenarioMap",
                "A result map (HTML) with a table of the largest changes",
                {"200": "The map page", "404": "No such job or map, or not done"},
                parameters=[JOB_ID, kind, lang],
                content=html,
            )
        },
    }
