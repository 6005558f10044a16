"""The website in a real browser (Debian's Chromium, headless) against a live `civic serve`:
clean loads, privacy, axe-core, phone layout, maps, downloads, languages and the keyboard."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.api.site.site_data import ADDRESS, BIG, HOSTILE, SCENARIO

pytestmark = pytest.mark.e2e

PAGES = {
    "home": "/",
    "catalog": "/datasets?q=katu",
    "dataset": "/datasets/roads",
    "map": "/map?layers=roads,stops",
    "scenarios": "/scenarios",
    "scenario": f"/scenarios/{SCENARIO}?address=Mannerheimintie+4",
    "not-found": "/datasets/no_such_thing",
    "sql": "/sql?sql=SELECT+kind,+count(*)+AS+n+FROM+stops+GROUP+BY+kind",
}
#: The same checks in the other interface languages (lang attributes, longer words).
IN_OTHER_LANGUAGES = {
    "dataset-fi": "/datasets/roads?lang=fi",
    "scenario-sv": f"/scenarios/{SCENARIO}?lang=sv&lat=60.1685&lon=24.9410",
    "map-da": "/map?layers=stops,green_areas&lang=da",
    "sql-fi": "/sql?lang=fi",
    "sql-sv-error": "/sql?lang=sv&sql=SELECT+*+FROM+pg_settings",
}
#: Interactive elements that must be at least 44 x 44 px. Links inside running text (paragraphs,
#: table cells, definitions, the map attribution) are exempt, as in WCAG 2.5.5; a checkbox's
#: target is its whole label.
TARGETS_JS = """() => {
  const sel = 'a[href], button, input, select, summary, label.check';
  const inline = 'p, td, dd, .leaflet-control-attribution, .leaflet-popup';
  return Array.from(document.querySelectorAll(sel)).filter(el => {
    if (el.closest(inline) || el.matches('input[type=checkbox], input[type=hidden]')) return false;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return false;
    return r.width < 44 || r.height < 44;
  }).map(el => `${el.tagName} ${(el.textContent || el.name || '').trim().slice(0, 30)} `
              + `${Math.round(el.getBoundingClientRect().width)}x`
              + `${Math.round(el.getBoundingClientRect().height)}`);
}"""


def load(page, base: str, url: str) -> None:
    """Open `url` and wait until every map on it has drawn its data layers."""
    page.goto(base + url, wait_until="networkidle")
    for element in page.query_selector_all("[data-map]"):
        if json.loads(page.text_content(f"#{element.get_attribute('id')}-config"))["layers"]:
            page.wait_for_selector(f"#{element.get_attribute('id')}[data-rendered]")


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll a JS expression (the pages' CSP forbids the eval `wait_for_function` uses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(50)


def rendered(page, selector: str = "#map") -> int:
    return int(page.get_attribute(selector, "data-rendered"))


def own_console_errors(page, url: str) -> list[str]:
    """Console errors, except the browser's note that a 404 page answered 404."""
    expected_404 = url.startswith("/datasets/no_such")
    return [m for m in page.recorder.console if not (expected_404 and "404" in m)]


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_errors_or_third_party_requests(page, live_site, name):
    load(page, live_site, PAGES[name])
    assert own_console_errors(page, PAGES[name]) == []
    assert page.recorder.errors == []
    assert page.recorder.foreign == []


@pytest.mark.parametrize("name", [*PAGES, *IN_OTHER_LANGUAGES])
def test_axe_core_finds_no_violations(page, live_site, name):
    from axe_playwright_python.sync_playwright import Axe

    load(page, live_site, {**PAGES, **IN_OTHER_LANGUAGES}[name])
    violations = Axe().run(page).response["violations"]
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []


@pytest.mark.parametrize("name", [*PAGES, *IN_OTHER_LANGUAGES])
def test_phone_layout_has_no_horizontal_scroll_and_big_tap_targets(phone, live_site, name):
    load(phone, live_site, {**PAGES, **IN_OTHER_LANGUAGES}[name])
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert phone.evaluate(TARGETS_JS) == []


