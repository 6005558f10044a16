"""Blueprint `api.ogc.tiles`: OGC API – Tiles for the city's basemap, built from our own published
data (`opendata.store.tiles`). Vector tiles (Mapbox Vector Tiles) in WebMercatorQuad for the
whole basemap (`/tiles`) and per source collection (`/collections/{id}/tiles`), plus the PMTiles
archive itself with HTTP Range, which the site's maps read directly."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, request, send_file
from pmtiles.reader import MmapSource, Reader

from api.http import ApiError, json_response, not_modified
from api.ogc.tiles_meta import MVT, TMS_ID, openapi, tile_matrix_set, tileset, tileset_entry
from opendata.settings import Settings
from opendata.store.tiles import LAYERS, Basemap, archive, read_basemap

bp = Blueprint("tiles", __name__)
_OGC = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf"
CONFORMANCE = [
    f"{_OGC}/core",
    f"{_OGC}/tileset",
    f"{_OGC}/tilesets-list",
    f"{_OGC}/dataset-tilesets",
    f"{_OGC}/geodata-tilesets",
    f"{_OGC}/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]
PMTILES = "application/vnd.pmtiles"
#: Tile URLs are not versioned (the archive behind them is), so caches re-check hourly.
MAX_AGE = 3600


def _basemap() -> Basemap:
    settings: Settings = current_app.config["CIVIC_SETTINGS"]
    found = read_basemap(settings)
    if found is None:
        raise ApiError(404, "no basemap has been built yet: run `civic ingest`", title="Not Found")
    return found


def _layer(basemap: Basemap, collection: str) -> str:
    """The basemap layer cut from `collection` (404 for a collection without tiles)."""
    for layer in LAYERS:
        if layer.dataset == collection and layer.name in basemap.layers:
            return layer.name
    raise ApiError(404, f"collection '{collection[:80]}' has no tiles", title="Not Found")


@lru_cache(maxsize=16)
def _reader(path: Path) -> Reader:
    """A PMTiles reader over the memory-mapped archive (archives are immutable, keyed by path)."""
    return Reader(MmapSource(path.open("rb")))


@bp.get("/tileMatrixSets")
def matrix_sets() -> Response:
    entry = {"id": TMS_ID, "title": "Google Maps Compatible for the World",
             "links": [{"rel": "self", "href": f"/tileMatrixSets/{TMS_ID}",
                        "type": "application/json"}]}  # fmt: skip
    return json_response({"tileMatrixSets": [entry]}, max_age=86400)


@bp.get(f"/tileMatrixSets/{TMS_ID}")
def matrix_set() -> Response:
    return json_response(tile_matrix_set(), max_age=86400)


@bp.get("/tiles")
def dataset_tilesets() -> Response:
    basemap = _basemap()
    return json_response({"tilesets": [tileset_entry(basemap, "/tiles")]},
                         etag_source=basemap.key)  # fmt: skip


@bp.get(f"/tiles/{TMS_ID}")
def dataset_tileset() -> Response:
    basemap = _basemap()
    return json_response(tileset(basemap, "/tiles", basemap.layers), etag_source=basemap.key)


#: Tile addresses use the OGC API – Tiles parameter names, as `/openapi` documents them.
ZYX = "<int:tileMatrix>/<int:tileRow>/<int:tileCol>"


@bp.get(f"/tiles/{TMS_ID}/{ZYX}")
def dataset_tile(tileMatrix: int, tileRow: int, tileCol: int) -> Response:  # noqa: N803
    basemap = _basemap()
    return _tile(archive(basemap), basemap, tileMatrix, tileRow, tileCol)


@bp.get("/collections/<collectionId>/tiles")
def collection_tilesets(collectionId: str) -> Response:  # noqa: N803
    basemap = _basemap()
    _layer(basemap, collectionId)
    entry = tileset_entry(basemap, f"/collections/{collectionId}/tiles")
    return json_response({"tilesets": [entry]}, etag_source=basemap.key)


@bp.get(f"/collections/<collectionId>/tiles/{TMS_ID}")
def collection_tileset(collectionId: str) -> Response:  # noqa: N803
    basemap = _basemap()
    layer = _layer(basemap, collectionId)
    body = tileset(basemap, f"/collections/{collectionId}/tiles", [layer])
    return json_response(body, etag_source=basemap.key)


@bp.get(f"/collections/<collectionId>/tiles/{TMS_ID}/{ZYX}")
def collection_tile(collectionId: str, tileMatrix: int, tileRow: int, tileCol: int) -> Response:  # noqa: N803
    basemap = _basemap()
    path = archive(basemap, _layer(basemap, collectionId))
    return _tile(path, basemap, tileMatrix, tileRow, tileCol)


def _tile(path: Path, basemap: Basemap, z: int, y: int, x: int) -> Response:
    """One tile: 404 outside the tile matrix set's limits, 204 for an empty tile inside them."""
    if not (basemap.min_zoom <= z <= basemap.max_zoom and x < 2**z and y < 2**z):
        raise ApiError(
            404,
            f"no tile {z}/{y}/{x}: zoom levels {basemap.min_zoom} to {basemap.max_zoom}, "
            f"row and column below 2^zoom",
            title="Not Found",
        )
    tag = f"{basemap.key}-{path.stem}-{z}-{x}-{y}"
    if (cached := not_modified(tag, max_age=MAX_AGE)) is not None:
        return cached
    data = _reader(path).get(z, x, y)
    if not data:
        return Response(status=204)
    resp = Response(data, mimetype=MVT)  # stored gzip-compressed: sent as is when accepted
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        resp.headers["Content-Encoding"] = "gzip"
        tag += "-gz"
    else:
        resp.set_data(gzip.decompress(data))
    resp.vary.add("Accept-Encoding")
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return resp


@bp.get("/tiles/basemap.pmtiles")
def pmtiles_archive() -> Response:
    """The whole basemap as one PMTiles file; clients read it with HTTP Range requests."""
    basemap = _basemap()
    resp = send_file(archive(basemap), mimetype=PMTILES, conditional=True, etag=basemap.key,
                     max_age=MAX_AGE, download_name="basemap.pmtiles")  # fmt: skip
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


def openapi_paths(settings: Settings) -> dict:
    """The tile routes for `/openapi`; the collections with tiles are those of the current
    basemap (every possible source before the first build)."""
    basemap = read_basemap(settings)
    tiled = list(basemap.datasets) if basemap else [layer.dataset for layer in LAYERS]
    return openapi(tiled)
