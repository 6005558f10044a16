"""Blueprint `api.scenario_writes`: the scenario routes that change something (submit; later
publish, withdraw, delete). Every one needs a signed-in user or an API token with the
`scenarios` right, and none is open to other origins (no CORS, see `api.app.NO_CORS`)."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, request

from api.auth.access import require
from api.auth.accounts import User
from api.http import ApiError, json_response
from api.scenario_schema import DRY_RUN_SCHEMA, SCENARIO_SCHEMA
from api.scenarios import JOB_ID, absolute, bundled, job_doc, operation, visible_job
from opendata.errors import NotFound, SpecError
from opendata.settings import Settings
from twin.jobs import queue
from twin.jobs.queue import Job, queued_count
from twin.scenarios import drafts
from twin.scenarios.dryrun import dry_run
from twin.scenarios.model import ScenarioSpec
from twin.scenarios.spec import parse_scenario

bp = Blueprint("scenario_writes", __name__)
CONFORMANCE: list[str] = []
MAX_BODY = 64 * 1024


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


def _check_name(settings: Settings, spec: ScenarioSpec, user: User) -> None:
    """A run is a draft of its owner: it may not reuse a bundled scenario's name with other
    content, a published or withdrawn result's name, or another user's draft name."""
    shipped = bundled(settings).get(spec.name)
    if shipped is not None and shipped.sha256 != spec.sha256:
        raise ApiError(409, f"name {shipped.name!r} belongs to a bundled scenario; choose another")
    state = drafts.state(settings, spec.name)
    if state in ("scenario", "withdrawn"):
        kind = "published" if state == "scenario" else "withdrawn"
        raise ApiError(409, f"results named {spec.name!r} are {kind}; choose another name")
    if state == "draft" and queue.owners_of(settings, spec.name) - {user.name}:
        raise ApiError(409, f"the name {spec.name!r} is taken by another draft; choose another")


@bp.post("/api/scenarios")
def submit() -> Response:
    """Validate a scenario and queue it: 202 with the job and its Location."""
    user = require("scenarios")
    settings = _settings()
    client = queue.client_id(settings, request.remote_addr or "")
    _check_rate(settings, client)
    if (request.content_length or 0) > MAX_BODY:
        raise ApiError(413, f"the scenario is larger than {MAX_BODY // 1024} KiB")
    data = parse_body(request.content_type or "", request.stream.read(MAX_BODY + 1))
    try:
        _check_name(settings, parse_scenario(data), user)
        job = queue.submit(settings, data, client=client, owner=user.name)
    except SpecError as err:
        raise ApiError(422, str(err), title="Invalid scenario") from None
    except NotFound as err:
        raise ApiError(409, f"scenarios cannot run on this store yet: {err}") from None
    resp = json_response(job_doc(settings, job), status=202)
    resp.headers["Location"] = absolute(settings, f"/api/scenarios/{job.id}")
    return resp


def _owned(job_id: str, user: User) -> Job:
    """A job the caller may change: 404 when they may not even see it, 403 when they see it
    (it is published) but it is someone else's and they are no admin."""
    job = visible_job(job_id)
    if job.owner != user.name and not user.may("others"):
        raise ApiError(
            403, "only its owner or an admin may change this scenario", title="Forbidden"
        )
    return job


def _texts(body: dict[str, Any], key: str, *, required: bool, limit: int) -> dict[str, str]:
    """`title`/`description` in fi, sv and en: each a non-empty string up to `limit` chars."""
    value = body.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or set(value) != set(drafts.LANGS):
        raise ApiError(422, f"{key}: give an object with exactly fi, sv and en", title="Invalid")
    for lang, text in value.items():
        if not isinstance(text, str) or not 0 < len(text.strip()) <= limit:
            raise ApiError(422, f"{key}.{lang}: text of 1 to {limit} characters", title="Invalid")
    return {lang: text.strip() for lang, text in value.items()}


@bp.post("/api/scenarios/validate")
def validate() -> Response:
    """A dry run (no job): what each edit resolves to on the network, what stops it running,
    and the closest real street names for a name that matches nothing."""
    require("scenarios")
    data = parse_body(request.content_type or "", request.get_data()[: MAX_BODY + 1])
    try:
        return json_response(dry_run(_settings(), parse_scenario(data)))
    except SpecError as err:
        raise ApiError(422, str(err), title="Invalid scenario") from None
    except NotFound as err:
        raise ApiError(409, f"scenarios cannot run on this store yet: {err}") from None