def test_dataset_map_draws_every_feature(page, live_site):
    load(page, live_site, "/datasets/roads")
    assert rendered(page) == 2504
    assert page.locator("#map path.leaflet-interactive").count() == 2504


def test_data_layers_render_when_tiles_cannot_load(offline_tiles, live_site):
    load(offline_tiles, live_site, "/map?layers=stops")
    assert rendered(offline_tiles) == 224
    assert offline_tiles.locator("#map path.leaflet-interactive").count() == 224
    assert offline_tiles.recorder.tiles  # tiles were asked for, and all failed
    assert offline_tiles.recorder.foreign == []


def test_map_viewer_toggles_layers_and_shares_the_view(page, live_site):
    load(page, live_site, "/map?layers=stops")
    page.check("input[data-layer=green_areas]")
    wait_until(page, "document.querySelector('#map').dataset.rendered !== '224'")
    assert rendered(page) == 224 + 173
    share = page.get_attribute("#share-link", "href")
    assert share.startswith("/map?layers=green_areas,stops&lat=")
    assert page.url.endswith(share)
    other = page.context.new_page()
    load(other, live_site, share)
    assert other.is_checked("input[data-layer=green_areas]") and rendered(other) == 397


def test_popup_shows_human_labels_and_no_internal_keys(page, live_site):
    load(page, live_site, "/map?layers=stops&lat=60.1699&lon=24.9410&z=16&lang=fi")
    page.locator("#map path.leaflet-interactive").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    labels = popup.locator("th").all_inner_texts()
    layer = page.request.get(f"{live_site}/map?f=json&lang=fi").json()["layers"]
    known = next(x["labels"] for x in layer if x["name"] == "stops")
    assert labels and set(labels) <= {v["label"] for v in known.values()}
    assert "osm_key" not in labels and "fid" not in labels


def test_roads_popup_formats_numbers_in_the_page_language(page, live_site):
    lat, lon = _mid_mannerheimintie(page, live_site)  # roads are drawn from vector tiles
    load(page, live_site, f"/map?layers=roads&lat={lat:.6f}&lon={lon:.6f}&z=18&lang=fi")
    wait_until(page, "Number(document.querySelector('#map').dataset.rendered) > 0")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    heads, cells = popup.locator("th").all_inner_texts(), popup.locator("td").all_inner_texts()
    rows = dict(zip(heads, cells, strict=True))
    length = next(v for k, v in rows.items() if k.startswith("Length"))
    assert re.fullmatch(r"[\d\u00a0]+(,\d{1,2})?\u00a0m", length), length


def test_download_link_returns_the_file(page, live_site, tmp_path: Path):
    load(page, live_site, "/datasets/stops")
    with page.expect_download() as info:
        page.click("a[href='/datasets/stops/latest.geojson']")
    target = tmp_path / "stops.geojson"
    info.value.save_as(target)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 224


def test_language_switch_changes_and_remembers_the_language(page, live_site):
    load(page, live_site, "/datasets")
    page.click("nav.lang-switch a[lang=fi]")
    assert page.get_attribute("html", "lang") == "fi"
    assert page.text_content("h1") == "Aineistot"
    load(page, live_site, "/map")
    assert page.get_attribute("html", "lang") == "fi"


def test_language_switch_on_the_home_page(page, live_site):
    load(page, live_site, "/")
    page.click("nav.lang-switch a[lang=sv]")
    page.wait_for_url(live_site + "/?lang=sv")
    assert page.get_attribute("html", "lang") == "sv"
    assert page.text_content("h1") == "Öppna data om din stad"


