"""Blueprint `api.site.studio`: the planners' studio. Sign-in with a password (argon2 hashes,
lock-out per name and client address, see `api.auth.throttle`), sign-out, and the signed-in
planner's own scenario runs. Every form carries a CSRF token; every page is private
(`Cache-Control: no-store`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request, session

from api.auth import accounts
from api.auth.access import csrf, current_user
from api.site import i18n
from api.site.pages import html_response, site_for_request
from api.site.scenario_data import MIN_FLOW_CHANGE
from api.site.studio_messages import script_strings
from opendata.errors import NotFound, SpecError
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from twin.jobs import queue
from twin.scenarios.spec import load_scenario

bp = Blueprint("studio", __name__)
CONFORMANCE: list[str] = []


@dataclass(frozen=True)
class SignInPage:
    """The sign-in form: where to go next and what went wrong (if anything)."""

    next: str = "/studio"
    error: str = ""


@dataclass(frozen=True)
class StudioPage:
    """The signed-in user, their runs (newest first), bundled scenarios to start from, and the
    strings the page's script shows (in the page language)."""

    user: str
    role: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    bundled: list[dict[str, str]] = field(default_factory=list)
    strings: dict[str, str] = field(default_factory=dict)
    map: dict[str, Any] = field(default_factory=dict)  #: tiles, attribution, bbox of the roads


def _map_config(settings: Settings) -> dict[str, Any]:
    """What the studio maps show: the basemap, the extent of the published roads, and the
    smallest flow change the result map colours (the site's scenario pages use the same)."""
    try:
        bbox = Catalog(settings.catalog_url).version("roads").bbox or list(settings.city_bbox)
    except NotFound:
        bbox = list(settings.city_bbox)
    return {"tiles": settings.tile_url, "basemap": "/tiles/basemap.pmtiles",
            "attribution": settings.tile_attribution, "bbox": bbox,
            "min_change": MIN_FLOW_CHANGE}  # fmt: skip


def _bundled(settings: Settings, lang: str) -> list[dict[str, str]]:
    """The bundled scenarios (name and title in `lang`), to start a new one from."""
    out = []
    for path in sorted((settings.datasets_dir / "scenarios").glob("*.toml")):
        try:
            spec = load_scenario(path)
        except SpecError:  # a broken file is reported by the API listing; skip it here
            continue
        out.append({"name": spec.name, "title": spec.title.get(lang) or spec.title["en"]})
    return out


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def _private(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _render(template: str, page: Any, *, status: int = 200) -> Response:
    site = site_for_request()
    resp = html_response(template, page, site, json_url=None, status=status)
    if request.args.get("lang") == site.lang:  # the language switch is remembered, as site-wide
        resp.set_cookie(i18n.COOKIE, site.lang, max_age=365 * 86400, samesite="Lax")
    return _private(resp)


def _next_path(value: str | None) -> str:
    """Only a path inside the studio: never an open redirect."""
    return value if value and value.startswith("/studio") and "//" not in value else "/studio"


@bp.get("/studio/signin")
def signin_form() -> Response:
    """The sign-in form (a CSRF token is issued with it)."""
    return _render("site/studio/signin.html", SignInPage(next=_next_path(request.args.get("next"))))


@bp.post("/studio/signin")
def signin() -> Response:
    """Check name and password; a new session (id rotated, so no fixation) on success."""
    csrf.protect()
    name = request.form.get("name", "").strip().lower()[:64]
    password = request.form.get("password", "")[:1024]
    target = _next_path(request.form.get("next"))
    throttle, address = current_app.extensions["civic_signin_throttle"], request.remote_addr or ""
    if refused := throttle.refusal(name, address):  # before argon2: a locked pair costs nothing
        resp = _render("site/studio/signin.html", SignInPage(target, refused[0]), status=429)
        resp.headers["Retry-After"] = str(refused[1])
        return resp
    try:
        sid = accounts.sign_in(_settings().catalog_url, name, password)
    except accounts.AccountError as err:
        throttle.failed(name, address)
        return _render("site/studio/signin.html", SignInPage(target, str(err)), status=401)
    throttle.succeeded(name, address)
    session.clear()
    session.permanent = True
    session["sid"] = sid
    return _private(redirect(target, code=303))


@bp.post("/studio/signout")
def signout() -> Response:
    """End the session in the database and forget the cookie."""
    csrf.protect()
    sid = session.get("sid")
    if isinstance(sid, str):
        accounts.end_session(_settings().catalog_url, sid)
    session.clear()
    return _private(redirect("/studio/signin", code=303))


@bp.get("/studio")
def studio_home() -> Response:
    """The signed-in planner's runs; anonymous visitors are sent to the sign-in form."""
    user = current_user()
    if user is None or request.headers.get("Authorization"):
        return _private(redirect("/studio/signin?next=/studio", code=303))
    jobs = queue.list_jobs(_settings(), owner=user.name, limit=100)
    runs = [
        {
            "id": j.id,
            "name": j.name,
            "status": j.status,
            "visibility": str(j.visibility),
            "submitted": j.submitted_at,
        }
        for j in jobs
    ]
    site = site_for_request()
    lang, strings = site.lang, script_strings(site.t)
    settings = _settings()
    page = StudioPage(
        user.name, user.role, runs, _bundled(settings, lang), strings, _map_config(settings)
    )
    return _render("site/studio/index.html", page)


_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
_PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
_FORM = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 64},
                    "password": {"type": "string", "maxLength": 1024},
                    "next": {"type": "string"},
                    "csrf_token": {"type": "string"},
                },
                "required": ["csrf_token"],
            }
        }
    },
}


def _page(op_id: str, summary: str, codes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "tags": ["Studio"],
        "operationId": op_id,
        "summary": summary,
        "responses": codes,
        **extra,
    }


def openapi_paths(settings: Settings) -> dict[str, Any]:
    """The studio's pages: HTML for people; forms need the CSRF token the form page issues."""
    to = {"description": "Redirect (See Other)"}
    bad = {"description": "Missing or wrong CSRF token", **_PROBLEM}
    nxt = {"name": "next", "in": "query", "schema": {"type": "string"}}
    return {
        "/studio": {
            "get": _page(
                "studio",
                "The signed-in planner's runs",
                {"200": {"description": "The page", **_HTML}, "303": to},
            )
        },
        "/studio/signin": {
            "get": _page(
                "studioSignInForm",
                "The sign-in form",
                {"200": {"description": "The form", **_HTML}},
                parameters=[nxt],
            ),
            "post": _page(
                "studioSignIn",
                "Sign in with name and password",
                {
                    "303": to,
                    "400": bad,
                    "401": {"description": "Wrong name or password, or locked", **_HTML},
                },
                requestBody=_FORM,
            ),
        },
        "/studio/signout": {
            "post": _page(
                "studioSignOut", "End the session", {"303": to, "400": bad}, requestBody=_FORM
            ),
        },
    }
