"""The planner studio in a real browser against a live `civic serve` with its real worker: sign
in, start from a bundled scenario, add and remove an edit, check it on the network, run it and
follow its progress, read the results, publish, withdraw; a draft stays invisible to an
anonymous visitor and to a second planner. Plus axe-core and screenshots in fi/sv/en."""

from __future__ import annotations

import re

import pytest

from api.auth import accounts
from opendata.settings import Settings
from tests.api.site.conftest import open_page
from tests.api.site.test_browser import wait_until

pytestmark = pytest.mark.e2e
PASSWORD = "studio test password"
TITLES = {"fi": "Mannerheimintie kiinni", "sv": "Mannerheimvägen stängd", "en": "Road closed"}
NAME = "studio_journey"


@pytest.fixture(scope="module")
def planners(site_settings: Settings) -> tuple[str, str]:
    for name in ("sara", "olle"):
        accounts.add_user(site_settings.catalog_url, name, "planner")
        accounts.set_password(site_settings.catalog_url, name, PASSWORD)
    return "sara", "olle"


def _signed_in(browser, base: str, request, name: str, *, width: int = 1280):
    context, page = open_page(browser, base, request, width=width)
    page.goto(base + "/studio/signin")
    page.fill("#signin-name", name)
    page.fill("#signin-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/studio")
    return context, page


def _fetch(page, method: str, path: str) -> int:
    """The status of a same-origin request from this page (its cookies and CSRF token)."""
    script = """async ([method, path]) => {
      const csrf = document.querySelector('meta[name="csrf-token"]');
      const headers = csrf ? {'X-CSRFToken': csrf.content} : {};
      return (await fetch(path, {method, headers, credentials: 'same-origin'})).status;
    }"""
    return page.evaluate(script, [method, path])


def test_planner_journey_draft_publish_withdraw(browser, live_site, planners, request):
    context, page = _signed_in(browser, live_site, request, planners[0])
    page.select_option("#studio-start-from", "close_mannerheimintie")
    page.click("#studio-start button[type=submit]")
    page.fill("#studio-name", NAME)
    assert page.locator("#studio-edits li").count() == 1
    page.select_option("#studio-edit-type", "change")
    page.fill("#studio-street", "bulevardi")  # lower case: the dry run suggests the real name
    page.click("#studio-add button[type=submit]")
    # the first dry run in a server process loads the city (seconds on a busy machine)
    wait_until(page, "document.querySelector('#studio-check').textContent !== ''")
    wait_until(page, "!document.querySelector('#studio-check').textContent.includes('…')", 90)
    assert "Bulevardi" in page.locator("#studio-edits li").nth(1).text_content()
    page.locator("#studio-edits li").nth(1).get_by_role("button").click()  # remove it again
    assert page.locator("#studio-edits li").count() == 1
    page.click("#studio-check-button")
    wait_until(page, "document.querySelector('#studio-check').textContent.includes('can run')", 60)
    assert "Mannerheimintie" in page.text_content("#studio-edits li")
    page.click("#studio-run-button")
    wait_until(page, "document.querySelector('#studio-app').dataset.job !== undefined")
    job = page.get_attribute("#studio-app", "data-job")
    wait_until(page, "!document.querySelector('#studio-results').hidden", timeout=240)
    assert page.locator("#studio-totals tr").count() > 5
    assert "noise" in page.text_content("#studio-noise")
    assert "elastic" in page.text_content("#studio-demand")
    wait_until(page, "document.querySelector('#studio-result-map').dataset.features > 0", 60)
    strokes = page.eval_on_selector_all(
        "#studio-result-map path", "paths => paths.map(p => p.getAttribute('stroke'))"
    )
    assert "rgb(179, 88, 6)" in strokes and "rgb(33, 102, 172)" in strokes  # orange and blue
    assert "veh/h" in page.text_content("#studio-flow-legend")
    # the before map beside it: the same links in grey, widths by the baseline flow, a width key
    before = page.eval_on_selector_all(
        "#studio-before-map path", "paths => paths.map(p => p.getAttribute('stroke'))"
    )
    assert len(before) > 100 and set(before) == {"rgb(118, 118, 118)"}
    assert page.locator("#studio-width-key li").count() == 3
    assert page.text_content("#studio-width-key").count("\xa0cars/h") == 3  # the flow unit
    assert any("/tiles/basemap.pmtiles" in url for url in page.recorder.tiles)  # our basemap
    assert _fetch(page, "GET", f"/datasets/scenario_{NAME}_links") == 200  # the owner's draft

    anon_context, anon = open_page(browser, live_site, request)
    anon.goto(live_site + "/")
    assert _fetch(anon, "GET", f"/api/scenarios/{job}") == 404
    assert _fetch(anon, "GET", f"/api/datasets/scenario_{NAME}_links") == 404
    assert _fetch(anon, "GET", f"/collections/scenario_{NAME}_links/items") == 404
    other_context, other = _signed_in(browser, live_site, request, planners[1])
    assert _fetch(other, "GET", f"/api/scenarios/{job}") == 404
    assert _fetch(other, "DELETE", f"/api/scenarios/{job}") == 404

    for lang, text in TITLES.items():
        page.fill(f"#studio-title-{lang}", text)
    page.click("#studio-publish button[type=submit]")
    wait_until(
        page, "document.querySelector('#studio-publish-status').textContent.includes('open data')"
    )
    assert _fetch(anon, "GET", f"/api/scenarios/{job}") == 200
    assert _fetch(anon, "GET", f"/api/datasets/scenario_{NAME}_links") == 200
    assert _fetch(other, "DELETE", f"/api/scenarios/{job}") == 403

    page.click("#studio-delete")
    wait_until(
        page, "document.querySelector('#studio-publish-status').textContent.includes('Withdrawn')"
    )
    assert _fetch(anon, "GET", f"/api/datasets/scenario_{NAME}_links") == 404

    page.fill("#studio-name", NAME + "_b")  # a second run of the same edits, to compare
    page.click("#studio-run-button")
    wait_until(page, f"document.querySelector('#studio-app').dataset.job !== '{job}'")
    wait_until(page, "!document.querySelector('#studio-results').hidden", timeout=240)
    page.goto(live_site + "/studio")
    page.click("#studio-compare button[type=submit]")
    wait_until(page, "!document.querySelector('#studio-compare-result').hidden")
    assert page.locator("#studio-compare-rows tr").count() > 5
    assert "noise" in page.text_content("#studio-compare-note")
    assert page.recorder.foreign == [] and page.recorder.errors == []
    for ctx in (context, anon_context, other_context):
        ctx.close()