def _tab_to(page, selector: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({json.dumps(selector)})"):
            return
    raise AssertionError(f"{selector} not reached with the Tab key")


def test_skip_link_moves_focus_to_the_content(page, live_site):
    load(page, live_site, "/datasets")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_search_and_facets_work_from_the_keyboard(page, live_site):
    load(page, live_site, "/datasets")
    _tab_to(page, "#q")
    page.keyboard.type("helsinki")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    found = page.locator("ol.cards > li").count()
    assert "q=helsinki" in page.url and found > 1
    _tab_to(page, "input[name=theme][value=TRAN]")
    page.keyboard.press("Space")
    _tab_to(page, "button[form=catalog-form].secondary")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "theme=TRAN" in page.url
    titles = page.locator("ol.cards h3").all_inner_texts()
    assert "Road network (central Helsinki)" in titles and len(titles) < found


def test_map_controls_work_from_the_keyboard(page, live_site):
    load(page, live_site, "/datasets/roads")
    zoom = page.evaluate("window.civicMaps[0].map.getZoom()")
    _tab_to(page, "#map .leaflet-control-zoom-in")
    page.keyboard.press("Enter")
    wait_until(page, f"window.civicMaps[0].map.getZoom() === {zoom + 1}")
    page.focus("#map")
    centre = page.evaluate("window.civicMaps[0].map.getCenter().lng")
    page.keyboard.press("ArrowRight")
    wait_until(page, f"window.civicMaps[0].map.getCenter().lng > {centre}")


@pytest.mark.parametrize("url", [f"/datasets/{HOSTILE}", "/datasets?q=names", "/"])
def test_hostile_titles_never_run_as_script(page, live_site, url):
    load(page, live_site, url)
    assert page.recorder.dialogs == []
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0


def test_hostile_values_in_popups_stay_text(page, live_site):
    load(page, live_site, f"/map?layers={HOSTILE}&lat=60.17&lon=24.942&z=16")
    for index in range(3):
        page.locator("#map path.leaflet-interactive").nth(index).dispatch_event("click")
    assert page.recorder.dialogs == []
    texts = " ".join(page.locator(".leaflet-popup-content").all_inner_texts())
    assert "<script>alert(1)</script>" in texts
    assert page.locator(".leaflet-popup-content script, .leaflet-popup-content img").count() == 0


def test_dataset_page_with_20000_features_transfers_under_a_megabyte(page, live_site):
    load(page, live_site, f"/datasets/{BIG}")
    total = page.evaluate(
        """() => performance.getEntriesByType('navigation').concat(
             performance.getEntriesByType('resource')).reduce((s, e) => s + e.transferSize, 0)"""
    )
    assert 0 < total < 1_000_000
    assert 0 < rendered(page) <= 3000
    assert f"of {20_000} features is drawn" in page.inner_text("#map-status")


def test_scenario_maps_show_before_and_after(page, live_site):
    load(page, live_site, f"/scenarios/{SCENARIO}")
    before, after = rendered(page, "#map-before"), rendered(page, "#map-after")
    assert before == after > 0
    closed = page.locator("#map-after path[stroke='#1b1b1b'][stroke-dasharray]")
    assert closed.count() > 0  # the scenario's own edit: the closed street, in black dashes
    colours = page.eval_on_selector_all(
        "#map-after path.leaflet-interactive",
        "els => [...new Set(els.map(e => e.getAttribute('stroke')))]",
    )
    assert {"#2166ac", "#b35806"} <= set(colours)  # blue: less traffic, orange: more
    assert not {"#b3261e", "#1b6e3a"} & set(colours)  # never red against green


def test_headline_better_and_worse_use_the_maps_blue_and_orange(page, live_site):
    load(page, live_site, f"/scenarios/{SCENARIO}")
    colours = page.eval_on_selector_all(
        ".better, .worse", "els => [...new Set(els.map(e => getComputedStyle(e).color))]"
    )
    assert colours and set(colours) <= {"rgb(33, 102, 172)", "rgb(179, 88, 6)"}


def test_clicking_the_scenario_map_lists_nearby_changes(page, live_site):
    load(page, live_site, f"/scenarios/{SCENARIO}")
    near = page.locator("#map-near")
    box = near.bounding_box()
    with page.expect_navigation():
        near.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    assert "lat=" in page.url and page.url.endswith("#nearby")
    assert page.locator("#nearby h3").count() == 2


def test_address_search_uses_the_keyboard_and_lists_changes(page, live_site):
    load(page, live_site, f"/scenarios/{SCENARIO}")
    page.focus("#address")
    page.keyboard.type(ADDRESS)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"Near {ADDRESS}" in page.inner_text("#nearby")
    assert page.locator("#map-near[data-rendered]").count() == 1


def test_search_facets_and_tables_work_without_javascript(browser, live_site):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_site}/datasets")
        page.fill("#q", "katuverkko")
        page.check("input[name=theme][value=TRAN]")
        with page.expect_navigation():
            page.click("button[form=catalog-form].secondary")
        assert page.locator("ol.cards h3").all_inner_texts() == ["Road network (central Helsinki)"]
        page.click("ol.cards h3 a")
        assert page.locator("section table").last.locator("tbody tr").count() == 20
        assert "needs JavaScript" in page.inner_text("#map-status")
    finally:
        context.close()


