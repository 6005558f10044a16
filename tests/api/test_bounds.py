"""Every numeric parameter of every route is bounded: a value out of range or not a number is a
400 problem+json naming the parameter and the allowed range (CKAN's own 409 shape on the CKAN
API), never a 500 from an overflow further down (the filed `offset=99999999999999999999`)."""

from __future__ import annotations

import pytest

HUGE = "99999999999999999999"
I32 = "from 0 to 2147483647"
ITEMS = "/collections/buildings/items"

#: (url, text the problem's detail must hold: the parameter and its range)
OUT_OF_RANGE = [
    (f"{ITEMS}?offset={HUGE}", f"offset: must be {I32}, got {HUGE}"),
    (f"{ITEMS}?offset=-1", f"offset: must be {I32}"),
    (f"{ITEMS}?limit={HUGE}", "limit: must be from 1 to 2147483647"),
    (f"{ITEMS}?limit=0", "limit: must be from 1 to 2147483647"),
    (f"{ITEMS}?limit=²", "limit: expected a whole number from 1 to 2147483647, got '²'"),
    (f"{ITEMS}?limit=1.5", "limit: expected a whole number from 1 to 2147483647"),
    (f"{ITEMS}?floors={HUGE}", "floors: must be from -9223372036854775808 to 9223372036854775807"),
    (f"{ITEMS}?height=1e999", "height: expected a number"),
    (f"{ITEMS}?bbox=-200,60,25,61", "bbox: longitude outside -180..180"),
    (f"{ITEMS}?bbox=-1e308,-89,1e308,89", "bbox: longitude outside -180..180"),
    (f"{ITEMS}?bbox=24,-91,25,61", "bbox: latitude outside -90..90"),
    (f"{ITEMS}?bbox=60,-200,61,25&bbox-crs=EPSG:4326", "bbox: longitude outside -180..180"),
    (
        f"{ITEMS}?bbox=-1e10,-1e10,1e10,1e10&bbox-crs=EPSG:3067",
        "bbox: coordinates outside the area that http://www.opengis.net/def/crs/EPSG/0/3067",
    ),
    (
        f"{ITEMS}?filter=S_INTERSECTS(geometry,POINT(1e300 1e300))&filter-crs=EPSG:3067",
        "filter: coordinates outside the area",
    ),
    (f"{ITEMS}?built=9999-12-31T23:59:59-01:00", "built: '9999-12-31T23:59:59-01:00' is outside"),
    (
        "/collections/sensors/items?datetime=0001-01-01T00:00:00%2B01:00",
        "datetime: '0001-01-01T00:00:00+01:00' is outside the years 1 to 9999",
    ),
    (f"/datasets/buildings/versions/{HUGE}/buildings.parquet", "version: must be from 1 to"),
    ("/datasets/buildings/versions/0/buildings.parquet", "version: must be from 1 to 2147483647"),
    (f"/api/datasets?offset={HUGE}", f"offset: must be {I32}"),
    ("/api/datasets?limit=1001", "limit: must be from 0 to 1000"),
    ("/api/datasets?limit=²", "limit: expected a whole number from 0 to 1000"),
    (f"/dcat/catalog.ttl?page={HUGE}", "page: must be from 1 to 2147483647"),
    ("/dcat/catalog.ttl?page=²", "page: expected a whole number from 1 to 2147483647"),
    ("/dcat/catalog.ttl?page_size=0", "page_size: must be from 1 to 1000"),
    ("/dcat/catalog?page_size=1001", "page_size: must be from 1 to 1000"),
    ("/api/scenarios?limit=²", "limit: expected a whole number from 1 to 500"),
    ("/api/scenarios?limit=501", "limit: must be from 1 to 500"),
    ("/datasets?page=²", "page: must be a whole number from 1 to 10000"),
    (f"/datasets?page={HUGE}", "page: must be a whole number from 1 to 10000"),
    ("/map?lat=1e400&lon=1&z=3", "lat must be between -90 and 90"),
    ("/map?lat=60&lon=181&z=3", "lon must be between -180 and 180"),
    ("/map?lat=60&lon=24&z=20", "z must be between 0 and 19"),
]


@pytest.mark.parametrize(("url", "detail"), OUT_OF_RANGE, ids=[u for u, _ in OUT_OF_RANGE])
def test_out_of_range_number_is_a_400_naming_the_parameter_and_range(client, url, detail):
    resp = client.get(url)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert detail in resp.get_json()["detail"]


CKAN = [
    ("package_search", {"rows": HUGE}, "rows", f"must be {I32}"),
    ("package_search", {"rows": "-1"}, "rows", f"must be {I32}"),
    ("package_search", {"start": HUGE}, "start", f"must be {I32}"),
    ("package_search", {"rows": "ten"}, "rows", f"expected a whole number {I32}"),
    ("package_search", {"facet.limit": "-2"}, "facet.limit", "must be from -1 to 2147483647"),
    ("package_list", {"limit": HUGE}, "limit", f"must be {I32}"),
    ("package_list", {"offset": "-1"}, "offset", f"must be {I32}"),
]


@pytest.mark.parametrize(("action", "args", "name", "detail"), CKAN)
def test_ckan_counts_out_of_range_are_ckan_validation_errors(client, action, args, name, detail):
    resp = client.get(f"/api/3/action/{action}", query_string=args)
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["__type"] == "Validation Error"
    assert detail in error[name][0] and error[name][0].startswith(f"{name}:")


def test_the_filed_offset_now_answers_400_not_500(client):
    resp = client.get(f"{ITEMS}?offset={HUGE}")
    assert resp.status_code == 400
    assert resp.get_json()["title"] == "Bad Request"


def test_largest_offset_in_range_is_an_empty_page(client):
    doc = client.get(f"{ITEMS}?offset=2147483647&f=json").get_json()
    assert (doc["numberMatched"], doc["numberReturned"], doc["features"]) == (500, 0, [])


def test_last_day_of_year_9999_is_a_valid_date(client):
    resp = client.get(f"{ITEMS}?built=9999-12-31")
    assert resp.status_code == 200
    assert resp.get_json()["numberMatched"] == 0


def test_openapi_declares_the_bounds_it_enforces(client):
    paths = client.get("/openapi?f=json").get_json()["paths"]

    def schema(path: str, name: str) -> dict:
        params = paths[path]["get"]["parameters"]
        return next(p["schema"] for p in params if p["name"] == name)

    assert schema("/collections/{collectionId}/items", "offset")["maximum"] == 2147483647
    assert schema("/api/datasets", "limit")["maximum"] == 1000
    assert schema("/dcat/catalog", "page")["maximum"] == 2147483647
    assert schema("/datasets/{name}/versions/{version}/{filename}", "version")["minimum"] == 1
    assert schema("/collections/buildings/items", "floors")["maximum"] == 2**63 - 1
    assert schema("/api/3/action/package_search", "facet.limit")["minimum"] == -1
