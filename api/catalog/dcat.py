"""Blueprint `api.catalog.dcat`: the DCAT-AP 3 / DCAT-AP-SE catalog for harvesters (dataportal.se,
data.europa.eu) as RDF/XML, Turtle and JSON-LD, paged, plus one document per dataset IRI."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask import Blueprint, Response, current_app, request
from rdflib import Graph

from api.http import (
    MAX_COUNT,
    ApiError,
    cacheable,
    etag_for,
    negotiate,
    not_modified,
    whole_number,
)
from opendata.ingest.spec_model import NAME_RE
from opendata.metadata import dcat
from opendata.metadata.search import Entry, entries
from opendata.settings import Settings
from opendata.store.catalog import Catalog

bp = Blueprint("dcat", __name__)
CONFORMANCE: list[str] = []
#: Server preference for content negotiation: RDF/XML first (what dataportal.se harvests).
NEGOTIATED = ["application/rdf+xml", "text/turtle", "application/ld+json"]
BY_MEDIA_TYPE = {media: ext for ext, (media, _) in dcat.SERIALISATIONS.items()}


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


#: Serialisations by extension, in the order content negotiation prefers them.
FORMATS = {BY_MEDIA_TYPE[media]: media for media in NEGOTIATED}


def _ext(ext: str | None) -> str:
    if ext is None:  # no extension: the Accept header decides (406 when it names none of ours)
        return BY_MEDIA_TYPE[negotiate(FORMATS, param=None, strict=True)]
    if ext not in dcat.SERIALISATIONS:
        raise ApiError(
            404,
            f"unknown serialisation '.{ext[:20]}'; use .rdf, .ttl or .jsonld",
            title="Not Found",
        )
    return ext


def _int(name: str, default: int, high: int = MAX_COUNT) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    return whole_number(raw, name, low=1, high=high)


def _page(total: int) -> dcat.Page:
    unknown = sorted(set(request.args) - {"page", "page_size"})
    if unknown:
        raise ApiError(400, f"unknown parameter '{unknown[0][:40]}'; allowed: page, page_size")
    try:
        page = dcat.Page(_int("page", 1), _int("page_size", dcat.PAGE_SIZE, dcat.MAX_PAGE_SIZE))
    except ValueError as err:
        raise ApiError(400, str(err)) from None
    if page.number > page.last(total):
        raise ApiError(
            404, f"page {page.number} is past the last page ({page.last(total)})", title="Not Found"
        )
    return page


def _rdf_response(
    graph: Callable[[], Graph], ext: str, items: list[Entry], negotiated: bool
) -> Response:
    """The serialised graph with a strong ETag from the entries it describes; a conditional GET
    that matches is answered before the graph is built."""
    media_type = dcat.SERIALISATIONS[ext][0]
    source = "|".join(f"{i.name}:{i.version.content_hash}:{i.modified}" for i in items)
    tag = etag_for(source + media_type)
    resp = not_modified(tag, max_age=300)
    if resp is None:
        body, media_type = dcat.serialise(graph(), ext)
        resp = cacheable(Response(body, mimetype=media_type), tag, max_age=300)
    if negotiated:
        resp.vary.add("Accept")
    return resp


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
    graph = partial(dcat.catalog_graph, settings, items, page, suffix, hydra=paged)
    resp = _rdf_response(graph, chosen, items, negotiated=ext is None)
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
    graph = partial(dcat.dataset_graph, settings, item)
    return _rdf_response(graph, chosen, [item], negotiated=ext is None)


def openapi_paths(settings: object) -> dict:
    """OpenAPI 3.0 path items this blueprint serves."""
    rdf = {media: {"schema": {"type": "string"}} for media in NEGOTIATED}
    rdf["application/ld+json"] = {"schema": {}}  # a JSON-LD array or object
    problem = {"application/problem+json": {"schema": {"type": "object"}}}
    paging = [
        {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
        },
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
        "400": {"description": "Unknown or malformed parameter", "content": problem},
        "404": {"description": "No such page or dataset", "content": problem},
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