#: Whether any basemap canvas has a pixel that is not the plain background (#f4f1ec).
DRAWN_JS = """() => [...document.querySelectorAll('#map canvas.leaflet-tile')].some(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 0; i < d.length; i += 4 * 97) {
    if (d[i] !== 0xf4 || d[i + 1] !== 0xf1 || d[i + 2] !== 0xec) { return true; }
  }
  return false;
})"""


def test_basemap_is_drawn_from_our_own_vector_tiles(page, live_site):
    load(page, live_site, "/map?layers=stops&lat=60.1690&lon=24.9400&z=16")
    wait_until(page, "document.querySelectorAll('#map canvas.leaflet-tile').length > 0")
    wait_until(page, f"({DRAWN_JS})()")
    assert page.recorder.tiles  # HTTP Range reads of /tiles/basemap.pmtiles
    assert page.recorder.foreign == []


def _mid_mannerheimintie(page, base: str) -> tuple[float, float]:
    """A point halfway along a segment of Mannerheimintie (not at a crossing)."""
    url = f"{base}/collections/roads/items?name=Mannerheimintie&highway=primary&limit=1&f=json"
    line = page.request.get(url).json()["features"][0]["geometry"]["coordinates"]
    (lon1, lat1), (lon2, lat2) = line[len(line) // 2 - 1], line[len(line) // 2]
    return (lat1 + lat2) / 2, (lon1 + lon2) / 2


def test_map_draws_roads_and_buildings_from_vector_tiles_with_popups(page, live_site):
    asked: list[str] = []
    page.on("request", lambda r: asked.append(urlsplit(r.url).path))
    lat, lon = _mid_mannerheimintie(page, live_site)
    load(page, live_site, f"/map?layers=roads,buildings&lat={lat:.6f}&lon={lon:.6f}&z=18&lang=fi")
    wait_until(page, "Number(document.querySelector('#map').dataset.rendered) > 0")
    assert any(p.startswith("/collections/roads/tiles/WebMercatorQuad/16/") for p in asked)
    assert any(p.startswith("/collections/buildings/tiles/WebMercatorQuad/16/") for p in asked)
    assert not [p for p in asked if p.endswith("preview.geojson")]  # no big GeoJSON
    assert page.locator("#map path.leaflet-interactive").count() == 0
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Mannerheimintie" in popup.inner_text()
    labels = popup.locator("th").all_inner_texts()
    assert "Kadun nimi" in labels and "fid" not in labels and "osm_key" not in labels
    assert own_console_errors(page, "/map") == [] and page.recorder.foreign == []


def test_scenario_zones_switch_on_over_the_after_map_with_popups(page, live_site):
    load(page, live_site, f"/scenarios/{SCENARIO}?lang=fi")
    zones = page.request.get(f"{live_site}/scenarios/{SCENARIO}?f=json").json()["zones"]
    before = rendered(page, "#map-after")
    page.check("#zones-toggle")
    wait_until(page, f"document.querySelector('#map-after').dataset.rendered !== '{before}'")
    assert rendered(page, "#map-after") == before + len(zones["geojson"]["features"])
    page.locator("#map-after path.leaflet-interactive").last.dispatch_event("click")
    popup = page.locator("#map-after .leaflet-popup-content")
    popup.wait_for()
    assert {"Alue", "Ennen", "Jälkeen", "Muutos"} <= set(popup.locator("th").all_inner_texts())
    page.uncheck("#zones-toggle")
    wait_until(page, f"document.querySelector('#map-after').dataset.rendered === '{before}'")