@pytest.mark.parametrize(("lang", "width"), [("fi", 1280), ("sv", 360)])
def test_studio_has_no_axe_violations_and_fits_the_width(
    browser, live_site, planners, request, lang, width
):
    from axe_playwright_python.sync_playwright import Axe

    context, page = _signed_in(browser, live_site, request, planners[1], width=width)
    page.goto(f"{live_site}/studio?lang={lang}")
    page.select_option("#studio-start-from", "cordon_esplanadi")
    page.click("#studio-start button[type=submit]")
    wait_until(page, "!document.querySelector('#studio-builder').hidden")
    page.wait_for_timeout(500)  # the map's first tiles
    page.screenshot(path=f"/tmp/studio-{lang}-{width}.png", full_page=True)
    assert page.get_attribute("html", "lang") == lang
    assert [v["id"] for v in Axe().run(page).response["violations"]] == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()


def test_an_area_drawn_on_the_map_becomes_a_checked_edit(browser, live_site, planners, request):
    context, page = _signed_in(browser, live_site, request, planners[1])
    page.click("#studio-start button[type=submit]")  # an empty scenario
    page.fill("#studio-name", "drawn_cordon")
    page.click("#studio-draw")
    page.locator("#studio-map").scroll_into_view_if_needed()
    box = page.locator("#studio-map").bounding_box()  # in the viewport now
    for fx, fy in ((0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6)):
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        page.wait_for_timeout(350)  # one corner per click, as a person clicks
    assert page.get_attribute("#studio-map", "data-points") == "4"
    page.select_option("#studio-area-type", "cordon_charge")
    page.fill("#studio-area-value", "3")
    page.click("#studio-area button[type=submit]")
    wait_until(page, "document.querySelector('#studio-check').textContent !== ''")
    wait_until(page, "!document.querySelector('#studio-check').textContent.includes('…')", 90)
    edit = page.text_content("#studio-edits li")
    assert "Cordon charge 3 EUR" in edit and "road links" in edit and "— 0 road" not in edit
    assert page.locator("#studio-map path.leaflet-interactive").count() == 1  # drawn as made
    assert page.recorder.errors == []
    context.close()


def _street_points(settings: Settings, street: str) -> list[tuple[float, float]]:
    """(lat, lon) midpoints of a street's two longest published links (what a planner clicks)."""
    import geopandas as gpd

    from opendata.store.catalog import Catalog
    from opendata.store.publish import version_path

    roads = gpd.read_parquet(version_path(settings, Catalog(settings.catalog_url).version("roads")))
    links = roads[roads["name"] == street].to_crs(3067)
    longest = links.assign(length=links.length).nlargest(2, "length")
    middles = longest.geometry.interpolate(0.5, normalized=True).to_crs(4326)
    return [(p.y, p.x) for p in middles]


