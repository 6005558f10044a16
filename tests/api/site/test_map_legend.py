"""Maps a citizen understands: the default view, grouped layers, human popup labels, legends
with source and licence, colour-blind-safe before/after colours and a width key in the page's
number format. Through Flask's test client over the shared site store."""

from __future__ import annotations

import re

import pytest

from api.site.formats import Formatter
from api.site.legend import is_internal, short_label, width_key
from tests.api.site.site_data import SCENARIO

HTML = {"Accept": "text/html"}


def test_map_opens_on_the_public_services(client):
    page = client.get("/map?f=json").get_json()
    assert page["selected"] == ["services"]
    assert page["share_href"] == "/map?layers=services"


def test_an_empty_layer_choice_stays_empty(client):
    assert client.get("/map?f=json&layers=").get_json()["selected"] == []


def test_layer_list_is_grouped_into_datasets_and_scenario_results(client):
    text = client.get("/map?lang=fi", headers=HTML).get_data(as_text=True)
    groups = re.findall(r'<details class="layer-group"( open)?>\s*<summary>([^<]+)</summary>', text)
    assert [g[1].split(" (")[0] for g in groups] == ["Aineistot", "Skenaarioiden tulokset"]
    assert groups[0][0] == " open"  # the datasets group is open, the map shows services
    # the map comes before the layer list, so on a phone it is on the first screen
    assert text.index('id="map"') < text.index('id="layer-form"')


def test_popup_labels_are_human_and_hide_internal_keys(client):
    layers = {x["name"]: x for x in client.get("/map?f=json&lang=fi").get_json()["layers"]}
    roads = layers["roads"]["labels"]
    assert "fid" not in roads and "osm_id" not in roads
    assert roads["name"] == {"label": "Kadun nimi", "unit": ""}
    # a label only written in English says so, for screen readers
    assert roads["maxspeed_kmh"] == {"label": "Speed limit in km/h", "unit": "km/h", "lang": "en"}
    assert "osm_key" not in layers["stops"]["labels"]


def test_legend_names_source_and_licence(client):
    text = client.get("/map?layers=roads&lang=sv", headers=HTML).get_data(as_text=True)
    row = re.search(r'<tr data-legend="roads">.*?</tr>', text, re.S).group(0)
    assert "© OpenStreetMap contributors" in row
    assert 'rel="license">ODbL-1.0</a>' in row
    assert "Källa och licens" in text


def test_scenario_legend_is_blue_and_orange_with_a_width_key_in_finnish(client):
    text = client.get(f"/scenarios/{SCENARIO}?lang=fi", headers=HTML).get_data(as_text=True)
    assert "swatch-less" in text and "swatch-more" in text
    assert "Vihreä" not in text and "Punainen" not in text  # no green against red
    page = client.get(f"/scenarios/{SCENARIO}?f=json&lang=fi").get_json()
    key = page["width_key"]
    assert len(key) == 3 and all(s["label"].endswith("\u00a0autoa/h") for s in key)
    assert [s["width"] for s in key] == sorted(s["width"] for s in key)
    assert any("\u00a0" in s["label"][:-7] for s in key)  # thousands grouped the Finnish way


def test_width_key_follows_the_map_scale():
    key = width_key(2400.0, "sv", "bilar/h")
    assert [s.label for s in key] == [
        "800\u00a0bilar/h",
        "1\u00a0600\u00a0bilar/h",
        "2\u00a0400\u00a0bilar/h",
    ]
    assert key[-1].width == 9.0  # the largest flow is drawn 9 px wide


@pytest.mark.parametrize(
    ("value", "lang", "digits", "text"),
    [
        (1234.0, "fi", 0, "1\u00a0234"),
        (54.345, "sv", 1, "54,3"),
        (0.09999999999999432, "en", 2, "0.10"),
    ],
)
def test_numbers_follow_the_page_language(value, lang, digits, text):
    assert Formatter(lang).number(value, digits) == text


def test_values_carry_their_unit():
    assert Formatter("fi").with_unit(54.31, "dB", 1) == "54,3\u00a0dB"
    assert Formatter("fi").with_unit(None, "dB") == "–"  # no unit after a missing value
    assert Formatter("en").signed(-12) == "−12"  # a true minus sign, as the scenario pages show
    assert Formatter("sv").signed(3) == "+3"


def test_internal_keys_and_labels():
    assert [is_internal(n) for n in ("fid", "road_fid", "_wa", "name")] == [True, True, True, False]
    assert short_label("bus_stop, tram_stop, platform or stop_position or other", "kind") == "kind"
    assert (
        short_label("One-way street as tagged: yes, no or -1", "oneway")
        == "One-way street as tagged"
    )


def test_scenario_page_opens_its_zones_on_the_map(client):
    text = client.get(f"/scenarios/{SCENARIO}?lang=sv", headers=HTML).get_data(as_text=True)
    href = re.search(
        r'<a class="button secondary" href="(/map\?layers=[^"]+)">Visa resultatets', text
    )
    layers = href.group(1).split("=", 1)[1].split(",")
    assert layers == [f"scenario_{SCENARIO}_zones", f"scenario_{SCENARIO}_links"]
    page = client.get(href.group(1) + "&f=json").get_json()
    assert page["selected"] == layers  # both are layers the map viewer draws
