"""Blueprint `api.scenarios`: submit planning scenarios as jobs, follow them, fetch their results.

A POST only validates and queues (202 Accepted); the model runs in `civic twin worker`, never in
the request. Results are published as `scenario_<name>_*` datasets and drawn as maps."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, request

from api.http import ApiError, csp, json_response, not_modified, whole_number
from opendata.errors import CivicError, NotFound, SpecError
from opendata.settings import Settings
from opendata.store import exports
from opendata.store.catalog import Catalog
from twin.jobs import queue
from twin.jobs.queue import Job, queued_count
from twin.scenarios.maps import BUILDERS, map_dir
from twin.scenarios.model import NAME_RE, ScenarioSpec
from twin.scenarios.run import PARTS
from twin.scenarios.spec import load_scenario, parse_scenario

bp = Blueprint("scenarios", __name__)
CONFORMANCE: list[str] = []
MAX_BODY = 64 * 1024
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STATUSES = ("queued", "running", "done", "failed")
MAX_LIST = 500  #: most jobs one listing returns


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def parse_body(content_type: str, data: bytes) -> dict[str, Any]:
    """The scenario object from a JSON (or TOML) body; `ApiError` 400/413/415 otherwise."""
    if len(data) > MAX_BODY:
        raise ApiError(413, f"the scenario is larger than {MAX_BODY // 1024} KiB")
    if not data.strip():
        raise ApiError(400, "empty body: send the scenario as a JSON object")
    kind = content_type.split(";")[0].strip().lower()
    try:
        text = data.decode("utf-8")
        if kind in ("application/toml", "text/toml"):
            body = tomllib.loads(text)
        elif kind == "application/json" or kind.endswith("+json"):
            body = json.loads(text)
        else:
            raise ApiError(415, "send the scenario as application/json (or application/toml)")
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise ApiError(400, f"the body is not valid JSON: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ApiError(400, f"the body is not valid TOML: {err}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object (a scenario), not a list or a value")
    return body


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


def _check_rate(settings: Settings, client: str) -> None:
    """At most N submissions per client per minute (shared by every API worker via the store)."""
    limit = settings.scenario_submit_per_minute
    recent = queue.recent_submissions(settings, client, 60.0)
    if limit > 0 and len(recent) >= limit:
        oldest = datetime.fromisoformat(recent[0].replace("Z", "+00:00"))
        wait = max(1, round(60 - (datetime.now(UTC) - oldest).total_seconds()))
        detail = f"at most {limit} scenario submissions per minute; try again in {wait} s"
        raise ApiError(429, detail, headers={"Retry-After": str(wait)})
    if queued_count(settings) >= settings.scenario_max_queue:
        raise ApiError(503, "the scenario queue is full; try later", headers={"Retry-After": "60"})


def _check_name(settings: Settings, spec: ScenarioSpec) -> None:
    """A submission may rerun a bundled scenario but not replace its published results."""
    shipped = bundled(settings).get(spec.name)
    if shipped is not None and shipped.sha256 != spec.sha256:
        raise ApiError(409, f"name {shipped.name!r} belongs to a bundled scenario; choose another")


@bp.post("/api/scenarios")
def submit() -> Response:
    """Validate a scenario and queue it: 202 with the job and its Location."""
    settings = _settings()
    client = queue.client_id(settings, request.remote_addr or "")
    _check_rate(settings, client)
    if (request.content_length or 0) > MAX_BODY:
        raise ApiError(413, f"the scenario is larger than {MAX_BODY // 1024} KiB")
    data = parse_body(request.content_type or "", request.stream.read(MAX_BODY + 1))
    try:
        _check_name(settings, parse_scenario(data))
        job = queue.submit(settings, data, client=client)
    except SpecError as err:
        raise ApiError(422, str(err), title="Invalid scenario") from None
    except NotFound as err:
        raise ApiError(409, f"scenarios cannot run on this store yet: {err}") from None
    resp = json_response(job_doc(settings, job), status=202)
    resp.headers["Location"] = _url(settings, f"/api/scenarios/{job.id}")
    return resp


def _url(settings: Settings, path: str) -> str:
    return settings.base_url.rstrip("/") + path


def _datasets(settings: Settings, job: Job) -> dict[str, Any]:
    """Links to each published part: catalogue record, OGC collection and versioned files."""
    out = {}
    for part, version in (job.versions or {}).items():
        name = f"scenario_{job.name}_{part}"
        files = {
            ext: _url(settings, exports.download_path(name, version, ext))
            for ext in exports.FORMATS
        }
        out[part] = {
            "name": name,
            "version": version,
            "api": _url(settings, f"/api/datasets/{name}"),
            "collection": _url(settings, f"/collections/{name}"),
            "files": files,
        }
    return out


def job_doc(settings: Settings, job: Job, *, full: bool = True) -> dict[str, Any]:
    """The public view of a job (the client hash and worker id stay private)."""
    self_url = _url(settings, f"/api/scenarios/{job.id}")
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
        "spec_sha256": job.spec_sha256,
        "error": job.error,
        "links": [{"rel": "self", "type": "application/json", "href": self_url}],
    }
    if job.status == "queued":
        doc["queue_position"] = queue.queue_position(settings, job)
    if job.status == "done" and full:
        doc["summary"] = job.summary
        doc["datasets"] = _datasets(settings, job)
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
                groups.setdefault(name, {})[part] = _url(settings, f"/api/datasets/{ds.name}")
    out = []
    for name, datasets in sorted(groups.items()):
        pages = [k for k in BUILDERS if (map_dir(settings, name) / f"{k}.html").is_file()]
        path = f"/api/scenarios/published/{name}/maps"
        maps = {k: _url(settings, f"{path}/{k}") for k in pages}
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
            "spec": _url(settings, f"/api/scenarios/bundled/{s.name}"),
        }
        for s in bundled(settings).values()
    ]
    body = {
        "jobs": [
            job_doc(settings, j, full=False)
            for j in queue.list_jobs(settings, status=status, limit=limit)
        ],
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


def _job(job_id: str) -> Job:
    if not UUID_RE.match(job_id):
        raise ApiError(404, "no such scenario job", title="Not Found")
    try:
        return queue.get_job(_settings(), job_id)
    except CivicError:
        raise ApiError(404, f"no scenario job {job_id}", title="Not Found") from None


@bp.get("/api/scenarios/<job_id>")
def show_job(job_id: str) -> Response:
    """A job's status and progress; when done its summary and links to datasets and maps."""
    job = _job(job_id)
    doc = job_doc(_settings(), job)
    tag = f"{job.id}:{job.status}:{job.progress}:{job.finished_at}"
    return json_response(doc, etag_source=tag, max_age=0)


