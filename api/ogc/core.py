"""The API's front door: landing page, conformance, the OpenAPI document and a health check.

`/conformance` and `/openapi` only collect what every blueprint module in
`api.app.BLUEPRINT_MODULES` declares (`CONFORMANCE`, `openapi_paths(settings)`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template

from api.http import allow_params, json_response, negotiate, vary_on_accept
from api.ogc.features import DOC_FORMATS
from api.ogc.render import url
from opendata.settings import Settings

bp = Blueprint("core", __name__)
bp.after_request(vary_on_accept)
CONFORMANCE: list[str] = []
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def _modules() -> list[Any]:
    """The blueprint modules of the running app (the factory records them; no import cycle)."""
    return current_app.extensions["civic_blueprint_modules"]


def landing_doc(settings: Settings) -> dict[str, Any]:
    """The landing page: what this service is and where everything is."""
    base = settings.base_url

    def link(rel: str, path: str, kind: str, title: str, **params: str) -> dict[str, str]:
        return {"rel": rel, "type": kind, "title": title, "href": url(base, path, params or None)}

    return {
        "title": "Civic open data API",
        "description": "The city's published datasets as OGC API - Features, with CRS, "
        "CQL2 filtering "
        "and an OpenAPI description.",
        "links": [
            link("self", "/", "application/json", "this document", f="json"),
            link("alternate", "/", "text/html", "this document as HTML", f="html"),
            link("service-desc", "/openapi", OPENAPI, "the API definition (OpenAPI 3.0)", f="json"),
            link("service-doc", "/openapi", "text/html", "the API documentation", f="html"),
            link(
                "conformance", "/conformance", "application/json", "conformance classes", f="json"
            ),
            link(
                "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                "/conformance",
                "application/json",
                "conformance classes",
                f="json",
            ),
            link("data", "/collections", "application/json", "the feature collections", f="json"),
            link(
                "http://www.opengis.net/def/rel/ogc/1.0/data",
                "/collections",
                "application/json",
                "the feature collections",
                f="json",
            ),
        ],
    }


def conformance_classes() -> list[str]:
    """Every conformance class any blueprint module declares, once, in declaration order."""
    return list(dict.fromkeys(uri for module in _modules() for uri in module.CONFORMANCE))


HTTP_METHODS = {"get", "head", "post", "put", "patch", "delete", "options"}
#: Any operation: the HTTP server (gunicorn) refuses a request line over 4,094 bytes itself.
URI_TOO_LONG = {"description": "URI Too Long: the request line is over 4,094 bytes"}


def _contact(settings: Settings) -> dict[str, Any]:
    """`info.contact` from the city's settings (city.toml): who answers questions about the API."""
    city = settings.city
    contact = {
        "name": city.contact_name or city.publisher_name,
        "email": city.contact_email,
        "url": city.homepage or city.publisher_uri,
    }
    contact = {k: v for k, v in contact.items() if v}
    return {"contact": contact} if contact else {}


def openapi_document(settings: Settings) -> dict[str, Any]:
    """One OpenAPI 3.0.3 document merging every module's path items."""
    paths: dict[str, Any] = {}
    for module in _modules():
        for path, item in module.openapi_paths(settings).items():
            paths.setdefault(path, {}).update(item)
    for item in paths.values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                operation["responses"] = {**operation["responses"], "414": URI_TOO_LONG}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Civic open data API",
            "version": "1.0.0",
            "description": "OGC API - Features (Parts 1-3), files, catalogue, SQL, DCAT and CKAN.",
            "license": {"name": "EUPL-1.2"},
            **_contact(settings),
        },
        "servers": [{"url": settings.base_url}],
        "paths": dict(sorted(paths.items())),
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


def openapi_paths(settings: Settings) -> dict[str, Any]:
    """OpenAPI 3.0 path items this blueprint serves."""
    f = {
        "name": "f",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["json", "html"]},
    }

    lang = {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "Language of the HTML page (the home page remembers it in a cookie)",
        "schema": {"type": "string", "enum": ["fi", "sv", "en", "da"]},
    }

    problem = {"application/problem+json": {"schema": {"type": "object"}}}
    errors = {
        "400": {"description": "Unknown parameter or format (problem+json)", "content": problem},
        "503": {"description": "The catalog is unreachable (problem+json)", "content": problem},
    }

    def get(
        op: str, summary: str, kind: str, params: list | None = None, html: bool = True
    ) -> dict[str, Any]:
        content = {kind: {"schema": {"type": "object"}}}
        if html:
            content["text/html"] = {"schema": {"type": "string"}}
        return {
            "get": {
                "tags": ["Capabilities"],
                "operationId": op,
                "summary": summary,
                "parameters": params if params is not None else [f],
                "responses": {"200": {"description": summary, "content": content}, **errors},
            }
        }

    return {
        "/": get("getLandingPage", "Landing page", "application/json", [f, lang]),
        "/conformance": get("getConformance", "Conformance classes", "application/json"),
        "/openapi": get("getOpenAPI", "This API definition", OPENAPI, [f, lang]),
    }


@bp.get("/")
def landing() -> Response:
    allow_params({"f", "lang"})  # `lang` picks the language of the citizens' home page
    mimetype, doc = negotiate(DOC_FORMATS), landing_doc(_settings())
    if mimetype == "text/html":
        # Browsers get the citizens' home page, which the site registers with the app, so the
        # OGC landing page does not depend on the site's code.
        return current_app.extensions["civic_home_page"]()
    return json_response(doc)


@bp.get("/conformance")
def conformance() -> Response:
    allow_params({"f"})
    mimetype, doc = negotiate(DOC_FORMATS), {"conformsTo": conformance_classes()}
    if mimetype == "text/html":
        json_url = url(_settings().base_url, "/conformance", {"f": "json"})
        return Response(render_template("core/conformance.html", doc=doc, json_url=json_url))
    return json_response(doc)


@bp.get("/openapi")
def openapi() -> Response:
    allow_params({"f", "lang"})  # `lang`: the language of the HTML page's own chrome
    mimetype = negotiate({"json": OPENAPI, "html": "text/html"})
    doc = openapi_document(_settings())
    if mimetype == "text/html":
        json_url = url(_settings().base_url, "/openapi", {"f": "json"})
        page = render_template("core/openapi.html", doc=doc, json_url=json_url, json_type=OPENAPI)
        return Response(page)
    return json_response(doc, mimetype=OPENAPI)
