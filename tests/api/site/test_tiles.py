"""OGC API – Tiles over the basemap built from the published data: metadata, Mapbox Vector Tiles
read by real clients (mapbox-vector-tile, GDAL's MVT driver), the PMTiles archive read with HTTP
Range by the `pmtiles` reader, and clear errors outside the tile matrix set's limits."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import mapbox_vector_tile
import requests
from pmtiles.reader import Reader

from api.ogc.tiles_meta import tile_index

MVT = "application/vnd.mapbox-vector-tile"
#: The zoom-14 tile over Kamppi and Kluuvi (the bundled extract's centre).
Z = 14
X, Y = tile_index(24.94, 60.17, Z)


def test_tileset_metadata_names_layers_limits_and_the_tile_template(client):
    meta = client.get("/tiles/WebMercatorQuad").get_json()
    layers = [layer["id"] for layer in meta["layers"]]
    assert layers == ["water", "green", "buildings", "roads", "places"]
    item = next(link for link in meta["links"] if link["rel"] == "item")
    assert item["href"] == "/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
    assert item["type"] == MVT
    at14 = next(lim for lim in meta["tileMatrixSetLimits"] if lim["tileMatrix"] == "14")
    assert at14["minTileCol"] <= X <= at14["maxTileCol"]
    assert at14["minTileRow"] <= Y <= at14["maxTileRow"]
    assert meta["sources"] == {
        "water": 1,
        "green_areas": 1,
        "buildings": 1,
        "roads": 1,
        "place_names": 1,
    }


def test_tile_matrix_set_is_web_mercator_quad(client):
    tms = client.get("/tileMatrixSets/WebMercatorQuad").get_json()
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    z14 = tms["tileMatrices"][14]
    assert (z14["matrixWidth"], round(z14["cellSize"], 4)) == (2**14, 9.5546)


def test_tile_decodes_with_water_green_buildings_roads_and_places(client):
    resp = client.get(f"/tiles/WebMercatorQuad/{Z}/{Y}/{X}")
    assert (resp.status_code, resp.mimetype) == (200, MVT)
    tile = mapbox_vector_tile.decode(resp.data)
    assert set(tile) == {"water", "green", "buildings", "roads", "places"}
    names = {f["properties"].get("name") for f in tile["roads"]["features"]}
    assert "Mannerheimintie" in names
    assert {"kind", "name"} <= set().union(*(f["properties"] for f in tile["roads"]["features"]))


def test_tiles_travel_gzip_compressed_to_clients_that_accept_it(client):
    url = f"/tiles/WebMercatorQuad/{Z}/{Y}/{X}"
    plain = client.get(url).data
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain and len(packed.data) < 0.8 * len(plain)
    again = client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    assert again.status_code == 304


def test_every_place_name_is_in_the_lowest_zoom_with_its_swedish_name(client):
    x, y = tile_index(24.94, 60.17, 12)
    tile = mapbox_vector_tile.decode(client.get(f"/tiles/WebMercatorQuad/12/{y}/{x}").data)
    places = {f["properties"]["name"]: f["properties"] for f in tile["places"]["features"]}
    assert len(places) >= 15  # no label thinned away at zoom 12
    assert places["Kluuvi"] == {"name": "Kluuvi", "name_sv": "Gloet", "kind": "suburb"}
    assert places["Helsinki"]["kind"] == "city"


def test_collection_tile_holds_only_its_layer(client):
    resp = client.get(f"/collections/roads/tiles/WebMercatorQuad/{Z}/{Y}/{X}")
    assert set(mapbox_vector_tile.decode(resp.data)) == {"roads"}
    assert client.get("/collections/roads/tiles").get_json()["tilesets"][0]["dataType"] == "vector"


def test_outside_the_limits_is_a_clear_404_and_an_empty_tile_is_204(client):
    far = client.get("/tiles/WebMercatorQuad/3/1/1")
    assert far.status_code == 404 and far.mimetype == "application/problem+json"
    assert "zoom levels 12 to 16" in far.get_json()["detail"]
    assert client.get(f"/tiles/WebMercatorQuad/{Z}/{Y}/{X + 40}").status_code == 204
    none = client.get("/collections/stops/tiles")
    assert none.status_code == 404 and "has no tiles" in none.get_json()["detail"]


def test_conformance_declares_tiles_and_mvt(client):
    classes = client.get("/conformance?f=json").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in classes


def test_pmtiles_archive_is_read_with_http_range(live_site):
    url = f"{live_site}/tiles/basemap.pmtiles"
    statuses = []

    def get_bytes(offset: int, length: int) -> bytes:
        resp = requests.get(url, headers={"Range": f"bytes={offset}-{offset + length - 1}"})
        statuses.append(resp.status_code)
        return resp.content

    reader = Reader(get_bytes)
    assert (reader.header()["min_zoom"], reader.header()["max_zoom"]) == (12, 16)
    assert reader.header()["tile_compression"].name == "GZIP"
    tile = mapbox_vector_tile.decode(gzip.decompress(reader.get(Z, X, Y)))
    assert "roads" in tile and set(statuses) == {206}


def test_gdal_reads_a_tile(live_site, tmp_path: Path):
    target = tmp_path / "tile.pbf"
    target.write_bytes(requests.get(f"{live_site}/tiles/WebMercatorQuad/{Z}/{Y}/{X}").content)
    where = ["-oo", f"X={X}", "-oo", f"Y={Y}", "-oo", f"Z={Z}"]
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(target), *where],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert "using driver `MVT' successful" in out
    assert "Layer name: roads" in out and "Geometry: Multi Line String" in out


def test_map_page_names_the_tiles_of_roads_and_buildings_and_their_fid_finds_the_item(client):
    layers = {x["name"]: x for x in client.get("/map?f=json").get_json()["layers"]}
    roads = layers["roads"]["tiles"]  # a URI template, not a URL (no "url" key for crawlers)
    assert roads["template"] == "/collections/roads/tiles/WebMercatorQuad/{z}/{y}/{x}"
    assert "url" not in roads
    assert layers["buildings"]["tiles"]["shape"] == "area"
    assert layers["stops"]["tiles"] is None  # small layers stay GeoJSON previews
    tile = mapbox_vector_tile.decode(
        client.get(f"/collections/roads/tiles/WebMercatorQuad/{Z}/{Y}/{X}").data
    )
    road = next(f for f in tile["roads"]["features"] if f["properties"].get("name"))
    assert "fid" not in road["properties"]  # the feature id, not a text attribute
    item = client.get(f"/collections/roads/items/{road['id']}?f=json").get_json()
    assert item["properties"]["name"] == road["properties"]["name"]
