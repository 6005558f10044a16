"""Malformed requests get a 400/404 problem+json that names the problem, never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.http import ApiError
from api.ogc import query as fq

ITEMS = "/collections/buildings/items"
BAD_REQUESTS = [
    (ITEMS + "?bbox=1,2,3", 400, "bbox: expected 4 or 6"),
    (ITEMS + "?bbox=a,b,c,d", 400, "bbox: expected 4 or 6 comma-separated numbers"),
    (ITEMS + "?bbox=24.95,60.17,24.94,60.18", 400, "lower corner"),
    (ITEMS + "?bbox=1,2,3,4,5", 400, "bbox: expected 4 or 6"),
    (ITEMS + "?bbox=nan,1,2,3", 400, "finite"),
    (ITEMS + "?bbox=0,-95,1,1", 400, "latitude"),
    (ITEMS + "?bbox=", 400, "bbox"),
    (ITEMS + "?limit=-1", 400, "limit: must be from 1 to 2147483647"),
    (ITEMS + "?limit=0", 400, "limit: must be from 1 to 2147483647"),
    (ITEMS + "?limit=abc", 400, "limit: expected a whole number from 1 to 2147483647"),
    (ITEMS + "?offset=abc", 400, "offset: expected a whole number from 0 to 2147483647"),
    (ITEMS + "?offset=-5", 400, "offset: must be from 0 to 2147483647"),
    (ITEMS + "?colour=red", 400, "unknown query parameter 'colour'"),
    (ITEMS + "?f=xml", 400, "f: unsupported format 'xml'"),
    (ITEMS + "?crs=EPSG:9999999", 400, "crs: unsupported CRS"),
    (ITEMS + "?crs=http://www.opengis.net/def/crs/EPSG/0/2000", 400, "crs: unsupported CRS"),
    (ITEMS + "?bbox-crs=foo&bbox=1,2,3,4", 400, "bbox-crs: unsupported CRS"),
    (ITEMS + "?filter-crs=EPSG:1&filter=floors=1", 400, "filter-crs: unsupported CRS"),
    ("/collections/streets/items?datetime=2024-01-01", 400, "no temporal property"),
    ("/collections/sensors/items?datetime=yesterday", 400, "datetime: 'yesterday'"),
    ("/collections/sensors/items?datetime=../..", 400, "at least one bounded end"),
    ("/collections/sensors/items?datetime=2024-05-01/2024-01-01", 400, "starts after it ends"),
    ("/collections/sensors/items?datetime=..", 400, "only valid as one end"),
    (ITEMS + "?floors=many", 400, "floors: expected a whole number"),
    (ITEMS + "?listed=maybe", 400, "listed: expected true or false"),
    (ITEMS + "?sortby=colour", 400, "sortby: unknown property 'colour'"),
    (ITEMS + "?filter=floors >", 400, "filter: unexpected end"),
    (ITEMS + "?filter=floors = = 3", 400, "filter:"),
    (ITEMS + "?filter=(floors = 3", 400, "expected )"),
    (ITEMS + "?filter=colour = 'red'", 400, "unknown property 'colour'"),
    (ITEMS + "?filter=floors = 'three'", 400, "expected a number"),
    (ITEMS + "?filter=name LIKE 5", 400, "expected a string"),
    (
        ITEMS + "?filter=S_DWITHIN(geometry, POINT(24.94 60.17), 10)",
        400,
        "unsupported operator or function 'S_DWITHIN'",
    ),
    (ITEMS + "?filter=T_AFTER(built, DATE('2000-01-01'))", 400, "'T_AFTER'"),
    (ITEMS + "?filter=CASEI(name) = 'x'", 400, "unsupported function 'CASEI'"),
    (ITEMS + "?filter=S_INTERSECTS(geometry, POLYGON((1 2, 3)))", 400, "invalid WKT"),
    (ITEMS + "?filter=S_INTERSECTS(name, POINT(1 2))", 400, "applies to the geometry property"),
    (ITEMS + "?filter=built > DATE('2020-13-45')", 400, "invalid DATE literal"),
    (ITEMS + "?filter-lang=sql&filter=floors=1", 400, "filter-lang: unsupported 'sql'"),
    (ITEMS + "?filter-lang=cql2-json&filter={nope", 400, "not valid JSON"),
    (
        ITEMS + '?filter-lang=cql2-json&filter={"op":"like","args":[{"property":"floors"},"1%"]}',
        400,
        "LIKE applies to text properties only",
    ),
    (ITEMS + '?filter-lang=cql2-json&filter={"op":"and","args":[true]}', 400, "at least two"),
    (
        ITEMS + '?filter-lang=cql2-json&filter={"op":"between","args":[{"property":"floors"},1]}',
        400,
        "BETWEEN takes 3 arguments",
    ),
    (ITEMS + "?filter-lang=cql2-json&filter=[1,2]", 400, "expected a predicate"),
    (ITEMS + "?filter=", 400, "empty expression"),
    (ITEMS + "?name=';%20DROP%20TABLE%20x;%20--&filter=floors%20%3D%20'1", 400, "filter:"),
    (ITEMS + "?filter=';%20DROP%20TABLE%20x;%20--", 400, "filter:"),
    (ITEMS + "?filter=floors%20=%201;%20DROP%20TABLE%20x", 400, "filter: unexpected"),
    ("/collections/nope", 404, "no collection named 'nope'"),
    ("/collections/nope/items", 404, "no collection named 'nope'"),
    ("/collections/nope/queryables", 404, "no collection named 'nope'"),
    ("/collections/buildings/items/999999", 404, "no feature 999999"),
    ("/collections/buildings/items/0", 404, "no feature 0"),
    ("/collections/buildings/items/abc", 404, "ids are integers"),
    ("/collections/buildings/items/-1", 404, "ids are integers"),
    ("/collections/buildings/items/1.5", 404, "ids are integers"),
    ("/collections/buildings/items/99999999999999999999999", 404, "ids are integers"),
    ("/collections/buildings/items/'%20OR%201=1", 404, "ids are integers"),
    ("/collections/buildings/items/1?limit=3", 400, "unknown query parameter 'limit'"),
    ("/collections?bbox=1,2,3,4", 400, "unknown query parameter 'bbox'"),
]


@pytest.mark.parametrize(
    ("url", "status", "detail"), BAD_REQUESTS, ids=[u for u, _, _ in BAD_REQUESTS]
)
def test_malformed_request_gets_a_problem_naming_it(client, url, status, detail):
    resp = client.get(url)
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    problem = json.loads(resp.get_data(as_text=True))
    assert problem["status"] == status
    assert detail in problem["detail"]


def test_injection_in_a_property_value_is_just_a_value(client):
    resp = client.get(ITEMS, query_string={"name": "'; DROP TABLE x; --"})
    assert resp.status_code == 200
    assert resp.get_json()["numberMatched"] == 0
    assert client.get(ITEMS).get_json()["numberMatched"] == 500


def test_injection_in_a_filter_string_literal_is_just_a_value(client):
    resp = client.get(ITEMS, query_string={"filter": "name = '''; DROP TABLE x; --'"})
    assert resp.status_code == 200
    assert resp.get_json()["numberMatched"] == 0


def test_injection_in_a_quoted_property_name_is_an_unknown_property(client):
    resp = client.get(ITEMS, query_string={"filter": '"name"" = 1; --" = 1'})
    assert resp.status_code == 400
    assert "unknown property" in resp.get_json()["detail"]


def test_limit_above_the_maximum_is_clamped_not_refused(small_limits_client):
    doc = small_limits_client.get(ITEMS + "?limit=100000").get_json()
    assert doc["numberReturned"] == 50
    assert "limit=50" in next(link["href"] for link in doc["links"] if link["rel"] == "next")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,2,3,4", (1.0, 2.0, 3.0, 4.0)),
        ("1,2,0,3,4,10", (1.0, 2.0, 3.0, 4.0)),
        (" 1 , 2 , 3 , 4 ", (1.0, 2.0, 3.0, 4.0)),
    ],
)
def test_parse_bbox_accepts_4_or_6_numbers(text, expected):
    assert fq.parse_bbox(text, fq.CRS84) == expected


def test_parse_bbox_checks_latitude_in_the_first_axis_for_epsg_4326():
    with pytest.raises(ApiError, match="latitude"):
        fq.parse_bbox("60,24,95,25", fq.EPSG + "4326")


@pytest.mark.parametrize(
    ("text", "uri"),
    [
        ("EPSG:3067", fq.EPSG + "3067"),
        ("[EPSG:3006]", fq.EPSG + "3006"),
        ("https://www.opengis.net/def/crs/EPSG/0/25832", fq.EPSG + "25832"),
        ("OGC:CRS84", fq.CRS84),
    ],
)
def test_crs_spellings_map_to_the_canonical_uri(text, uri):
    assert fq.crs_uri(text) == uri


def test_date_only_datetime_covers_the_whole_day():
    start, end = fq.parse_datetime("2024-03-01")
    assert (start.isoformat(), end.isoformat()) == (
        "2024-03-01T00:00:00+00:00",
        "2024-03-01T23:59:59.999999+00:00",
    )


def test_open_interval_has_an_open_end():
    start, end = fq.parse_datetime("2024-03-01T12:00:00+02:00/..")
    assert start.isoformat() == "2024-03-01T10:00:00+00:00"
    assert end is None


WORDS = ["geometry", "floors", "name", "=", "and", "not", "in", "like", "s_intersects"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(WORDS),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["op", "args", "property", "bbox", "type", "coordinates",
                                       "timestamp", "date"]), inner, max_size=3),
    max_leaves=12,
)  # fmt: skip


#: Hypothesis settings for fuzzing through the function-scoped test client (the number of
#: examples comes from the profile: `ci` by default, `fuzz` in `make fuzz`).
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings(FUZZ)
@given(tree=json_values)
def test_arbitrary_cql2_json_is_answered_or_refused_never_crashes(client, tree):
    resp = client.get(ITEMS, query_string={"filter-lang": "cql2-json", "filter": json.dumps(tree)})
    assert resp.status_code in (200, 400), resp.get_data(as_text=True)


text_filters = st.lists(
    st.sampled_from(["floors", "name", "geometry", "=", "<", "AND", "OR", "NOT", "(", ")", "'a'",
                     "3", "-1.5e3", "LIKE", "IN", "BETWEEN", "IS", "NULL", ",", "S_INTERSECTS",
                     "POINT(24.94 60.17)", "BBOX(1,2,3,4)", "TIMESTAMP('2024-01-01')", "\"use\"",
                     "TRUE", "POLYGON((1 2", "'", ";", "--"]),
    max_size=10,
).map(" ".join)  # fmt: skip


@settings(FUZZ)
@given(text=text_filters)
def test_arbitrary_cql2_text_is_answered_or_refused_never_crashes(client, text):
    resp = client.get(ITEMS, query_string={"filter": text})
    assert resp.status_code in (200, 400), resp.get_data(as_text=True)


@pytest.mark.parametrize(("lang", "text"), [
    ("cql2-text", "NOT " * 5000 + "floors = 1"),
    ("cql2-text", "NOT " * 500 + "floors = 1"),
    ("cql2-text", "(" * 5000 + "floors = 1" + ")" * 5000),
    ("cql2-json", '{"op":"not","args":[' * 3000 + "true" + "]}" * 3000),
    ("cql2-json", "[" * 100000 + "]" * 100000),
])  # fmt: skip
def test_deeply_nested_filters_are_refused_not_crashing(client, lang, text):
    resp = client.get(ITEMS, query_string={"filter-lang": lang, "filter": text})
    assert resp.status_code == 400


def test_wide_but_flat_filters_are_answered(client):
    resp = client.get(ITEMS, query_string={"filter": "floors = 1 OR " * 2000 + "floors = 2"})
    assert resp.status_code == 200


PARAMS = ["bbox", "bbox-crs", "limit", "offset", "datetime", "crs", "sortby", "floors", "listed",
          "built", "name", "f", "filter-lang", "filter-crs"]  # fmt: skip


@settings(FUZZ)
@given(params=st.dictionaries(st.sampled_from(PARAMS), st.text(max_size=30), max_size=4))
def test_arbitrary_parameter_values_are_answered_or_refused(client, params):
    resp = client.get(ITEMS, query_string=params)
    assert resp.status_code in (200, 400), resp.get_data(as_text=True)
