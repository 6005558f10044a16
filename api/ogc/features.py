"""OGC API - Features: collections, items, single features and queryables (Parts 1, 2 and 3).

Handlers only parse (`api.ogc.query`), call `opendata.query.items` and render (`api.ogc.render`).
Items responses carry a strong ETag derived from the immutable version's content hash and the
request, checked *before* the query runs, so a conditional GET costs no data access.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from api.auth.drafts import readable_draft
from api.http import (
    ApiError,
    allow_params,
    etag_for,
    json_response,
    negotiate,
    not_modified,
    vary_on_accept,
)
from api.ogc import query as fq
from api.ogc import render as fr
from api.ogc.openapi import openapi_paths  # noqa: F401 - part of the blueprint contract
from opendata.query import items as query
from opendata.query.tables import QueryError, extent_of, source
from opendata.settings import Settings
from opendata.store.publish import version_path

bp = Blueprint("features", __name__)
OGC = "http://www.opengis.net/spec/"
CONFORMANCE = [
    OGC + "ogcapi-features-1/1.0/conf/core",
    OGC + "ogcapi-features-1/1.0/conf/geojson",
    OGC + "ogcapi-features-1/1.0/conf/html",
    OGC + "ogcapi-features-1/1.0/conf/oas30",
    OGC + "ogcapi-features-2/1.0/conf/crs",
    OGC + "ogcapi-features-3/1.0/conf/queryables",
    OGC + "ogcapi-features-3/1.0/conf/queryables-query-parameters",
    OGC + "ogcapi-features-3/1.0/conf/filter",
    OGC + "ogcapi-features-3/1.0/conf/features-filter",
    OGC + "cql2/1.0/conf/cql2-text",
    OGC + "cql2/1.0/conf/cql2-json",
    OGC + "cql2/1.0/conf/basic-cql2",
    OGC + "cql2/1.0/conf/advanced-comparison-operators",
    OGC + "cql2/1.0/conf/basic-spatial-functions",
    OGC + "cql2/1.0/conf/basic-spatial-functions-plus",
    OGC + "cql2/1.0/conf/spatial-functions",
]
FEATURE_FORMATS = {"json": fr.GEOJSON, "geojson": fr.GEOJSON, "html": "text/html"}
DOC_FORMATS = {"json": "application/json", "html": "text/html"}


def settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def get_collection(name: str) -> fq.Collection:
    s = settings()
    if s.store_is_remote:  # this host's cached copy of the version file, fetched once
        entry = fq.current(s.catalog_url).get(name) or fq.current(s.catalog_url, fresh=True).get(
            name
        )
        if entry is not None:
            version_path(s, entry[1])
    try:
        return fq.collection(s.catalog_url, str(s.store_dir), name)
    except ApiError as err:
        draft = readable_draft(name) if err.status == 404 else None
        if draft is None:
            raise
    path = version_path(s, draft[1])  # the owner's draft: same 404 for everyone else
    return fq.Collection(draft[0], draft[1], str(path), source(str(path)))


def text_response(body: str, mimetype: str, tag: str, crs: str) -> Response:
    resp = Response(body, mimetype=mimetype)
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "public, max-age=60"
    resp.headers["Content-Crs"] = f"<{crs}>"
    return resp


bp.after_request(vary_on_accept)


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def run(fn: Any, *args: Any) -> Any:
    """Call the query layer; a query the data cannot answer is the client's 400."""
    try:
        return fn(*args)
    except QueryError as err:
        raise ApiError(400, str(err)) from None


@bp.get("/collections")
def collections() -> Response:
    allow_params({"f"})
    mimetype, s = negotiate(DOC_FORMATS), settings()
    docs = []
    for name in fq.current(s.catalog_url, fresh=True):
        coll = get_collection(name)
        docs.append(fr.collection_doc(coll, s.base_url, extent_of(coll.path)))
    body = {
        "links": [
            {
                "rel": "self",
                "type": "application/json",
                "href": fr.url(s.base_url, "/collections", {"f": "json"}),
            },
            {
                "rel": "alternate",
                "type": "text/html",
                "href": fr.url(s.base_url, "/collections", {"f": "html"}),
            },
        ],
        "collections": docs,
    }
    if mimetype == "text/html":
        return Response(
            render_template("collections/index.html", doc=body, json_url=body["links"][0]["href"])
        )
    return json_response(body)


