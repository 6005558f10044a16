"""The demand and time-of-day parts of a scenario page: trips by mode with the demand assumption
(HTML and its JSON twin under `demand.modes`), delay through the morning as a chart with a table,
and the time slider in a real browser."""

from __future__ import annotations

import pytest

from tests.api.site.site_data import SCENARIO

MODES = {"car", "pt", "bike", "walk"}


@pytest.fixture(scope="module")
def page_json(site_app):
    resp = site_app.test_client().get(f"/scenarios/{SCENARIO}?f=json")
    assert resp.status_code == 200
    return resp.get_json()


def test_json_twin_carries_trips_by_mode_before_and_after(page_json):
    modes = page_json["demand"]["modes"]
    assert set(modes) == MODES
    for values in modes.values():
        assert values["base"] > 0 and values["scen"] > 0
        assert values["change"] == pytest.approx(values["scen"] - values["base"], abs=1e-3)
    assert sum(v["base"] for v in modes.values()) == pytest.approx(
        sum(v["scen"] for v in modes.values()), rel=1e-6
    )  # a closure moves trips between modes, it does not remove them


def test_json_twin_says_which_demand_assumption_produced_the_numbers(page_json):
    demand = page_json["demand"]
    assert demand["model"] == "elastic"
    assert "elastic demand" in demand["assumption"] and "nested logit" in demand["assumption"]
    assert all(i["demand"] == "elastic" for i in page_json["indicators"])
    assert "convergence noise" in page_json["noise_note"]
    assert "freight" in page_json["limits"]


def test_json_twin_has_delay_through_the_morning(page_json):
    morning = page_json["morning"]
    assert len(morning["periods"]) == 16 and morning["periods"][0] == "06:00"
    assert len(morning["delay_base"]) == len(morning["delay_scen"]) == 16
    assert morning["layer_url"] == f"/scenarios/{SCENARIO}/periods.geojson"


def test_the_slider_layer_is_its_own_cacheable_resource_not_part_of_the_page(client):
    html = client.get(f"/scenarios/{SCENARIO}").get_data(as_text=True)
    assert f'data-source="/scenarios/{SCENARIO}/periods.geojson"' in html
    assert '"_qs"' not in html  # the per-period values are no longer inlined
    resp = client.get(f"/scenarios/{SCENARIO}/periods.geojson")
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    layer = resp.get_json()
    assert layer["type"] == "FeatureCollection" and len(layer["features"]) > 100
    props = layer["features"][0]["properties"]
    assert {len(props[k]) for k in ("_fb", "_fs", "_qb", "_qs")} == {16}
    assert all(v >= 0 and v == round(v) for k in ("_fb", "_fs", "_qb", "_qs") for v in props[k])
    links = [f["properties"]["_link"] for f in layer["features"]]
    assert links == sorted(set(links))  # one feature per link
    again = client.get(
        f"/scenarios/{SCENARIO}/periods.geojson", headers={"If-None-Match": resp.headers["ETag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize("name", ["no_such_scenario", "x" * 300, "Bad Name!"])
def test_the_slider_layer_of_an_unknown_scenario_is_a_clear_404(client, name):
    resp = client.get(f"/scenarios/{name}/periods.geojson")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert "scenario" in resp.get_json()["detail"]


def test_page_shows_a_mode_table_and_charts_with_table_alternatives(client):
    html = client.get(f"/scenarios/{SCENARIO}?lang=en").get_data(as_text=True)
    assert 'id="modes-table-caption"' in html and "Public transport" in html
    assert html.count('role="img"') == 2  # trips by mode, delay through the morning
    assert 'aria-labelledby="modes-caption"' in html and 'id="morning-table-caption"' in html
    assert 'type="range" id="period-slider"' in html and "/static/site/periods." in html
    assert "Demand assumption behind every number" in html
    assert "What the model does not do" in html


@pytest.mark.parametrize("lang, word", [("fi", "Joukkoliikenne"), ("sv", "Kollektivtrafik")])
def test_mode_table_speaks_the_page_language(client, lang, word):
    html = client.get(f"/scenarios/{SCENARIO}?lang={lang}").get_data(as_text=True)
    assert word in html


@pytest.mark.e2e
def test_time_slider_redraws_the_chosen_quarter_hour(page, live_site):
    page.goto(f"{live_site}/scenarios/{SCENARIO}", wait_until="networkidle")
    page.wait_for_selector("#map-periods[data-periods-loaded]")
    assert int(page.get_attribute("#map-periods", "data-periods-loaded")) > 100
    slider = page.locator("#period-slider")
    drawn = page.locator("#map-periods path.leaflet-interactive, #map-periods path")
    assert drawn.count() > 0
    slider.focus()
    page.keyboard.press("Home")
    assert page.get_attribute("#map-periods", "data-period") == "06:00"
    assert slider.get_attribute("aria-valuetext") == "06:00"
    first = page.locator("#map-periods path").first.get_attribute("stroke-width")
    page.keyboard.press("End")
    assert page.get_attribute("#map-periods", "data-period") == "09:45"
    assert page.inner_text("#period-label") == "09:45"
    assert "09:45" in page.inner_text("#map-periods-status")
    last = page.locator("#map-periods path").first.get_attribute("stroke-width")
    assert first is not None and last is not None
    page.select_option("#period-variant", "before")
    assert page.get_attribute("#map-periods", "data-period") == "09:45"
    assert page.recorder.errors == [] and page.recorder.foreign == []
