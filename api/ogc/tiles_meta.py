"""The documents of OGC API – Tiles for our basemap: the WebMercatorQuad tile matrix set (OGC
2D-TMS 2.0 JSON), tileset metadata with its limits and layers, and the OpenAPI path items."""

from __future__ import annotations

import math
from typing import Any

from opendata.store.tiles import Basemap

MVT = "application/vnd.mapbox-vector-tile"
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS_3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
#: Half the width of the Web Mercator world in metres, and the cell size at zoom 0 (256 px).
ORIGIN = 20037508.3427892
CELL_0 = 2 * ORIGIN / 256
MAX_TMS_ZOOM = 24


def tile_matrix_set() -> dict[str, Any]:
    """WebMercatorQuad as OGC 2D-TMS 2.0 JSON (zoom 0-24; 0.28 mm pixels for the scale)."""
    matrices = [
        {"id": str(z), "scaleDenominator": CELL_0 / 2**z / 0.00028, "cellSize": CELL_0 / 2**z,
         "cornerOfOrigin": "topLeft", "pointOfOrigin": [-ORIGIN, ORIGIN],
         "matrixWidth": 2**z, "matrixHeight": 2**z, "tileWidth": 256, "tileHeight": 256}
        for z in range(MAX_TMS_ZOOM + 1)
    ]  # fmt: skip
    return {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": CRS_3857,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }


def tile_index(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The (column, row) of the WebMercatorQuad tile holding a point at zoom `z`.

    >>> tile_index(24.94, 60.17, 14)
    (9327, 4742)
    """
    n = 2**z
    lat = max(min(lat, 85.0511), -85.0511)
    col = int((lon + 180.0) / 360.0 * n)
    row = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(col, n - 1), min(row, n - 1)


def limits(basemap: Basemap) -> list[dict[str, Any]]:
    """The tile rows and columns that hold data at each zoom level of the basemap."""
    x0, y0, x1, y1 = basemap.bounds
    out = []
    for z in range(basemap.min_zoom, basemap.max_zoom + 1):
        (c0, r0), (c1, r1) = tile_index(x0, y1, z), tile_index(x1, y0, z)
        out.append({"tileMatrix": str(z), "minTileRow": r0, "maxTileRow": r1,
                    "minTileCol": c0, "maxTileCol": c1})  # fmt: skip
    return out


def _links(base: str) -> list[dict[str, Any]]:
    return [
        {"rel": "self", "href": f"{base}/{TMS_ID}", "type": "application/json"},
        {"rel": TILING_SCHEME, "href": f"/tileMatrixSets/{TMS_ID}", "type": "application/json"},
    ]


def tileset_entry(basemap: Basemap, base: str) -> dict[str, Any]:
    """A tileset as listed in a tilesets list (`/tiles`, `/collections/{id}/tiles`)."""
    return {"title": "City basemap (vector tiles from our published data)", "dataType": "vector",
            "crs": CRS_3857, "tileMatrixSetURI": TMS_URI, "links": _links(base)}  # fmt: skip


def tileset(basemap: Basemap, base: str, layers: list[str]) -> dict[str, Any]:
    """Tileset metadata: limits, layers, bounding box and the tile URL template."""
    x0, y0, x1, y1 = basemap.bounds
    item = {"rel": "item", "type": MVT, "templated": True,
            "href": f"{base}/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"}  # fmt: skip
    return tileset_entry(basemap, base) | {
        "links": [*_links(base), item],
        "tileMatrixSetLimits": limits(basemap),
        "boundingBox": {
            "lowerLeft": [x0, y0],
            "upperRight": [x1, y1],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        },  # fmt: skip
        "layers": [
            {
                "id": name,
                "dataType": "vector",
                "minTileMatrix": str(basemap.min_zoom),
                "maxTileMatrix": str(basemap.max_zoom),
            }
            for name in layers
        ],  # fmt: skip
        "sources": basemap.datasets,
    }


def openapi(tiled: list[str]) -> dict[str, Any]:
    """OpenAPI 3.0 path items of the tile routes; `tiled` are the collections that have tiles."""
    json_ok = {"200": {"description": "JSON", "content": {"application/json": {"schema": {}}}}}
    problem = {"application/problem+json": {"schema": {"type": "object"}}}
    missing = {"404": {"description": "no such tileset or tile", "content": problem}}
    coll = {"name": "collectionId", "in": "path", "required": True,
            "schema": {"type": "string", "enum": tiled}}  # fmt: skip
    zyx = [
        {"name": n, "in": "path", "required": True,
         "schema": {"type": "integer", "minimum": 0, "maximum": 2**MAX_TMS_ZOOM - 1}}
        for n in ("tileMatrix", "tileRow", "tileCol")
    ]  # fmt: skip
    tile = {"200": {"description": "a Mapbox Vector Tile", "content": {MVT: {}}},
            "204": {"description": "an empty tile"}} | missing  # fmt: skip
    pmtiles = {"200": {"description": "PMTiles", "content": {"application/vnd.pmtiles": {}}}}
    matrix = "{tileMatrix}/{tileRow}/{tileCol}"

    def get(op_id: str, summary: str, responses: dict, params: list | None = None) -> dict:
        op = {"operationId": op_id, "summary": summary, "tags": ["Tiles"], "responses": responses}
        return {"get": op | ({"parameters": params} if params else {})}

    return {
        "/tileMatrixSets": get("getTileMatrixSets", "Tile matrix sets", json_ok),
        f"/tileMatrixSets/{TMS_ID}": get("getTileMatrixSet", "WebMercatorQuad", json_ok),
        "/tiles": get("getDatasetTilesets", "Tilesets of the basemap", json_ok | missing),
        f"/tiles/{TMS_ID}": get("getDatasetTileset", "The basemap tileset", json_ok | missing),
        f"/tiles/{TMS_ID}/{matrix}": get("getDatasetTile", "A basemap tile", tile, zyx),
        "/tiles/basemap.pmtiles": get(
            "getBasemapArchive", "The basemap as one PMTiles file (HTTP Range)", pmtiles | missing
        ),
        "/collections/{collectionId}/tiles": get(
            "getCollectionTilesets", "Tilesets of a collection", json_ok | missing, [coll]
        ),
        f"/collections/{{collectionId}}/tiles/{TMS_ID}": get(
            "getCollectionTileset", "A collection's tileset", json_ok | missing, [coll]
        ),
        f"/collections/{{collectionId}}/tiles/{TMS_ID}/{matrix}": get(
            "getCollectionTile", "A collection's tile", tile, [coll, *zyx]
        ),
    }