def _click_at(page, lat: float, lon: float) -> None:
    """Centre the map on (lat, lon) at street zoom and click there, as a planner would."""
    page.evaluate("([lat, lon]) => window.studioMap.map.setView([lat, lon], 17, {animate: false})",
                  [lat, lon])  # fmt: skip
    page.locator("#studio-map").scroll_into_view_if_needed()
    box = page.locator("#studio-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_pointing_at_a_street_closes_it_whole_or_slows_a_stretch(
    browser, live_site, site_settings, planners, request
):
    (a_lat, a_lon), (b_lat, b_lon) = _street_points(site_settings, "Mannerheimintie")
    context, page = _signed_in(browser, live_site, request, planners[1])
    page.click("#studio-start button[type=submit]")  # an empty scenario
    page.fill("#studio-name", "pointed_edits")
    _click_at(page, a_lat, a_lon)
    wait_until(page, "!document.querySelector('#studio-pick-actions').hidden", 30)
    assert page.text_content("#studio-pick-found").startswith("Mannerheimintie — ")
    page.click("#studio-pick-whole")
    wait_until(page, "document.querySelectorAll('#studio-edits li').length === 1")
    _click_at(page, a_lat, a_lon)  # a stretch: first end, then the other
    wait_until(page, "!document.querySelector('#studio-pick-actions').hidden", 30)
    page.click("#studio-pick-stretch")
    assert "other end" in page.text_content("#studio-pick-found")
    _click_at(page, b_lat, b_lon)
    wait_until(page, "!document.querySelector('#studio-stretch-row').hidden", 30)
    assert " road links, " in page.text_content("#studio-pick-found")
    page.select_option("#studio-stretch-type", "change")
    page.fill("#studio-stretch-speed", "30")
    page.click("#studio-stretch-add")
    wait_until(page, "document.querySelectorAll('#studio-edits li').length === 2")
    wait_until(page, "!document.querySelector('#studio-check').textContent.includes('…')", 90)
    edits = page.locator("#studio-edits li").all_text_contents()
    assert edits[0].startswith("Close: Mannerheimintie (whole street)") and "road links" in edits[0]
    assert edits[1].startswith("Speed limit 30 km/h: ") and "Mannerheimintie" in edits[1]
    assert "(stretch " in edits[1] and "road links" in edits[1], page.text_content("#studio-check")
    assert page.locator("#studio-map path.leaflet-interactive").count() >= 2  # drawn as made
    page.locator("#studio-edits li button").first.click()  # removed again
    assert page.locator("#studio-edits li").count() == 1
    assert page.recorder.errors == []
    context.close()


def test_a_development_placed_on_the_map_lands_in_a_zone(
    browser, live_site, site_settings, planners, request
):
    (lat, lon), _ = _street_points(site_settings, "Mannerheimintie")
    context, page = _signed_in(browser, live_site, request, planners[1])
    page.click("#studio-start button[type=submit]")  # an empty scenario
    page.fill("#studio-name", "placed_homes")
    page.fill("#studio-dev-lon", "10.5")  # typed, but outside the city
    page.fill("#studio-dev-lat", "59.9")
    page.fill("#studio-dev-dwellings", "200")
    page.click("#studio-dev button[type=submit]")
    assert "inside the city" in page.text_content("#studio-dev-status")
    page.click("#studio-dev-place")
    _click_at(page, lat, lon)
    assert abs(float(page.input_value("#studio-dev-lon")) - lon) < 1e-4  # one pixel at zoom 17
    page.fill("#studio-dev-jobs", "-5")
    page.click("#studio-dev button[type=submit]")
    assert "whole numbers from 0 to" in page.text_content("#studio-dev-status")
    page.fill("#studio-dev-jobs", "50")
    page.click("#studio-dev button[type=submit]")
    wait_until(page, "document.querySelectorAll('#studio-edits li').length === 1")
    wait_until(page, "!document.querySelector('#studio-check').textContent.includes('…')", 90)
    edit = page.text_content("#studio-edits li")
    assert edit.startswith("New homes / jobs: 200 / 50") and "lands in zone " in edit
    assert page.locator("#studio-map path.leaflet-interactive").count() == 1  # its marker
    assert page.recorder.errors == []
    context.close()


def test_zones_a_closure_cuts_off_are_drawn_and_cleared(browser, live_site, planners, request):
    context, page = _signed_in(browser, live_site, request, planners[1])
    page.goto(f"{live_site}/studio?lang=fi")
    page.click("#studio-start button[type=submit]")  # an empty scenario
    page.fill("#studio-name", "cut_off_zones")
    page.fill("#studio-street", "Mannerheimintie")  # closed whole: a zone loses every path
    page.click("#studio-add button[type=submit]")
    wait_until(page, "!document.querySelector('#studio-cutoff').hidden", 90)
    assert page.text_content("#studio-cutoff").startswith("Sulku katkaisee ")
    markers = page.locator("#studio-map path.studio-cutoff-zone")
    assert markers.count() >= 1
    markers.first.click(force=True)
    popup = page.locator("#studio-map .leaflet-popup-content")
    popup.wait_for()
    assert re.fullmatch(r"Alue \d+: \d+ aluepariä ilman yhteyttä", popup.text_content())
    page.locator("#studio-edits li button").first.click()  # removed, and a runnable edit instead
    page.select_option("#studio-edit-type", "change")
    page.fill("#studio-street", "Bulevardi")
    page.click("#studio-add button[type=submit]")
    wait_until(page, "document.querySelector('#studio-cutoff').hidden", 90)
    assert markers.count() == 0
    assert page.recorder.errors == []
    context.close()
