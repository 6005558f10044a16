"""Landing page, conformance, the OpenAPI document and the health check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.app import blueprint_modules
from api.ogc.core import OPENAPI

OGC = "http://www.opengis.net/spec/"


def test_landing_page_links_every_required_resource(client):
    doc = client.get("/").get_json()
    rels = {link["rel"]: link for link in doc["links"]}
    assert rels["service-desc"]["type"] == OPENAPI
    assert rels["service-desc"]["href"].endswith("/openapi?f=json")
    assert rels["conformance"]["href"].endswith("/conformance?f=json")
    assert rels["data"]["href"].endswith("/collections?f=json")
    assert {"self", "alternate", "service-doc"} <= rels.keys()


def test_landing_page_html_has_language_and_alternate_link(client):
    resp = client.get("/", headers={"Accept": "text/html"})
    body = resp.get_data(as_text=True)
    assert (resp.status_code, resp.mimetype) == (200, "text/html")
    assert re.search(r'<html[^>]* lang="[a-z]{2}"', body)
    assert re.search(r'<link rel="alternate" type="application/json" href="[^"]*/\?f=json"', body)


def test_conformance_collects_every_module_declaration(client):
    declared = [uri for module in blueprint_modules() for uri in module.CONFORMANCE]
    assert client.get("/conformance").get_json()["conformsTo"] == list(dict.fromkeys(declared))


@pytest.mark.parametrize(
    "uri",
    [
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
    ],
)
def test_conformance_declares_the_features_classes(client, uri):
    assert uri in client.get("/conformance").get_json()["conformsTo"]


#: Where each conformance class the features module claims is tested.
TESTED_BY = {
    "ogcapi-features-1/1.0/conf/core": "test_items.py",
    "ogcapi-features-1/1.0/conf/geojson": "test_items.py",
    "ogcapi-features-1/1.0/conf/html": "test_items.py",
    "ogcapi-features-1/1.0/conf/oas30": "test_core.py",
    "ogcapi-features-2/1.0/conf/crs": "test_crs.py",
    "ogcapi-features-3/1.0/conf/queryables": "test_items.py",
    "ogcapi-features-3/1.0/conf/queryables-query-parameters": "test_items.py",
    "ogcapi-features-3/1.0/conf/filter": "test_cql2.py",
    "ogcapi-features-3/1.0/conf/features-filter": "test_cql2.py",
    "cql2/1.0/conf/cql2-text": "test_cql2.py",
    "cql2/1.0/conf/cql2-json": "test_cql2.py",
    "cql2/1.0/conf/basic-cql2": "test_cql2.py",
    "cql2/1.0/conf/advanced-comparison-operators": "test_cql2.py",
    "cql2/1.0/conf/basic-spatial-functions": "test_cql2.py",
    "cql2/1.0/conf/basic-spatial-functions-plus": "test_cql2.py",
    "cql2/1.0/conf/spatial-functions": "test_cql2.py",
}


def test_every_claimed_features_class_has_a_test_module():
    from api.ogc import features

    here = Path(__file__).parent
    for uri in features.CONFORMANCE:
        module = TESTED_BY.get(uri.removeprefix(OGC))
        assert module is not None and (here / module).is_file(), uri


def test_openapi_is_served_as_openapi_json(client):
    resp = client.get("/openapi")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == OPENAPI
    doc = resp.get_json(force=True)
    assert doc["openapi"] == "3.0.3"
    assert doc["paths"]["/collections/{collectionId}/items"]["get"]["operationId"] == "getFeatures"


def test_openapi_html_page_lists_the_paths(client):
    body = client.get("/openapi?f=html").get_data(as_text=True)
    assert "<code>/collections/{collectionId}/items</code>" in body


@pytest.mark.parametrize(
    ("lang", "chrome"),
    [
        ("fi", ["<caption>Parametrit</caption>", ">Etusivu</a>", ">Tämä sivu JSON-muodossa</a>"]),
        ("sv", ["<caption>Parametrar</caption>", ">Startsida</a>", "<td>fråga</td>"]),
        ("en", ["<caption>Parameters</caption>", ">Home</a>", ">This page as JSON</a>"]),
    ],
)
def test_openapi_html_page_chrome_is_in_the_readers_language(client, lang, chrome):
    resp = client.get(f"/openapi?f=html&lang={lang}")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in body and all(text in body for text in chrome)
    # the API's own texts stay English and say so
    assert '<span lang="en">Civic open data API</span>' in body
    assert re.search(r'<td lang="en">[^<]+</td>', body)


def test_openapi_html_page_follows_the_language_cookie_and_other_pages_stay_english(client):
    fresh = client.application.test_client()
    fresh.set_cookie("civic_lang", "sv")
    assert '<html lang="sv">' in fresh.get("/openapi?f=html").get_data(as_text=True)
    conformance = fresh.get("/conformance?f=html").get_data(as_text=True)
    assert '<html lang="en">' in conformance and ">Home</a>" in conformance


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([A-Za-z_]+)>", r"{\1}", rule)


def _described(paths: dict, rule: str, method: str) -> bool:
    """The rule is in the document as a template, or as concrete paths it matches (the CKAN
    actions are described one path per action)."""
    if method in paths.get(_openapi_path(rule), {}):
        return True
    pattern = re.sub(r"<(?:[a-z]+:)?[A-Za-z_]+>", "[^/{}]+", re.escape(rule))
    concrete = [p for p in paths if re.fullmatch(pattern, p)]
    return bool(concrete) and all(method in paths[p] for p in concrete)


def test_every_flask_rule_is_described_in_openapi(app, client):
    """Meta-test over every blueprint (other modules' routes included)."""
    paths = client.get("/openapi").get_json(force=True)["paths"]
    missing = [
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        if not _described(paths, rule.rule, method.lower())
    ]
    assert missing == []


def test_every_openapi_path_parameter_is_declared(client):
    paths = client.get("/openapi").get_json(force=True)["paths"]
    for path, item in paths.items():
        for op in item.values():
            declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
            assert set(re.findall(r"{(\w+)}", path)) <= declared, path


def test_unknown_parameter_on_landing_page_is_refused(client):
    resp = client.get("/?foo=1")
    assert resp.status_code == 400
    assert "'foo'" in resp.get_json()["detail"]