def _map_page(settings: Settings, name: str, kind: str) -> Response:
    """A stored map page with our CSP and an ETag from the file's size and time."""
    if kind not in BUILDERS:
        raise ApiError(404, f"no map kind {kind[:40]!r}; use one of {', '.join(BUILDERS)}")
    path = map_dir(settings, name) / f"{kind}.html"
    if not path.is_file():
        raise ApiError(404, f"scenario {name} has no {kind} map", title="Not Found")
    stat = path.stat()
    tag = f"{stat.st_mtime_ns:x}-{stat.st_size:x}"
    resp = not_modified(tag) or Response(path.read_bytes(), mimetype="text/html")
    resp.set_etag(tag)
    # folium writes self-contained pages with inline scripts and styles
    resp.headers["Content-Security-Policy"] = csp(settings.tile_url, inline=True)
    return resp


@bp.get("/api/scenarios/<job_id>/maps/<kind>")
def show_map(job_id: str, kind: str) -> Response:
    """A job's result map (HTML page with a table of the largest changes below it)."""
    settings, job = _settings(), _job(job_id)
    if kind in BUILDERS and (job.status != "done" or kind not in (job.maps or [])):
        raise ApiError(404, f"job {job.id} has no {kind[:40]} map (status {job.status})")
    return _map_page(settings, job.name, kind)


@bp.get("/api/scenarios/published/<name>/maps/<kind>")
def published_map(name: str, kind: str) -> Response:
    """The latest map of a published scenario (from a job or from `civic twin run`)."""
    if not NAME_RE.match(name):
        raise ApiError(404, "no such scenario", title="Not Found")
    return _map_page(_settings(), name, kind)


_PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
_JSON = {"content": {"application/json": {"schema": {"type": "object"}}}}
_JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


def _op(op_id: str, summary: str, responses: dict[str, str], **extra: Any) -> dict[str, Any]:
    """One operation; 2xx responses are JSON (or HTML for maps), the rest problem+json."""
    content = extra.pop("content", _JSON)
    out = {
        c: {"description": t, **(_PROBLEM if c[0] in "45" else content)}
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
    scenario = {"type": "object", "description": "A scenario, as in datasets/scenarios/*.toml"}
    body = {
        "required": True,
        "content": {"application/json": {"schema": scenario}, "application/toml": {}},
    }
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
    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    submit_codes = {
        "202": "Queued; Location names the job",
        "400": "Empty body or not JSON",
        "409": "Name of a bundled scenario with other content",
        "413": "Body too large",
        "415": "Not JSON or TOML",
        "422": "Invalid scenario: the problem and the edit it is in",
        "429": "Too many submissions from this client (Retry-After)",
        "503": "Queue full (Retry-After)",
    }
    return {
        "/api/scenarios": {
            "get": _op(
                "listScenarios",
                "Scenario jobs, bundled scenarios and published scenario results",
                {"200": "Jobs, bundled and published scenarios", "400": "Bad parameter"},
                parameters=[status, limit],
            ),
            "post": _op("submitScenario", "Queue a scenario run", submit_codes, requestBody=body),
        },
        "/api/scenarios/bundled/{name}": {
            "get": _op(
                "getBundledScenario",
                "A bundled scenario's spec as JSON, to edit and submit",
                {"200": "The spec", "404": "No such bundled scenario"},
                parameters=[name],
            )
        },
        "/api/scenarios/{job_id}": {
            "get": _op(
                "getScenarioJob",
                "Status, progress and (when done) summary, datasets and maps of a job",
                {"200": "The job", "404": "No such job"},
                parameters=[_JOB_ID],
            )
        },
        "/api/scenarios/published/{name}/maps/{kind}": {
            "get": _op(
                "getPublishedScenarioMap",
                "The latest map of a published scenario",
                {"200": "The map page", "404": "No such scenario or map"},
                parameters=[name, kind],
                content=html,
            )
        },
        "/api/scenarios/{job_id}/maps/{kind}": {
            "get": _op(
                "getScenarioMap",
                "A result map (HTML) with a table of the largest changes",
                {"200": "The map page", "404": "No such job or map, or not done"},
                parameters=[_JOB_ID, kind],
                content=html,
            )
        },
    }
