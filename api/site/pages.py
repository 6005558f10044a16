"""Blueprint `api.site.pages`: the citizens' website. Every page is HTML for people and JSON for
programs at the same URL (`?f=json` or `Accept: application/json`), in Finnish, Swedish, English
or Danish. Handlers only parse the request, build a typed context (`pages_*` modules) and render.

The home page is served at `/` by `api.ogc.core` (which calls `home()` for HTML requests); JSON at
`/` stays the OGC API landing page.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request

from api.auth.drafts import readable_draft
from api.http import ApiError, cacheable, csp, json_response, negotiate, not_modified
from api.site import i18n, usage
from api.site.catalog import catalog_page, home_page, parse_catalog, scenario_list
from api.site.common import Site, safe_next, switch_links
from api.site.dataset import dataset_page, table_preview
from api.site.map import map_page, parse_map, preview_etag, preview_text
from api.site.openapi import openapi_paths  # noqa: F401 - part of the blueprint contract
from api.site.scenario import scenario_page
from api.site.scenario_charts import periods_geojson
from api.site.sql import sql_page
from api.site.studio_messages import withdrawn_note
from opendata.errors import NotFound
from opendata.ingest.spec_model import NAME_RE
from opendata.metadata.search import Entry, entries, entry
from opendata.settings import Settings
from opendata.store import exports
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path
from opendata.store.tiles import read_basemap

bp = Blueprint("pages", __name__)
CONFORMANCE: list[str] = []
HTML, JSON = "text/html", "application/json"


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


@bp.record_once
def _configure(state: Any) -> None:
    # `/` belongs to the OGC landing page (`api.ogc.core`); browsers get this home page there.
    state.app.extensions["civic_home_page"] = home
    # The OGC pages' templates live with the site's; their own chrome gets a translator here.
    state.app.context_processor(i18n.core_chrome)


def site_for_request() -> Site:
    """The language (query, cookie, Accept-Language) and chrome of this request."""
    s = _settings()
    lang = i18n.choose(
        request.args.get("lang"), request.cookies.get(i18n.COOKIE), request.accept_languages
    )
    args = list(request.args.items(multi=True))
    return Site(
        lang=lang,
        fallback=s.lang_fallback,
        base_url=s.base_url.rstrip("/"),
        path=request.path,
        tile_url=s.tile_url,
        tile_attribution=s.tile_attribution,
        languages=switch_links(request.path, args, lang),
    )


def wants_json() -> bool:
    """JSON when `f=json` or when the client prefers JSON to HTML (browsers get HTML)."""
    return negotiate({"html": HTML, "json": JSON}) == JSON


def _self_url(site: Site, fmt: str) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "f"]
    return f"{site.base_url}{request.path}?{urlencode([*args, ('f', fmt)])}"


def html_response(
    template: str, page: Any, site: Site, *, json_url: str | None, status: int = 200
) -> Response:
    """A rendered page with the site's headers (CSP, language, what it varies on)."""
    html = render_template(template, page=page, site=site, t=site.t, json_url=json_url)
    resp = Response(html, status=status, mimetype=HTML)
    resp.headers["Content-Security-Policy"] = csp(site.tile_url)
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Content-Language"] = site.lang
    resp.headers["Vary"] = "Accept, Accept-Language, Cookie"
    return resp


def render(template: str, page: Any, site: Site, *, status: int = 200) -> Response:
    """The page as HTML or as its JSON twin (the same dataclass, serialised)."""
    if wants_json():
        body = {"lang": site.lang, **asdict(page)}
        body["links"] = [
            {"rel": "self", "type": JSON, "href": _self_url(site, "json")},
            {"rel": "alternate", "type": HTML, "href": _self_url(site, "html")},
        ]
        resp = json_response(body, status=status)
        resp.headers["Content-Language"] = site.lang
        resp.headers["Vary"] = "Accept, Accept-Language, Cookie"
    else:
        resp = html_response(template, page, site, json_url=_self_url(site, "json"), status=status)
    return _remember_language(resp, site)


def _remember_language(resp: Response, site: Site) -> Response:
    """An explicit `?lang=` is remembered in a cookie for a year."""
    if request.args.get("lang") == site.lang:
        resp.set_cookie(i18n.COOKIE, site.lang, max_age=365 * 86400, samesite="Lax")
    return resp


def not_found(site: Site, detail: str) -> Response:
    """A 404: a friendly page for people, problem+json for programs."""
    if wants_json():
        raise ApiError(404, detail, title="Not Found")
    page = {"status": 404, "detail": detail}
    return html_response("site/error.html", page, site, json_url=None, status=404)


def gone(site: Site, detail: str) -> Response:
    """A 410 for something withdrawn: a page saying so (and when), or problem+json."""
    if wants_json():
        raise ApiError(410, detail, title="Gone")
    page = {"status": 410, "detail": detail}
    return html_response("site/error.html", page, site, json_url=None, status=410)


def _entries() -> list[Entry]:
    return entries(Catalog(_settings().catalog_url))


def _find(name: str) -> Entry | None:
    """A published dataset's entry, or a draft's for its owner (and admins)."""
    if not NAME_RE.match(name):
        return None
    found = next((i for i in _entries() if i.name == name), None)
    if found is None and (draft := readable_draft(name)) is not None:
        return entry(*draft)
    return found


