"""The HTTP idioms every blueprint shares (`api/http.py`): negotiation, conditional GET, CSP."""

from __future__ import annotations

import pytest
from flask import Flask, Response

from api import http

FORMATS = {"json": "application/geo+json", "html": "text/html"}


@pytest.fixture
def client():
    app = Flask(__name__)
    http.install(app, rate=0, burst=1)

    @app.get("/thing")
    def thing() -> Response:
        return Response(http.negotiate(FORMATS), mimetype="text/plain")

    @app.get("/rdf")
    def rdf() -> Response:
        formats = {"rdf": "application/rdf+xml", "ttl": "text/turtle"}
        return Response(http.negotiate(formats, param=None, strict=True), mimetype="text/plain")

    @app.get("/cached")
    def cached() -> Response:
        tag = http.etag_for("content-v1")
        if (hit := http.not_modified(tag, max_age=60)) is not None:
            return hit
        return http.cacheable(Response("x" * 2000, mimetype="text/html"), tag, max_age=60)

    return app.test_client()


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("", None, "application/geo+json"),  # no preference: the first format
        ("", "*/*", "application/geo+json"),
        ("", "text/html,application/xhtml+xml,*/*;q=0.8", "text/html"),  # a browser
        ("", "application/json", "application/geo+json"),  # json means our json entry
        ("", "application/json, text/html", "application/geo+json"),  # ties: the earlier offer
        ("", "image/png", "application/geo+json"),  # nothing we have: the default
        ("?f=html", "application/json", "text/html"),  # f wins over Accept
    ],
)
def test_negotiation_follows_f_then_accept(client, query, accept, expected):
    headers = {"Accept": accept} if accept else {}
    assert client.get(f"/thing{query}", headers=headers).text == expected


def test_an_unknown_f_is_a_400_naming_the_choices(client):
    resp = client.get("/thing?f=xml")
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert "json, html" in resp.json["detail"]


def test_strict_negotiation_answers_406_when_nothing_fits(client):
    assert client.get("/rdf", headers={"Accept": "text/turtle"}).text == "text/turtle"
    resp = client.get("/rdf", headers={"Accept": "image/png"})
    assert resp.status_code == 406
    assert "application/rdf+xml" in resp.json["detail"]


def test_a_held_etag_gets_304_also_in_its_gzip_variant(client):
    first = client.get("/cached", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    assert first.headers["ETag"].endswith('-gz"')
    again = client.get("/cached", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "public, max-age=60"
    plain = client.get("/cached")
    held = {"If-None-Match": plain.headers["ETag"]}
    assert client.get("/cached", headers=held).status_code == 304


def test_csp_allows_only_our_origin_and_the_tile_host():
    policy = http.csp("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    assert "script-src 'self';" in policy
    assert "img-src 'self' data: https://*.tile.example.org;" in policy
    assert "unsafe-inline" not in policy
    assert "script-src 'self' 'unsafe-inline'" in http.csp("", inline=True)
