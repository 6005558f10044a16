"""Blueprint `api.dcat`: the DCAT-AP 3 / DCAT-AP-SE catalog for harvesters (dataportal.se,
data.europa.eu) as RDF/XML, Turtle and JSON-LD, paged, plus one document per dataset IRI."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, request

from api.http import ApiError
from opendata import dcat
from opendata.catalog import Catalog
from opendata.search import Entry, entries
from opendata.settings import Settings
from opendata.specs import NAME_RE

bp = Blueprint("dcat", __name__)
CONFORMANCE: list[str] = []
#: Server preference for content negotiation: RDF/XML first (what dataportal.se harvests).
NEGOTIATED = ["application/rdf+xml", "text/turtle", "application/ld+json"]
BY_MEDIA_TYPE = {media: ext for ext, (media, _) in dcat.SERIALISATIONS.items()}


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def _negotiate() -> str:
    best = request.accept_mimetypes.best_match(NEGOTIATED, default=None)
    if not request.accept_mimetypes:
        best = NEGOTIATED[0]
    if best is None:
        raise ApiError(
            406, "this resource is available as " + ", ".join(NEGOTIATED), title="Not Acceptable"
        )
    return BY_MEDIA_TYPE[best]


def _ext(ext: str | None) -> str:
    if ext is None:
        return _negotiate()
    if ext not in dcat.SERIALISATIONS:
        raise ApiError(
            404,
            f"unknown serialisation '.{ext[:20]}'; use .rdf, .ttl or .jsonld",
            title="Not Found",
        )
    return ext


def _int(name: str, default: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit():
        raise ApiError(400, f"'{name}' must be a positive whole number, got {raw[:40]!r}")
    return int(raw)


def _page(total: int) -> dcat.Page:
    unknown = sorted(set(request.args) - {"page", "page_size"})
    if unknown:
        raise ApiError(400, f"unknown parameter '{unknown[0][:40]}'; allowed: page, page_size")
    try:
        page = dcat.Page(_int("page", 1), _int("page_size", dcat.PAGE_SIZE))
    except ValueError as err:
        raise ApiError(400, str(err)) from None
    if page.number > page.last(total):
        raise ApiError(
            404, f"page {page.number} is past the last page ({page.last(total)})", title="Not Found"
        )
    return page


def _rdf_response(
    graph_bytes: bytes, media_type: str, items: list[Entry], negotiated: bool
) -> Response:
    resp = Response(graph_bytes, mimetype=media_type)
    source = "|".join(f"{i.name}:{i.version.content_hash}:{i.modified}" for i in items)
    resp.set_etag(
        hashlib.sha256((source + request.full_path + media_type).encode()).hexdigest()[:32]
    )
    resp.headers["Cache-Control"] = "public, max-age=300"
    if negotiated:
        resp.headers["Vary"] = "Accept"
    return resp.make_conditional(request)


@bp.get("/dcat/catalog", defaults={"ext": None})
@bp.get("/dcat/catalog.<ext>")
def catalog(ext: str | None) -> Response:
    """The whole catalog, paged with `page`/`page_size` (hydra:PagedCollection + Link headers)."""
    chosen = _ext(ext)
    settings = _settings()
    items = entries(Catalog(settings.catalog_url))
    page = _page(len(items))
    suffix = f".{ext}" if ext else ""
    # One page holding everything needs no paging triples (so every serialisation of the
    # catalog is the same graph); asked-for or needed paging is described with hydra.
    paged = page.last(len(items)) > 1 or bool(request.args)
    graph = dcat.catalog_graph(settings, items, page, suffix, hydra=paged)
    body, media_type = dcat.serialise(graph, chosen)
    resp = _rdf_response(body, media_type, items, negotiated=ext is None)
    iris = dcat.Iris(settings.base_url)
    link = [
        f'<{dcat.page_url(iris, page, 1, suffix)}>; rel="first"',
        f'<{dcat.page_url(iris, page, page.last(len(items)), suffix)}>; rel="last"',
    ]
    if page.number < page.last(len(items)):
        link.append(f'<{dcat.page_url(iris, page, page.number + 1, suffix)}>; rel="next"')
    if page.number > 1:
        link.append(f'<{dcat.page_url(iris, page, page.number - 1, suffix)}>; rel="prev"')
    resp.headers["Link"] = ", ".join(link)
    return resp


@bp.get("/dcat/datasets/<name>", defaults={"ext": None})
@bp.get("/dcat/datasets/<name>.<ext>")
def dataset(name: str, ext: str | None) -> Response:
    """One dataset's DCAT-AP description (what its dataset IRI dereferences to)."""
    chosen = _ext(ext)
    if not NAME_RE.match(name):
        raise ApiError(404, f"no dataset named '{name[:80]}'", title="Not Found")
    settings = _settings()
    item = next((i for i in entries(Catalog(settings.catalog_url)) if i.name == name), None)
    if item is None:
        raise ApiError(404, f"no published dataset named '{name}'", title="Not Found")
    body, media_type = dcat.serialise(dcat.dataset_graph(settings, item), chosen)
    return _rdf_response(body, media_type, [item], negotiated=ext is None)


def openapi_paths(settings: object) -> dict:
    """OpenAPI 3.0 path items this blueprint serves."""
    rdf = {media: {"schema": {"type": "string"}} for media in NEGOTIATED}
    paging = [
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {
            "name": "page_size",
            "in": "query",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": dcat.MAX_PAGE_SIZE,
                "default": dcat.PAGE_SIZE,
            },
        },
    ]
    ext = {
        "name": "ext",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(dcat.SERIALISATIONS)},
    }
    name = {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": NAME_RE.pattern},
    }
    ok = {
        "200": {"description": "DCAT-AP 3 / DCAT-AP-SE RDF", "content": rdf},
        "404": {"description": "No such page or dataset"},
    }
    return {
        "/dcat/catalog": {
            "get": {
                "tags": ["DCAT"],
                "operationId": "dcatCatalog",
                "summary": "The DCAT-AP catalog (content negotiation)",
                "parameters": paging,
                "responses": ok | {"406": {"description": "No acceptable RDF media type"}},
            }
        },
        "/dcat/catalog.{ext}": {
            "get": {
                "tags": ["DCAT"],
                "operationId": "dcatCatalogAs",
                "summary": "The DCAT-AP catalog as .rdf, .ttl or .jsonld",
                "parameters": [ext, *paging],
                "responses": ok,
            }
        },
        "/dcat/datasets/{name}": {
            "get": {
                "tags": ["DCAT"],
                "operationId": "dcatDataset",
                "summary": "One dataset's DCAT-AP description",
                "parameters": [name],
                "responses": ok,
            }
        },
        "/dcat/datasets/{name}.{ext}": {
            "get": {
                "tags": ["DCAT"],
                "operationId": "dcatDatasetAs",
                "summary": "One dataset's DCAT-AP description",
                "parameters": [name, ext],
                "responses": ok,
            }
        },
    }
