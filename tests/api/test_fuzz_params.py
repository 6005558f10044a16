"""Property-based fuzzing of every parameter of every route our OpenAPI document describes: any
mix of hostile values (huge, negative, non-ASCII digits, NaN, long text) is answered with a 2xx,
3xx or a clear 4xx, never a 5xx, a traceback or a server path.

The operations and their parameters come from `GET /openapi`; `test_every_parameter_is_fuzzed`
fails when the document gains a parameter that has no strategy here. Examples per operation
follow the Hypothesis profile (`ci` by default, many more under `make fuzz`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.ogc.query import CRS_LIST, ITEMS_PARAMS

EDGES = ["", "0", "-0", "1", "-1", "2147483647", "2147483648", "-2147483649",
         "9223372036854775808", "99999999999999999999", "1" * 400, "1.5", "1e999", "-1e309", "nan",
         "inf", "²", "٣", "１", " 7 ", "+3", "0x10", "1_000", "null", "[]", "'", "%00"]  # fmt: skip
junk = st.text(max_size=40)
whole = st.integers(min_value=-(2**70), max_value=2**70).map(str)
numbers = st.one_of(st.sampled_from(EDGES), whole, st.floats().map(repr), junk)
coordinate = st.one_of(st.floats(-200, 200).map(repr), st.sampled_from(EDGES[:16]))
bboxes = st.one_of(
    st.lists(coordinate, min_size=3, max_size=7).map(",".join),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=4, max_size=6).map(
        lambda xs: ",".join(map(repr, xs))
    ),
    junk,
)
offsets = st.sampled_from(["Z", "+00:00", "+01:00", "-01:00", "+14:00", ""])
instants = st.one_of(
    st.builds(lambda d, z: d.isoformat() + z, st.datetimes(), offsets),
    st.dates().map(str),
    st.sampled_from(["..", "../..", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]),
    junk,
)
datetimes = st.one_of(instants, st.builds(lambda a, b: f"{a}/{b}", instants, instants))
crss = st.one_of(st.sampled_from([*CRS_LIST, "EPSG:3067", "EPSG:0", "OGC:CRS84"]), junk)
words = st.sampled_from(["floors", "name", "geometry", "built", "=", "<", "AND", "OR", "(", ")",
                         "'a'", "99999999999999999999", "1e999", "S_INTERSECTS", "BBOX(1,2,3,4)",
                         "POINT(1e300 1e300)", "DATE('9999-12-31')",
                         "TIMESTAMP('0001-01-01')"])  # fmt: skip
filters = st.one_of(st.lists(words, max_size=8).map(" ".join), junk)
fqs = st.one_of(
    st.lists(
        st.sampled_from(["tags:x", "-organization:a", "OR", "AND", "groups:*", "(", ")",
                         "metadata_modified:[2026-01-01T00:00:00Z TO *]", "name:[a TO b]",
                         "metadata_created:{* TO NOW}", "metadata_modified:[x TO y]", "*:*"]),
        max_size=6,
    ).map(" ".join),
    junk,
)  # fmt: skip


def enum(*values: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(values), junk)


#: A strategy for every query parameter name the OpenAPI document uses.
QUERY: dict[str, st.SearchStrategy[str]] = {
    "limit": numbers, "offset": numbers, "page": numbers, "page_size": numbers, "rows": numbers,
    "start": numbers, "facet.limit": numbers, "lat": numbers, "lon": numbers, "z": numbers,
    "bbox": bboxes, "bbox-crs": crss, "crs": crss, "filter-crs": crss, "datetime": datetimes,
    "filter": filters, "filter-lang": enum("cql2-text", "cql2-json", "cql-text"),
    "sortby": st.one_of(st.sampled_from(["name", "-floors", "+built,-name", ",", "+"]), junk),
    "f": enum("json", "html", "geojson", "xml"), "lang": enum("fi", "sv", "en", "da"),
    "q": junk, "fq": fqs, "sort": enum("name asc", "id desc", "relevance", "date", "x; DROP"),
    "id": enum("buildings", "streets", "nope"), "name": enum("package_show", "nope"),
    "facet.field": enum('["tags"]', "[", '["x"]'),
    "all_fields": enum("true", "false", "1"), "theme": junk, "kind": junk, "publisher": junk,
    "license": junk, "licence": junk, "format": enum("json", "csv", "parquet"), "keyword": junk,
    "layers": enum("buildings,streets", "nope", ",,,"), "address": junk,
    "next": enum("/datasets", "//evil.example", "https://evil.example/"), "status": enum("done"),
    "from": enum("24.94,60.17", "24.9,", "nan,60.1", "999,999", ""),
    "to": enum("24.95,60.16", "x,y", "24.94,60.17,1"),
    "sql": enum("SELECT 1", "SELECT * FROM buildings LIMIT 99999999999999999999", "DROP x"),
}  # fmt: skip
#: Queryable properties (`name=value` on items) by their schema type.
QUERYABLE: dict[str, st.SearchStrategy[str]] = {
    "integer": numbers, "number": numbers, "boolean": enum("true", "false"),
    "string": st.one_of(instants, junk),
}  # fmt: skip
#: A strategy for every path parameter name.
PATH: dict[str, st.SearchStrategy[str]] = {
    "collectionId": enum("buildings", "sensors", "streets"), "featureId": numbers,
    "name": enum("buildings", "streets"), "version": numbers, "ext": enum("parquet", "csv"),
    "filename": enum("buildings.parquet", "buildings.csv"), "action": enum("package_search"),
    "job_id": enum("00000000-0000-0000-0000-000000000000"), "kind": enum("noise", "traffic"),
    "tileMatrix": numbers, "tileRow": numbers, "tileCol": numbers,
}  # fmt: skip
SERVER_PATHS = re.compile(r"(/tmp/|/work/|/home/|/root/|site-packages|Traceback)")


def _openapi(app: Any) -> dict[str, Any]:
    return app.test_client().get("/openapi?f=json").get_json()


def queryable(path: str, name: str) -> bool:
    """A per-collection items path's `name=value` property parameter."""
    return (
        re.fullmatch(r"/collections/[^{}/]+/items", path) is not None and name not in ITEMS_PARAMS
    )