def home() -> Response:
    """The citizens' home page (HTML; `api.ogc.core` calls it for `/` through the app's
    `civic_home_page` extension; the JSON of `/` is the OGC landing page, this page's twin)."""
    site = site_for_request()
    uses = usage.totals(usage.usage_file(_settings().data_dir))
    page = home_page(_entries(), uses, site)
    resp = html_response("site/index.html", page, site, json_url=f"{site.base_url}/?f=json")
    return _remember_language(resp, site)


@bp.get("/datasets")
def catalog() -> Response:
    """Search the catalog with facets, sorting and paging."""
    site = site_for_request()
    try:
        req = parse_catalog(list(request.args.items(multi=True)))
    except ValueError as err:
        raise ApiError(400, str(err)) from None
    return render("site/datasets/index.html", catalog_page(_entries(), req, site), site)


@bp.get("/datasets/<name>")
def dataset(name: str) -> Response:
    """One dataset: metadata, schema, quality, versions, map and table previews, downloads."""
    site = site_for_request()
    item = _find(name)
    if item is None:
        return not_found(site, site.t("error.no_dataset", name=name[:80]))
    settings = _settings()
    catalog = Catalog(settings.catalog_url)
    spec = catalog.dataset(name, hidden=True).spec.get("metadata", {})  # _find checked
    path = exports.stored_file(settings, item.version)
    geometry = "geometry" if exports.is_spatial(item.version) else None
    page = dataset_page(
        item,
        catalog.versions(name),
        table_preview(path, geometry),
        site,
        notes=spec.get("notes"),
    )
    if not wants_json() and item.kind != "draft":  # an owner's look is no public use
        usage.record(usage.usage_file(settings.data_dir), name, "view")
    return render("site/datasets/dataset.html", page, site)


@bp.get("/datasets/<name>/preview.geojson")
def preview(name: str) -> Response:
    """A light-weight GeoJSON preview for maps (simplified, sampled or clustered)."""
    item = _find(name)
    if item is None:
        raise ApiError(404, f"no published dataset named '{name[:80]}'", title="Not Found")
    if not exports.is_spatial(item.version):
        raise ApiError(404, f"{name} has no geometry, so no map preview", title="Not Found")
    tag = preview_etag(item.version.content_hash)
    if (cached := not_modified(tag)) is not None:
        return cached
    path = version_path(_settings(), item.version)
    text = preview_text(str(path), item.version.content_hash)
    return cacheable(Response(text, mimetype="application/geo+json"), tag, max_age=300)


@bp.get("/map")
def map_viewer() -> Response:
    """Pick layers from the catalog; the view and layers live in the URL (shareable)."""
    site = site_for_request()
    try:
        req = parse_map(list(request.args.items(multi=True)))
    except ValueError as err:
        raise ApiError(400, str(err)) from None
    page = map_page(_entries(), req, site, read_basemap(_settings()))
    return render("site/map/index.html", page, site)


@bp.get("/scenarios")
def scenarios() -> Response:
    """Every published planning scenario."""
    site = site_for_request()
    return render("site/scenarios/index.html", scenario_list(_entries(), site), site)


@bp.get("/scenarios/<name>")
def scenario(name: str) -> Response:
    """A planning scenario explained: what changed, before/after, indicators, near an address."""
    site = site_for_request()
    try:
        page = scenario_page(_settings(), _entries(), name, request.args, site)
    except NotFound:
        if note := withdrawn_note(_settings().catalog_url, name, site.t):
            return gone(site, note)
        return not_found(site, site.t("error.no_scenario", name=name[:80]))
    except ValueError as err:
        raise ApiError(400, str(err)) from None
    return render("site/scenarios/scenario.html", page, site)


@bp.get("/scenarios/<name>/periods.geojson")
def scenario_periods(name: str) -> Response:
    """The time slider's layer of a scenario page: links that queue or carry traffic in the
    morning peak, with flows and queues per quarter hour (fetched by the page, not inlined)."""
    try:
        content_hash, text = periods_geojson(_settings(), _entries(), name)
    except NotFound as err:
        raise ApiError(404, str(err), title="Not Found") from None
    tag = f"periods-{content_hash[:32]}"
    if (cached := not_modified(tag)) is not None:
        return cached
    return cacheable(Response(text, mimetype="application/geo+json"), tag, max_age=300)


@bp.get("/sql")
def sql() -> Response:
    """Read-only SQL for people: an editor, example queries per dataset, the answer as a table
    (run server-side, so it works without JavaScript) with CSV and JSON downloads."""
    site = site_for_request()
    page = sql_page(_settings(), _entries(), request.args.get("sql", ""), site)
    if page.error and wants_json():
        raise ApiError(page.error.status, page.error.detail, title=page.error.title)
    return render("site/sql.html", page, site, status=page.error.status if page.error else 200)


@bp.get("/language")
def language() -> Response:
    """Switch the UI language (a cookie) and go back to `next`."""
    lang = request.args.get("lang", "")
    if lang not in i18n.LANGUAGES:
        raise ApiError(400, f"lang must be one of {', '.join(i18n.LANGUAGES)}")
    resp = redirect(safe_next(request.args.get("next")), code=303)
    resp.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="Lax")
    return resp


@bp.after_app_request
def _count_downloads(resp: Response) -> Response:
    """Count whole-file downloads (not ranges or revalidations) for "most used"."""
    if request.endpoint == "files.download" and request.method == "GET":
        if resp.status_code == 200 and request.view_args:
            data_dir = _settings().data_dir
            usage.record(usage.usage_file(data_dir), request.view_args["name"], "download")
    return resp
