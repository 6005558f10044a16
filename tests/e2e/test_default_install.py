"""The install a user gets, tested as they use it: `make run` in a fresh checkout with the
default configuration, then every URL the site and the APIs advertise, followed and checked
(status, media type, page language, and each download opened in its own reader with the row
count its collection reports). A failure names the URL, its answer and the page that linked it."""

from __future__ import annotations

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
#: Bundled datasets plus the five published results of each of the four bundled scenarios
#: (links, zones, totals, accessibility, and the morning's periods).
COLLECTIONS = 7 + 4 * 5
#: Per-link failures (downloads that do not open or miscount are their own test below).
LINK_KINDS = ("status", "media", "language", "size", "range", "fetch", "openapi")


def test_default_install_serves_its_store_from_the_relative_default_path(install):
    health = requests.get(f"{install.base}/healthz", timeout=30)
    assert health.status_code == 200
    assert health.json()["collections"] == COLLECTIONS
    assert (install.root / "data" / "catalog.db").is_file()
    assert (
        f"serving {install.root / 'data'} on {install.base}"
        in (install.root / "logs" / "serve.log").read_text()
    )


def test_site_pages_hold_in_every_language(crawled):
    failures = crawled.of(sources=("site",), kinds=LINK_KINDS)
    assert crawled.by_source["site"] > 100
    assert failures == [], crawled.report(failures)


def test_language_switch_links_show_the_asked_language(crawled):
    failures = crawled.of(sources=("language",), kinds=LINK_KINDS)
    assert crawled.by_source["language"] > 0
    assert failures == [], crawled.report(failures)


def test_ogc_links_hold(crawled):
    failures = crawled.of(sources=("ogc",), kinds=LINK_KINDS)
    assert crawled.by_source["ogc"] > COLLECTIONS
    assert failures == [], crawled.report(failures)


def test_ckan_resource_urls_hold(crawled):
    failures = crawled.of(sources=("ckan",), kinds=LINK_KINDS)
    assert crawled.by_source["ckan"] >= COLLECTIONS * 4
    assert failures == [], crawled.report(failures)


def test_dcat_download_and_access_urls_hold(crawled):
    failures = crawled.of(sources=("dcat",), kinds=LINK_KINDS)
    assert crawled.by_source["dcat"] >= COLLECTIONS * 4
    assert failures == [], crawled.report(failures)


def test_catalog_api_links_hold(crawled):
    failures = crawled.of(sources=("api",), kinds=LINK_KINDS)
    assert crawled.by_source["api"] > COLLECTIONS
    assert failures == [], crawled.report(failures)


def test_every_openapi_operation_answers_as_documented(crawled):
    failures = crawled.of(sources=("openapi",))
    assert crawled.by_source["openapi"] > COLLECTIONS
    assert failures == [], crawled.report(failures)


def test_downloads_open_in_their_readers_with_the_reported_row_count(crawled):
    failures = crawled.of(kinds=("format", "rows"))
    assert crawled.downloads_checked >= COLLECTIONS * 4
    assert failures == [], crawled.report(failures)


def test_external_links_are_listed_not_fetched(crawled, install):
    assert "https://opendatacommons.org/licenses/odbl/1-0/" in crawled.external
    assert not any(url.startswith(install.base) for url in crawled.external)


def test_crawl_is_bounded(crawled):
    roads_pages = [u for u in crawled.bounded if "/collections/roads/items" in u]
    assert roads_pages, "the 2,504 roads must have items pages beyond the bound"
    assert crawled.requests < 6000