@bp.post("/api/scenarios/<job_id>/publish")
def publish(job_id: str) -> Response:
    """Make a finished draft open data, with its title (and description) in fi, sv and en."""
    user, settings = require("scenarios"), _settings()
    job = _owned(job_id, user)
    body = parse_body(request.content_type or "", request.get_data()[: MAX_BODY + 1])
    title = _texts(body, "title", required=True, limit=200)
    description = _texts(body, "description", required=False, limit=2000)
    if job.visibility != "draft" or job.status != "done":
        state = job.visibility if job.status == "done" else job.status
        raise ApiError(409, f"only a finished draft can be published; this one is {state}")
    drafts.publish_draft(settings, job.name, title, description)
    queue.update(settings, job.id, visibility="published", changed_at=queue.now())
    return json_response(job_doc(settings, queue.get_job(settings, job.id)))


@bp.delete("/api/scenarios/<job_id>")
def delete(job_id: str) -> Response:
    """A draft (or a queued run) is deleted with its files: 204. A published run is withdrawn:
    gone from every listing and feed, its versions kept for the record: 200 with the job."""
    user, settings = require("scenarios"), _settings()
    job = _owned(job_id, user)
    if job.status == "running":
        raise ApiError(409, "the run is in progress; delete it when it has finished")
    if job.visibility == "withdrawn":
        raise ApiError(409, f"the scenario was withdrawn already, at {job.changed_at}")
    if job.public:
        drafts.withdraw(settings, job.name)
        queue.update(settings, job.id, visibility="withdrawn", changed_at=queue.now())
        return json_response(job_doc(settings, queue.get_job(settings, job.id)))
    if job.status == "done":
        drafts.delete_draft(settings, job.name)
    queue.delete_job(settings, job.id)
    return Response(status=204)


#: What every write route may answer besides its own codes.
AUTH_CODES = {
    "401": "No valid API token or session (WWW-Authenticate: Bearer)",
    "403": "The user's role does not allow this",
}
SECURITY = [{"bearerAuth": []}]


def openapi_paths(settings: Settings) -> dict[str, Any]:
    """OpenAPI 3.0 path items this blueprint serves (full request bodies, auth answers)."""
    body = {
        "required": True,
        "content": {
            "application/json": {"schema": SCENARIO_SCHEMA},
            "application/toml": {"schema": {"type": "string"}},
        },
    }
    submit_codes = {
        "202": "Queued as a draft of the caller; Location names the job",
        "400": "Empty body, not JSON, or a missing CSRF token (session sign-in)",
        **AUTH_CODES,
        "409": "Name of a bundled scenario with other content",
        "413": "Body too large",
        "415": "Not JSON or TOML",
        "422": "Invalid scenario: the problem and the edit it is in",
        "429": "Too many submissions from this client (Retry-After)",
        "503": "Queue full (Retry-After)",
    }
    texts = {
        "type": "object",
        "required": ["fi", "sv", "en"],
        "additionalProperties": False,
        "properties": {k: {"type": "string", "minLength": 1} for k in ("fi", "sv", "en")},
    }
    publish_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["title"],
                    "properties": {"title": texts, "description": texts},
                }
            }
        },
    }
    mine = {"404": "No such job, or another user's draft", **AUTH_CODES}
    return {
        "/api/scenarios/validate": {
            "post": operation(
                "validateScenario",
                "Dry run: what the edits resolve to on the network (streets, links, problems)",
                {
                    "200": "Each edit resolved; `valid`, `problem`, name suggestions, and "
                    "the zones a closure cuts off (`cut_off`, with centroids)",
                    "400": "Empty body or not JSON",
                    **AUTH_CODES,
                    "409": "No published roads yet",
                    "413": "Body too large",
                    "415": "Not JSON or TOML",
                    "422": "Not a scenario (the key path and problem)",
                },
                requestBody=body,
                security=SECURITY,
                content={"content": {"application/json": {"schema": DRY_RUN_SCHEMA}}},
            )
        },
        "/api/scenarios/{job_id}/publish": {
            "post": operation(
                "publishScenario",
                "Publish a finished draft as open data, titled in fi, sv and en",
                {
                    "200": "Published: the job",
                    "400": "Not JSON",
                    **mine,
                    "409": "Not a finished draft",
                    "422": "Titles missing or empty",
                },
                parameters=[JOB_ID],
                requestBody=publish_body,
                security=SECURITY,
            )
        },
        "/api/scenarios/{job_id}": {
            "delete": operation(
                "deleteScenario",
                "Delete a draft with its files, or withdraw a published scenario",
                {
                    "200": "Withdrawn: the job",
                    "204": "Draft deleted",
                    **mine,
                    "409": "Running, or withdrawn already",
                },
                parameters=[JOB_ID],
                security=SECURITY,
            )
        },
        "/api/scenarios": {
            "post": operation(
                "submitScenario",
                "Queue a scenario run (needs a planner, publisher or admin)",
                submit_codes,
                requestBody=body,
                security=SECURITY,
            ),
        },
    }
