"""Items, single features and collections checked against the published files read by GeoPandas."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pytest
import shapely

from api.ogc import render as fr
from tests.api.conftest import SCRIPT_NAME

ITEMS = "/collections/buildings/items"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def get_all(client, url: str, limit: int) -> list[dict]:
    """Follow `next` links from `url` and return every feature seen."""
    seen, href = [], f"{url}{'&' if '?' in url else '?'}limit={limit}"
    while href:
        doc = client.get(href.replace("http://api.test", "")).get_json(force=True)
        seen.extend(doc["features"])
        href = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    return seen


def test_collections_lists_each_published_layer_with_its_extent(client, frames):
    docs = {c["id"]: c for c in client.get("/collections").get_json()["collections"]}
    assert set(docs) == {"buildings", "sensors", "streets"}
    bbox = docs["buildings"]["extent"]["spatial"]["bbox"][0]
    assert bbox == pytest.approx(list(frames["buildings"].total_bounds), abs=1e-6)
    assert docs["buildings"]["storageCrs"] == CRS84
    assert EPSG + "3879" in docs["buildings"]["crs"]  # the source CRS is offered too


def test_collection_has_a_temporal_extent_from_its_datetime_column(client, frames):
    doc = client.get("/collections/sensors").get_json()
    observed = frames["sensors"]["observed"]
    start, end = doc["extent"]["temporal"]["interval"][0]
    assert start == observed.min().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert end == observed.max().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "temporal" not in client.get("/collections/streets").get_json()["extent"]


def test_queryables_are_json_schema_2020_12(client):
    resp = client.get("/collections/buildings/queryables")
    doc = resp.get_json(force=True)
    assert resp.mimetype == "application/schema+json"
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["properties"]["floors"]["type"] == "integer"
    assert doc["properties"]["height"]["x-ogc-unit"] == "m"
    assert doc["properties"]["built"] == {"title": "built", "type": "string", "format": "date"}
    assert doc["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"


def test_items_are_geojson_with_exact_counts(client, frames):
    resp = client.get(ITEMS + "?limit=7")
    doc = resp.get_json(force=True)
    assert resp.mimetype == "application/geo+json"
    assert (doc["numberMatched"], doc["numberReturned"], len(doc["features"])) == (500, 7, 7)
    assert [f["id"] for f in doc["features"]] == [1, 2, 3, 4, 5, 6, 7]
    assert doc["timeStamp"].endswith("Z")


def test_default_page_size_comes_from_settings(client, settings):
    assert client.get(ITEMS).get_json()["numberReturned"] == settings.items_default_limit


@pytest.mark.parametrize("accept", ["application/geo+json", "application/json", "*/*", None])
def test_items_are_geojson_for_json_accept_headers(client, accept):
    resp = client.get(ITEMS + "?limit=1", headers={"Accept": accept} if accept else {})
    assert resp.mimetype == "application/geo+json"


def test_html_accept_header_gets_html(client):
    resp = client.get(
        ITEMS + "?limit=1", headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
    )
    assert resp.mimetype == "text/html"


def test_features_carry_the_published_attributes_and_geometry(client, frames):
    expected = frames["buildings"].loc[42]
    doc = client.get(ITEMS + "/42").get_json(force=True)
    assert doc["id"] == 42
    assert doc["properties"]["name"] == expected["name"]
    assert doc["properties"]["use"] == expected["use"]
    assert doc["properties"]["built"] == expected["built"].isoformat()
    assert shapely.geometry.shape(doc["geometry"]).equals_exact(expected.geometry, 1e-12)


def test_missing_values_are_null_not_nan(client, frames):
    fid = int(frames["buildings"].index[frames["buildings"]["floors"].isna()][0])
    props = client.get(f"{ITEMS}/{fid}").get_json(force=True)["properties"]
    assert props["floors"] is None
    assert props["height"] is None


def test_nan_and_infinity_render_as_null():
    page = pa.table({"fid": [1], "x": [math.nan], "y": [math.inf]})
    text = fr.geojson(page, None, CRS84, {"type": "Feature"})
    assert json.loads(text)["properties"] == {"x": None, "y": None}


def test_geometry_placeholders_cannot_be_forged_by_property_values():
    page = pa.table({"fid": [1, 2], "name": ["\x00g0", '"\x00g1"']})
    doc = json.loads(fr.geojson(page, None, CRS84, {"type": "FeatureCollection"}))
    assert [f["properties"]["name"] for f in doc["features"]] == ["\x00g0", '"\x00g1"']
    assert [f["geometry"] for f in doc["features"]] == [None, None]


def test_paging_returns_every_feature_exactly_once(client, frames):
    features = get_all(client, ITEMS, limit=37)
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) == 500
    assert set(ids) == set(frames["buildings"].index)


def test_filtered_paging_follows_next_links_to_the_end(client, frames):
    features = get_all(client, ITEMS + "?use=school", limit=11)
    expected = frames["buildings"][frames["buildings"]["use"] == "school"]
    assert sorted(f["id"] for f in features) == sorted(expected.index)


@pytest.mark.parametrize("fid", [1, 2, 250, 499, 500])
def test_each_listed_id_fetches_the_same_feature(client, fid):
    listed = client.get(f"{ITEMS}?limit=1&offset={fid - 1}").get_json(force=True)["features"][0]
    single = client.get(f"{ITEMS}/{fid}").get_json(force=True)
    assert listed["id"] == fid
    assert single["properties"] == listed["properties"]
    assert single["geometry"] == listed["geometry"]


def test_last_page_is_short_and_has_prev_but_no_next(client):
    doc = client.get(ITEMS + "?limit=30&offset=480").get_json(force=True)
    rels = [link["rel"] for link in doc["links"]]
    assert doc["numberReturned"] == 20
    assert "prev" in rels and "next" not in rels


def test_offset_past_the_end_is_an_empty_page(client):
    doc = client.get(ITEMS + "?offset=10000").get_json(force=True)
    assert (doc["numberMatched"], doc["numberReturned"], doc["features"]) == (500, 0, [])


def _intersecting(frame, geom) -> set[int]:
    return set(frame.index[frame.intersects(geom)])


def test_bbox_selects_by_intersection_including_edge_crossers(client, frames):
    bbox = (24.940, 60.168, 24.946, 60.172)
    box = shapely.box(*bbox)
    frame = frames["buildings"]
    crossing = frame[frame.intersects(box) & ~frame.within(box)]
    assert len(crossing) > 0  # the data has polygons across the bbox edge
    features = get_all(client, ITEMS + "?bbox=" + ",".join(map(str, bbox)), limit=100)
    assert {f["id"] for f in features} == _intersecting(frame, box)
    assert set(crossing.index) <= {f["id"] for f in features}


def test_bbox_with_six_numbers_ignores_heights(client, frames):
    doc = client.get(ITEMS + "?bbox=24.940,60.168,-10,24.946,60.172,100&limit=1").get_json(
        force=True
    )
    assert doc["numberMatched"] == len(
        _intersecting(frames["buildings"], shapely.box(24.940, 60.168, 24.946, 60.172))
    )


def test_datetime_interval_counts_match(client, frames):
    observed = frames["sensors"]["observed"]
    url = "/collections/sensors/items?datetime=2024-03-01T00:00:00Z/2024-06-30T23:59:59Z"
    expected = ((observed >= "2024-03-01T00:00:00Z") & (observed <= "2024-06-30T23:59:59Z")).sum()
    assert client.get(url).get_json(force=True)["numberMatched"] == expected


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2024-10-01/..", "2024-10-01T00:00:00Z", None),
        ("../2024-02-01", None, "2024-02-01T23:59:59.999999Z"),
        ("2024-05-05", "2024-05-05T00:00:00Z", "2024-05-05T23:59:59.999999Z"),
    ],
)
def test_datetime_open_ends_and_days(client, frames, value, start, end):
    observed = frames["sensors"]["observed"]
    mask = np.ones(len(observed), bool)
    mask &= (observed >= start).to_numpy() if start else True
    mask &= (observed <= end).to_numpy() if end else True
    url = f"/collections/sensors/items?datetime={value}"
    assert client.get(url).get_json(force=True)["numberMatched"] == mask.sum()


def test_datetime_on_a_date_column(client, frames):
    built = frames["buildings"]["built"].astype(str)
    expected = ((built >= "1900-01-01") & (built <= "1950-12-31")).sum()
    assert (
        client.get(ITEMS + "?datetime=1900-01-01/1950-12-31").get_json(force=True)["numberMatched"]
        == expected
    )


@pytest.mark.parametrize(
    ("query", "column", "value"),
    [
        ("use=school", "use", "school"),
        ("floors=3", "floors", 3),
        ("listed=true", "listed", True),
    ],
)
def test_property_equality_parameters(client, frames, query, column, value):
    expected = (frames["buildings"][column] == value).sum()
    assert client.get(f"{ITEMS}?{query}").get_json(force=True)["numberMatched"] == expected


def test_sortby_descending_orders_pages(client, frames):
    doc = client.get(ITEMS + "?sortby=-height,name&limit=5").get_json(force=True)
    heights = [f["properties"]["height"] for f in doc["features"]]
    assert heights == sorted(frames["buildings"]["height"].dropna(), reverse=True)[:5]


def test_strong_etag_gives_304_on_if_none_match(client):
    first = client.get(ITEMS + "?limit=3")
    tag = first.headers["ETag"]
    assert not tag.startswith("W/")
    again = client.get(ITEMS + "?limit=3", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.headers["ETag"] == tag
    assert client.get(ITEMS + "?limit=4", headers={"If-None-Match": tag}).status_code == 200


def test_gzip_variant_of_the_etag_also_gives_304(client):
    first = client.get(ITEMS + "?limit=50", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    again = client.get(
        ITEMS + "?limit=50",
        headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304


def test_html_and_json_representations_have_different_etags(client):
    html = client.get(ITEMS + "?limit=3", headers={"Accept": "text/html"})
    geojson = client.get(ITEMS + "?limit=3")
    assert html.headers["ETag"] != geojson.headers["ETag"]
    assert "Accept" in html.headers["Vary"] and "Accept" in geojson.headers["Vary"]


def _hostile_fid(frames) -> int:
    return int(frames["buildings"].index[frames["buildings"]["name"] == SCRIPT_NAME][0])


def test_html_escapes_hostile_names(client, frames):
    offset = _hostile_fid(frames) - 1
    body = client.get(f"{ITEMS}?limit=1&offset={offset}&f=html").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    item = client.get(f"{ITEMS}/{offset + 1}?f=html").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in item and "&lt;script&gt;" in item


def test_html_keeps_nordic_letters(client):
    assert "Ääninen Östra Å" in client.get(ITEMS + "?f=html").get_data(as_text=True)


def test_json_keeps_hostile_names_verbatim(client, frames):
    doc = client.get(f"{ITEMS}/{_hostile_fid(frames)}").get_json(force=True)
    assert doc["properties"]["name"] == SCRIPT_NAME


def test_item_html_page_has_a_property_table_and_alternate_link(client):
    body = client.get(ITEMS + "/4?f=html").get_data(as_text=True)
    assert (
        '<link rel="alternate" type="application/geo+json" href="http://api.test/collections/buildings/items/4?f=json">'
        in body
    )
    assert '<th scope="row">floors</th>' in body
    assert "<h1>Feature 4 of buildings</h1>" in body


@pytest.mark.parametrize(
    "url",
    [
        "/collections?f=html",
        "/collections/buildings?f=html",
        "/collections/buildings/queryables?f=html",
        "/conformance?f=html",
    ],
)
def test_html_pages_are_accessible_documents(client, url):
    resp = client.get(url)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert '<html lang="en">' in body and "<h1>" in body and 'rel="alternate"' in body
    assert "http" not in body.split("<style>")[1].split("</style>")[0]  # no external assets


def test_links_keep_the_query_and_move_the_offset(client):
    doc = client.get(ITEMS + "?use=office&limit=5&offset=5").get_json(force=True)
    links = {link["rel"]: link["href"] for link in doc["links"]}
    assert "use=office" in links["next"] and "offset=10" in links["next"]
    assert "offset=0" in links["prev"]
    assert links["alternate"].endswith("f=html")


@pytest.fixture()
def own_store(tmp_path):
    """A fresh, empty store and a client of it (for tests that publish)."""
    from api.app import create_app
    from opendata.settings import Settings

    settings = Settings(data_dir=tmp_path, rate_limit=0)
    return settings, create_app(settings).test_client()


def test_a_collection_published_after_startup_is_served_at_once(own_store):
    settings, client = own_store
    from opendata.store.publish import publish
    from tests.api.conftest import COLUMNS, _release, _spec, make_lines

    assert client.get("/collections/late_streets").status_code == 404
    release = _release(
        "late_streets", COLUMNS["streets"], _spec("Late", "Myöhä", "Sen"), "EPSG:3067"
    )
    publish(settings, release, make_lines(5))
    assert client.get("/collections/late_streets/items").get_json(force=True)["numberMatched"] == 5
    assert "late_streets" in {c["id"] for c in client.get("/collections").get_json()["collections"]}


def test_a_table_without_geometry_is_a_collection_of_null_geometries(own_store):
    settings, client = own_store
    import pandas as pd

    from opendata.store.publish import Release, publish

    frame = pd.DataFrame(
        {"district": ["Kallio", "Töölö", "Kamppi"], "residents": [30000, 14000, None]}
    )
    columns = [{"name": "district", "type": "string"}, {"name": "residents", "type": "float"}]
    release = Release(name="districts", spec={}, columns=columns, content_hash="districts-1",
                      source_crs=None, provenance={}, report={})  # fmt: skip
    publish(settings, release, frame)
    doc = client.get("/collections/districts/items").get_json(force=True)
    assert [f["geometry"] for f in doc["features"]] == [None, None, None]
    assert [f["properties"]["residents"] for f in doc["features"]] == [30000, 14000, None]
    assert "spatial" not in client.get("/collections/districts").get_json()["extent"]
    resp = client.get("/collections/districts/items?bbox=24,60,25,61")
    assert resp.status_code == 400 and "no geometry" in resp.get_json()["detail"]