@bp.get("/collections/<collectionId>")
def collection(collectionId: str) -> Response:  # noqa: N803 - the OpenAPI parameter name
    allow_params({"f"})
    mimetype, s = negotiate(DOC_FORMATS), settings()
    coll = get_collection(collectionId)
    doc = fr.collection_doc(coll, s.base_url, extent_of(coll.path))
    if mimetype == "text/html":
        return Response(
            render_template(
                "collections/collection.html", doc=doc, json_url=doc["links"][0]["href"]
            )
        )
    return json_response(doc, etag_source=f"{coll.version.content_hash}|json")


@bp.get("/collections/<collectionId>/queryables")
def queryables(collectionId: str) -> Response:  # noqa: N803
    allow_params({"f"})
    mimetype, s = negotiate({"json": "application/schema+json", "html": "text/html"}), settings()
    coll = get_collection(collectionId)
    doc = fr.queryables_doc(coll, s.base_url, fq.queryables(coll.source))
    if mimetype == "text/html":
        return Response(
            render_template(
                "collections/queryables.html",
                doc=doc,
                collection_id=coll.id,
                json_url=fr.url(s.base_url, f"/collections/{coll.id}/queryables", {"f": "json"}),
                json_type="application/schema+json",
            )
        )
    return json_response(
        doc, mimetype="application/schema+json", etag_source=coll.version.content_hash
    )


@bp.get("/collections/<collectionId>/items")
def items(collectionId: str) -> Response:  # noqa: N803
    mimetype, s = negotiate(FEATURE_FORMATS), settings()
    coll = get_collection(collectionId)
    params = request.args.to_dict()
    q = fq.parse_items(
        params, coll, default_limit=s.items_default_limit, max_limit=s.items_max_limit
    )
    tag = etag_for(f"{coll.version.content_hash}|{mimetype}")
    if (cached := not_modified(tag)) is not None:
        return cached
    page, matched = run(query.features, coll.path, q)
    html = mimetype == "text/html"
    path = f"/collections/{coll.id}/items"
    links = fr.items_links(
        s.base_url,
        path,
        params,
        offset=q.offset,
        limit=q.limit,
        returned=page.num_rows,
        matched=matched,
        html=html,
    )
    if html:
        body = render_template("collections/items/index.html", coll=coll, page=page,
                               matched=matched, links=links, json_url=links[1]["href"],
                               offset=q.offset)  # fmt: skip
    else:
        members = {"type": "FeatureCollection", "numberMatched": matched, "timeStamp": now(),
                   "links": links}  # fmt: skip
        body = fr.geojson(page, coll.source.geometry, q.crs, members)
    return text_response(body, mimetype, tag, q.crs)


@bp.get("/collections/<collectionId>/items/<featureId>")
def item(collectionId: str, featureId: str) -> Response:  # noqa: N803
    allow_params({"f", "crs"})
    mimetype, s = negotiate(FEATURE_FORMATS), settings()
    coll = get_collection(collectionId)
    crs = fq.parse_crs(request.args, "crs", coll.crs)
    if not featureId.isascii() or not featureId.isdigit() or len(featureId) > 18:
        raise ApiError(
            404, f"no feature '{featureId[:40]}' in collection '{coll.id}' (ids are integers)"
        )
    tag = etag_for(f"{coll.version.content_hash}|{mimetype}")
    if (cached := not_modified(tag)) is not None:
        return cached
    row = query.feature(coll.path, int(featureId))
    if row.num_rows == 0:
        raise ApiError(404, f"no feature {featureId} in collection '{coll.id}'")
    path = f"/collections/{coll.id}/items/{featureId}"
    if mimetype == "text/html":
        body = render_template(
            "collections/items/item.html",
            coll=coll,
            page=row,
            fid=int(featureId),
            json_url=fr.url(s.base_url, path, {"f": "json"}),
        )
        return text_response(body, mimetype, tag, crs)
    here = s.base_url + path  # collection names and feature ids need no escaping
    links = [
        {"rel": "self", "type": fr.GEOJSON, "href": here + "?f=json"},
        {"rel": "alternate", "type": "text/html", "href": here + "?f=html"},
        {
            "rel": "collection",
            "type": "application/json",
            "href": f"{s.base_url}/collections/{coll.id}?f=json",
        },
    ]
    body = fr.geojson(row, coll.source.geometry, crs, {"type": "Feature", "links": links})
    return text_response(body, mimetype, tag, crs)
