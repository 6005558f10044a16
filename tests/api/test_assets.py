"""Static assets (`api/assets.py`): pages link fingerprinted URLs that are gzip-compressed and
cacheable for a year; the plain URLs (folium map pages use them) still work, briefly cached;
ETags revalidate to 304. Checked through the test client and on a live `civic serve`."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
import requests

from api.app import STATIC_DIR
from api.assets import IMMUTABLE, SHORT_MAX_AGE, AssetIndex

LEAFLET = STATIC_DIR / "vendor" / "leaflet-1.9.4" / "leaflet.js"
GZIP = {"Accept-Encoding": "gzip, deflate"}


def linked_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


@pytest.fixture(scope="module")
def page_assets(app) -> list[str]:
    """The static URLs the dataset page (map preview included) links."""
    html = app.test_client().get("/datasets/buildings", headers={"Accept": "text/html"})
    assert html.status_code == 200
    return linked_assets(html.get_data(as_text=True))


def test_pages_link_fingerprinted_assets(page_assets):
    leaflet = next(u for u in page_assets if "leaflet" in u and u.endswith(".js"))
    assert re.fullmatch(r"/static/vendor/leaflet-1\.9\.4/leaflet\.[0-9a-f]{12}\.js", leaflet)
    assert all(re.search(r"\.[0-9a-f]{12}\.(js|css)$", u) for u in page_assets), page_assets
    assert {"site.css", "leaflet.css", "map.js", "site.js"} <= {
        re.sub(r"\.[0-9a-f]{12}", "", u.rsplit("/", 1)[1]) for u in page_assets
    }


def test_fingerprinted_leaflet_is_gzipped_and_immutable(client, page_assets):
    url = next(u for u in page_assets if u.endswith(".js") and "leaflet" in u)
    resp = client.get(url, headers=GZIP)
    assert resp.status_code == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Cache-Control"] == IMMUTABLE
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert resp.mimetype == "text/javascript"
    body = resp.get_data()
    assert gzip.decompress(body) == LEAFLET.read_bytes()
    assert len(body) < LEAFLET.stat().st_size / 3  # 148 KB -> about 43 KB


def test_etag_revalidates_to_304(client, page_assets):
    url = next(u for u in page_assets if u.endswith(".css") and "leaflet" in u)
    first = client.get(url, headers=GZIP)
    tag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{12}-gz"', tag)
    again = client.get(url, headers={**GZIP, "If-None-Match": tag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == tag


def test_client_without_gzip_gets_identity_bytes(client, page_assets):
    url = next(u for u in page_assets if u.endswith(".js") and "leaflet" in u)
    resp = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in resp.headers
    assert resp.get_data() == LEAFLET.read_bytes()
    assert re.fullmatch(r'"[0-9a-f]{12}"', resp.headers["ETag"])


def test_plain_url_still_works_with_a_short_lifetime(client):
    resp = client.get("/static/vendor/leaflet-1.9.4/leaflet.js", headers=GZIP)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == f"public, max-age={SHORT_MAX_AGE}"
    assert gzip.decompress(resp.get_data()) == LEAFLET.read_bytes()


def test_leaflet_css_images_resolve_next_to_the_fingerprinted_css(client, page_assets):
    """Leaflet's CSS says url(images/layers.png): relative to the fingerprinted CSS's folder."""
    css = next(u for u in page_assets if u.endswith(".css") and "leaflet" in u)
    image = css.rsplit("/", 1)[0] + "/images/layers.png"
    resp = client.get(image, headers=GZIP)
    assert resp.status_code == 200
    assert resp.mimetype == "image/png"
    assert "Content-Encoding" not in resp.headers  # PNG is compressed already


@pytest.mark.parametrize(
    "url",
    [
        "/static/nope.js",
        "/static/vendor/leaflet-1.9.4/leaflet.000000000000.js",
        "/static/../opendata/settings.py",
    ],
)
def test_unknown_asset_is_a_problem_404(client, url):
    resp = client.get(url)
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert "/work" not in resp.get_data(as_text=True)


def test_index_fingerprints_every_file_once(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.css").write_text("body { color: red }\n" * 40)
    (tmp_path / ".hidden").write_text("secret")
    index = AssetIndex.build(tmp_path)
    assert list(index.plain) == ["a/x.css"]
    asset = index.plain["a/x.css"]
    assert index.url("a/x.css") == f"/static/a/x.{asset.digest}.css"
    assert gzip.decompress(asset.gzipped) == asset.data
    with pytest.raises(LookupError):
        index.url("a/missing.css")


@pytest.mark.e2e
def test_live_server_serves_assets_compressed_and_cached(live_server):
    html = requests.get(f"{live_server}/datasets/buildings", timeout=10).text
    url = next(u for u in linked_assets(html) if u.endswith(".js") and "leaflet" in u)
    resp = requests.get(live_server + url, timeout=10)  # requests asks for gzip itself
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Cache-Control"] == IMMUTABLE
    assert resp.content == LEAFLET.read_bytes()  # decoded by requests
    again = requests.get(
        live_server + url, headers={"If-None-Match": resp.headers["ETag"]}, timeout=10
    )
    assert again.status_code == 304
    folium = requests.get(f"{live_server}/static/vendor/leaflet-1.9.4/leaflet.css", timeout=10)
    assert folium.status_code == 200
    assert folium.headers["Cache-Control"] == f"public, max-age={SHORT_MAX_AGE}"


def test_assets_are_readable_from_every_origin(client, page_assets):
    """Static files are open data's like every read: a foreign page may fetch the CSS."""
    url = next(u for u in page_assets if u.endswith(".css"))
    resp = client.get(url, headers={**GZIP, "Origin": "https://app.example"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Cache-Control"] == IMMUTABLE