def strategy(path: str, param: dict[str, Any]) -> st.SearchStrategy[str] | None:
    if param["in"] == "path":
        return PATH.get(param["name"])
    if param["in"] != "query":
        return st.just("bytes=0-99")  # the Range header
    if queryable(path, param["name"]):
        return QUERYABLE.get(param["schema"].get("type", "string"))
    return QUERY.get(param["name"])


#: Every GET operation of the document, by operationId; `getFeatures_*` stands for the
#: per-collection items paths (one per published dataset, with its queryables), `ckan_*` for the
#: CKAN actions (one path per action).
OPERATIONS = (
    "ckan_*", "dcatCatalog", "dcatCatalogAs", "dcatDataset",
    "dcatDatasetAs", "describeCollection", "downloadLatest", "downloadVersion",
    "getBasemapArchive", "getBundledScenario", "getCollectionTile", "getCollectionTileset",
    "getCollectionTilesets", "getCollections", "getDatasetTile", "getDatasetTileset",
    "getDatasetTilesets", "getTileMatrixSet", "getTileMatrixSets", "getConformance", "getDataset",
    "getFeature", "getFeatures", "getFeatures_*", "getHealth", "getLandingPage", "getMetrics",
    "getOpenAPI",
    "getPublishedScenarioMap", "getQueryables", "getScenarioJob", "getScenarioMap",
    "getReadiness", "listScenarios", "nearestStreet", "streetStretch", "searchDatasets",
    "siteCatalog", "siteDataset",
    "siteDatasetPreview", "siteLanguage", "siteMap", "siteScenario", "siteScenarioPeriods",
    "siteScenarios", "siteSql",
    "sqlGet", "studio", "studioSignInForm",
)  # fmt: skip


def operations(doc: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """GET operations by the OPERATIONS key they are fuzzed under (POSTs take bodies or are
    CKAN's GET twins)."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path, item in doc["paths"].items():
        if "get" in item:
            op_id = item["get"]["operationId"]
            key = re.sub(r"^(getFeatures_|ckan_).*", r"\1*", op_id)
            out.setdefault(key, []).append((path, item["get"]))
    return out


@pytest.fixture(scope="module")
def doc(app) -> dict[str, Any]:
    return app.test_client().get("/openapi?f=json").get_json()


def test_every_operation_is_fuzzed(doc):
    assert sorted(operations(doc)) == sorted(OPERATIONS)


def test_every_parameter_is_fuzzed(doc):
    missing = [
        f"{method.upper()} {path}: {p['in']} {p['name']}"
        for path, item in doc["paths"].items()
        for method, op in item.items()
        for p in op.get("parameters", [])
        if strategy(path, p) is None
    ]
    assert missing == []
    assert len(operations(doc)["getFeatures_*"]) == 3  # the store's three collections


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: quote(values[m[1]], safe="") or "x", path)


#: A quarter of the profile's examples per operation (33 operations), at least 10.
PER_OPERATION = max(10, settings.default.max_examples // 4)


@pytest.mark.slow
@pytest.mark.fuzz
@pytest.mark.parametrize("op_id", OPERATIONS)
@settings(
    max_examples=PER_OPERATION,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_parameter_values_get_an_answer_not_a_crash(app, doc, op_id, data):
    path, op = data.draw(st.sampled_from(operations(doc)[op_id]))
    params = op.get("parameters", [])
    values = {p["name"]: data.draw(strategy(path, p)) for p in params if p["in"] == "path"}
    query = {
        p["name"]: data.draw(strategy(path, p))
        for p in params
        if p["in"] == "query" and data.draw(st.booleans())
    }
    resp = app.test_client().get(_fill(path, values), query_string=query)
    body = resp.get_data().decode("utf-8", "replace")  # Parquet and other binary answers too
    assert resp.status_code < 500, f"{path} {values} {query}: {body[:300]}"
    if resp.mimetype != "text/html":  # pages may show code samples; answers must not leak
        assert not SERVER_PATHS.search(body[:5000]), body[:500]
    if 400 <= resp.status_code < 500 and resp.mimetype == "application/problem+json":
        detail = resp.get_json()["detail"]
        assert detail and "invalid literal" not in detail and len(detail) < 1000, detail
